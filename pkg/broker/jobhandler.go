package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/jobs"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// jobHandler is the Broker seen by pkg/jobs: what a job runs and what its
// outcome means; the engine alone writes the job record.
type jobHandler Broker

var _ jobs.Handler = (*jobHandler)(nil)

// Action builds the runtime action: image, extra vars as the Automation
// Broker passed them, the files mounted for the bundle.
func (h *jobHandler) Action(ctx context.Context, j *store.Job) (runtime.Action, error) {
	b := (*Broker)(h)
	in, err := b.st.GetInstance(ctx, j.InstanceID)
	if err != nil {
		return runtime.Action{}, fmt.Errorf("reading instance %s: %w", j.InstanceID, err)
	}
	sp := in.Spec
	if sp == nil {
		return runtime.Action{}, fmt.Errorf("instance %s has no bundle spec", in.ID)
	}
	planName := j.PlanID
	var secrets []string
	for i, p := range sp.Plans {
		if p.ID == j.PlanID {
			planName = p.Name
			secrets = secretParams(&sp.Plans[i])
		}
	}
	vars := maps.Clone(j.Parameters)
	if vars == nil {
		vars = map[string]any{}
	}
	// The credentials follow the instance: a binding's parameters never
	// choose them.
	mountParams := j.Parameters
	if j.BindingID != "" {
		mountParams = in.UserParameters
		// Bind parameters come on top of the instance's, as the original.
		base := maps.Clone(in.UserParameters)
		if base == nil {
			base = map[string]any{}
		}
		maps.Copy(base, vars)
		vars = base
		vars["_apb_service_binding_id"] = j.BindingID
	}
	vars["_apb_plan_id"] = planName
	vars["_apb_service_class_id"] = sp.ID
	vars["_apb_service_instance_id"] = in.ID
	vars["_apb_last_requesting_user"] = j.User
	vars["namespace"] = namespaceOf(in.Context)
	vars["cluster"] = b.o.Cluster
	if j.Method != runtime.ActionProvision {
		if c, err := b.st.GetCredentials(ctx, in.ID); err == nil {
			vars["_apb_provision_creds"] = c.Credentials
		} else if !errors.Is(err, store.ErrNotFound) {
			return runtime.Action{}, fmt.Errorf("reading provision credentials: %w", err)
		}
	}
	if j.Method == runtime.ActionUnbind {
		if c, err := b.st.GetCredentials(ctx, j.BindingID); err == nil {
			vars["_apb_bind_creds"] = c.Credentials
		} else if !errors.Is(err, store.ErrNotFound) {
			return runtime.Action{}, fmt.Errorf("reading bind credentials: %w", err)
		}
	}
	a := runtime.Action{
		Name: j.Method, OperationID: j.Token, Image: sp.Image, Runtime: sp.Runtime, FQName: sp.FQName,
		InstanceID: in.ID, BindingID: j.BindingID, Target: namespaceOf(in.Context),
		ExtraVars: vars, SecretVars: secrets, Mounts: b.mounts(sp, mountParams),
	}
	return a, nil
}

// failureDescription is what last_operation shows for a failed action:
// the bundle's own message when it gave one, never internal details.
func failureDescription(method string, err error) string {
	var ae *runtime.ActionError
	switch {
	case errors.As(err, &ae) && ae.Message != "":
		return ae.Message
	case errors.Is(err, runtime.ErrActionNotFound):
		return fmt.Sprintf("the bundle does not implement %s", method)
	}
	return fmt.Sprintf("Error occurred during %s: %v", method, err)
}

// Outcome says what a job's run means: its final state and description,
// and the instance, binding and credential changes it implies, which the
// engine commits with the job in one transaction.
func (h *jobHandler) Outcome(ctx context.Context, j *store.Job, res *runtime.Result, runErr error) (jobs.Outcome, error) {
	b := (*Broker)(h)
	if res == nil {
		res = &runtime.Result{}
	}
	// Automation Broker treated a bundle without bind/unbind playbooks as
	// a successful no-op (Bug 1583064); so do we.
	if errors.Is(runErr, runtime.ErrActionNotFound) && (j.Method == runtime.ActionBind || j.Method == runtime.ActionUnbind) {
		runErr = nil
	}
	out := jobs.Outcome{Err: runErr, Description: j.Method + " job completed"}
	if runErr != nil {
		out.Description = failureDescription(j.Method, runErr)
	}

	in, err := b.st.GetInstance(ctx, j.InstanceID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return out, err
	}
	switch j.Method {
	case runtime.ActionProvision, runtime.ActionUpdate, runtime.ActionDeprovision:
		if in == nil {
			break // deleted meanwhile: only the job is recorded
		}
		if in.Operation != j.Token {
			break // not ours any more
		}
		next := *in
		next.Operation = ""
		switch {
		case j.Method == runtime.ActionDeprovision && runErr == nil:
			out.Ops = append(out.Ops, store.DeleteInstance(in), store.DeleteCredentials(in.ID))
			for bid := range in.BindingIDs {
				out.Ops = append(out.Ops, store.DeleteCredentials(bid))
				if bi, err := b.st.GetBinding(ctx, bid); err == nil {
					out.Ops = append(out.Ops, store.DeleteBinding(bi))
				}
			}
			// The instance's records go with it: its other operations,
			// and its bindings' (nothing runs on a binding while the
			// instance is deprovisioned). This job's record stays, for
			// the retention: it is the tombstone that makes polls answer
			// 410 Gone. What does not fit in the transaction, Prune
			// removes.
			cleanup, err := b.goneOps(ctx, j, in, maxCleanupOps-len(out.Ops))
			if err != nil {
				return out, err
			}
			out.Ops = append(out.Ops, cleanup...)
			return out, nil
		case runErr != nil && j.Method == runtime.ActionUpdate:
			next.Status = store.StatusReady // nothing applied; instance as before
		case runErr != nil:
			next.Status = store.StatusFailed
		default:
			next.Status = store.StatusReady
			if j.Method == runtime.ActionUpdate {
				next.PlanID = j.PlanID
				next.UserParameters = j.Parameters
				next.Parameters = b.instanceParamsFor(&next, j.User)
			}
			if res.DashboardURL != "" {
				next.DashboardURL = res.DashboardURL
			}
			if res.Credentials != nil {
				out.Ops = append(out.Ops, store.PutCredentials(in.ID, res.Credentials))
			}
		}
		out.Ops = append(out.Ops, store.PutInstance(&next))
	case runtime.ActionBind, runtime.ActionUnbind:
		bi, err := b.st.GetBinding(ctx, j.BindingID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && bi.Operation != j.Token) {
			break
		}
		if err != nil {
			return out, err
		}
		next := *bi
		next.Operation = ""
		switch {
		case runErr != nil:
			next.Status = store.StatusFailed
			out.Ops = append(out.Ops, store.PutBinding(&next))
		case j.Method == runtime.ActionUnbind:
			out.Ops = append(out.Ops, store.DeleteBinding(bi), store.DeleteCredentials(bi.ID))
			// The binding's other operations go; this one stays as its
			// tombstone, for the retention.
			older, err := b.st.BindingJobs(ctx, bi.ID)
			if err != nil {
				return out, err
			}
			out.Ops = append(out.Ops, deleteJobs(othersFinished(older, j), maxCleanupOps-len(out.Ops))...)
			if in != nil {
				nextIn := *in
				nextIn.BindingIDs = maps.Clone(in.BindingIDs)
				delete(nextIn.BindingIDs, bi.ID)
				out.Ops = append(out.Ops, store.PutInstance(&nextIn))
			}
		default:
			next.Status = store.StatusReady
			creds := res.Credentials
			if creds == nil {
				// A bind playbook that stores nothing hands out the
				// provision credentials, as bindings without a playbook do.
				if c, err := b.st.GetCredentials(ctx, j.InstanceID); err == nil {
					creds = c.Credentials
				}
			}
			if creds == nil {
				creds = map[string]any{}
			}
			out.Ops = append(out.Ops, store.PutBinding(&next), store.PutCredentials(bi.ID, creds))
		}
	}
	return out, nil
}

// othersFinished are the finished jobs of jobs other than j (if any).
func othersFinished(jobs []*store.Job, j *store.Job) []*store.Job {
	var out []*store.Job
	for _, o := range jobs {
		if (j == nil || o.Token != j.Token) && o.Finished() {
			out = append(out, o)
		}
	}
	return out
}

// goneOps delete the job records of a deprovisioned instance (but j's)
// and of its bindings, at most limit of them.
func (b *Broker) goneOps(ctx context.Context, j *store.Job, in *store.ServiceInstance, limit int) ([]store.Op, error) {
	older, err := b.st.InstanceJobs(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	gone := othersFinished(older, j)
	for bid := range in.BindingIDs {
		if len(gone) >= limit {
			break
		}
		bjs, err := b.st.BindingJobs(ctx, bid)
		if err != nil {
			return nil, err
		}
		gone = append(gone, othersFinished(bjs, nil)...)
	}
	return deleteJobs(gone, limit), nil
}

func (b *Broker) instanceParamsFor(in *store.ServiceInstance, user string) map[string]any {
	p := maps.Clone(in.UserParameters)
	if p == nil {
		p = map[string]any{}
	}
	if sp := in.Spec; sp != nil {
		p["_apb_service_class_id"] = sp.ID
		for _, pl := range sp.Plans {
			if pl.ID == in.PlanID {
				p["_apb_plan_id"] = pl.Name
			}
		}
	}
	p["_apb_service_instance_id"] = in.ID
	p["_apb_last_requesting_user"] = user
	return p
}
