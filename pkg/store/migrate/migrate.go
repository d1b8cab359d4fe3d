package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// ErrRefused: some records cannot be carried over (Report.Refused says
// which and why).
var ErrRefused = errors.New("records cannot be carried over")

// Options say how to migrate.
type Options struct {
	// DryRun plans and reports, writing nothing.
	DryRun bool
	// SkipRefused carries over what can be when some records are refused;
	// otherwise a refusal writes nothing.
	SkipRefused bool
	// Credentials, if set, is where credentials missing from the source
	// store are found (the original kept them in Secrets whatever its
	// dao.type).
	Credentials func(ctx context.Context, id string) (*store.Credentials, error)
	// Out receives one line per change and refusal.
	Out io.Writer
}

// Change is one record written (or, in a dry run, to be written).
type Change struct {
	Kind, ID string
	// What says what changes.
	What string
	op   store.Op
}

// Refusal is a record that cannot be carried over.
type Refusal struct {
	Kind, ID, Reason string
}

// Report is what a run did.
type Report struct {
	Changes []Change
	Refused []Refusal
	// Unchanged counts the records already as this broker keeps them.
	Unchanged int
	// Written is false in a dry run and when refusals stopped the run.
	Written bool
}

// Run migrates src into dst (the same store: in place).
func Run(ctx context.Context, src, dst store.Backend, o Options) (*Report, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	inPlace := src == dst
	r := &Report{}
	specs, err := src.ListSpecs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading specs: %w", err)
	}
	instances, err := src.ListInstances(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading instances: %w", err)
	}
	bindings, err := src.ListBindings(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading bindings: %w", err)
	}
	jobs, err := src.ListJobs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading operations: %w", err)
	}
	refuse := func(kind, id, format string, args ...any) {
		r.Refused = append(r.Refused, Refusal{Kind: kind, ID: id, Reason: fmt.Sprintf(format, args...)})
	}

	// Operations still running belong to the broker that runs them.
	busy := map[string]string{}
	for _, j := range jobs {
		if !j.Finished() {
			busy[j.ResourceID()] = fmt.Sprintf("operation %s (%s) is %s: let it finish under the Automation Broker first", j.Token, j.Method, j.State)
		}
	}

	byID := map[string]*store.ServiceInstance{}
	for _, in := range instances {
		byID[in.ID] = in
	}
	boundIDs := map[string]bool{}
	for _, b := range bindings {
		boundIDs[b.ID] = true
	}

	// Instances.
	migrated := map[string]*store.ServiceInstance{}
	for _, in := range instances {
		if why, ok := busy[in.ID]; ok {
			refuse("instance", in.ID, "%s", why)
			continue
		}
		next, what, err := upgradeInstance(in, boundIDs, jobs)
		if err != nil {
			refuse("instance", in.ID, "%v", err)
			continue
		}
		migrated[in.ID] = next
		var cur *store.ServiceInstance
		if inPlace {
			cur = in
		} else if cur, err = dst.GetInstance(ctx, in.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if cur != nil && same(cur, next) {
			r.Unchanged++
			continue
		}
		if cur != nil && !inPlace && !same(cur, in) {
			refuse("instance", in.ID, "the target store already holds a different instance of this id")
			continue
		}
		next.Revision = 0
		if cur != nil {
			next.Revision = cur.Revision
		}
		if !inPlace && cur == nil {
			what = "copy; " + what
		}
		r.Changes = append(r.Changes, Change{Kind: "instance", ID: in.ID, What: what, op: store.PutInstance(next)})
	}

	// Bindings.
	for _, b := range bindings {
		if why, ok := busy[b.ID]; ok {
			refuse("binding", b.ID, "%s", why)
			continue
		}
		in := migrated[b.InstanceID]
		if in == nil {
			if byID[b.InstanceID] == nil {
				refuse("binding", b.ID, "its instance %s does not exist", b.InstanceID)
			} else {
				refuse("binding", b.ID, "its instance %s is refused", b.InstanceID)
			}
			continue
		}
		next, what := upgradeBinding(b, in)
		var cur *store.BindInstance
		var err error
		if inPlace {
			cur = b
		} else if cur, err = dst.GetBinding(ctx, b.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if cur != nil && same(cur, next) {
			r.Unchanged++
			continue
		}
		if cur != nil && !inPlace && !same(cur, b) {
			refuse("binding", b.ID, "the target store already holds a different binding of this id")
			continue
		}
		next.Revision = 0
		if cur != nil {
			next.Revision = cur.Revision
		}
		if !inPlace && cur == nil {
			what = "copy; " + what
		}
		r.Changes = append(r.Changes, Change{Kind: "binding", ID: b.ID, What: what, op: store.PutBinding(next)})
	}

	// Credentials: where the original kept them, copied when the target
	// lacks them.
	credIDs := []string{}
	for id := range migrated {
		credIDs = append(credIDs, id)
	}
	for _, b := range bindings {
		if migrated[b.InstanceID] != nil && busy[b.ID] == "" {
			credIDs = append(credIDs, b.ID)
		}
	}
	sort.Strings(credIDs)
	for _, id := range credIDs {
		if err := r.credentials(ctx, src, dst, inPlace, id, o); err != nil {
			return nil, err
		}
	}

	// Specs and finished operations: read as they are, copied when the
	// target is another store.
	if !inPlace {
		dstSpecs, err := dst.ListSpecs(ctx)
		if err != nil {
			return nil, err
		}
		have := map[string]*apb.Spec{}
		for _, sp := range dstSpecs {
			have[sp.ID] = sp
		}
		for _, sp := range specs {
			if cur := have[sp.ID]; cur != nil && same(cur, sp) {
				r.Unchanged++
				continue
			}
			r.Changes = append(r.Changes, Change{Kind: "spec", ID: sp.ID, What: "copy (" + sp.FQName + ")", op: store.PutSpec(sp)})
		}
		for _, j := range jobs {
			if !j.Finished() || (migrated[j.ResourceID()] == nil && !carried(bindings, migrated, j.ResourceID())) {
				continue
			}
			cur, err := dst.GetJob(ctx, j.ResourceID(), j.Token)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if cur != nil && same(cur, j) {
				r.Unchanged++
				continue
			}
			if cur != nil {
				refuse("operation", j.Token, "the target store already holds a different operation of this token")
				continue
			}
			next := *j
			next.Revision = 0
			r.Changes = append(r.Changes, Change{Kind: "operation", ID: j.Token,
				What: fmt.Sprintf("copy (%s of %s, %s)", j.Method, j.ResourceID(), j.State), op: store.PutJob(&next)})
		}
	}

	for _, rf := range r.Refused {
		fmt.Fprintf(o.Out, "refused %s %s: %s\n", rf.Kind, rf.ID, rf.Reason)
	}
	for _, c := range r.Changes {
		fmt.Fprintf(o.Out, "%s %s: %s\n", c.Kind, c.ID, c.What)
	}
	if o.DryRun || (len(r.Refused) > 0 && !o.SkipRefused) {
		if len(r.Refused) > 0 && !o.SkipRefused {
			return r, ErrRefused
		}
		return r, nil
	}
	for _, c := range r.Changes {
		if _, err := dst.Commit(ctx, c.op); err != nil {
			if errors.Is(err, store.ErrConflict) {
				err = fmt.Errorf("%w (a broker is running on the store? stop it and run again)", err)
			}
			return r, fmt.Errorf("writing %s %s: %w", c.Kind, c.ID, err)
		}
	}
	r.Written = true
	if len(r.Refused) > 0 {
		return r, ErrRefused
	}
	return r, nil
}

func carried(bindings []*store.BindInstance, migrated map[string]*store.ServiceInstance, id string) bool {
	for _, b := range bindings {
		if b.ID == id {
			return migrated[b.InstanceID] != nil
		}
	}
	return false
}

func (r *Report) credentials(ctx context.Context, src, dst store.Backend, inPlace bool, id string, o Options) error {
	have, err := dst.GetCredentials(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var from *store.Credentials
	where := "copy"
	if !inPlace {
		if from, err = src.GetCredentials(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if from == nil && have == nil && o.Credentials != nil {
		if from, err = o.Credentials(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		where = "copy from the original's Secret"
	}
	if from == nil {
		if have != nil {
			r.Unchanged++
		}
		return nil
	}
	if have != nil && reflect.DeepEqual(have.Credentials, from.Credentials) {
		r.Unchanged++
		return nil
	}
	if have != nil {
		r.Refused = append(r.Refused, Refusal{Kind: "credentials", ID: id, Reason: "the target store already holds different credentials of this id"})
		return nil
	}
	r.Changes = append(r.Changes, Change{Kind: "credentials", ID: id, What: where, op: store.PutCredentials(id, from.Credentials)})
	return nil
}

// same compares two records as stored (revisions aside).
func same(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// injected are the parameters the original added to the user's.
func injected(k string) bool { return strings.HasPrefix(k, "_apb_") }

// upgradeInstance fills in what this broker keeps of an instance and the
// original did not.
func upgradeInstance(in *store.ServiceInstance, bound map[string]bool, jobs []*store.Job) (*store.ServiceInstance, string, error) {
	next := *in
	next.Revision = 0
	var what []string
	if in.Spec == nil || in.Spec.FQName == "" {
		return nil, "", errors.New("it holds no bundle spec (its bundle is gone): the broker could not run its deprovision")
	}
	if next.ServiceID == "" {
		next.ServiceID = apb.ServiceID(in.Spec.FQName)
		if in.Spec.ID != "" && in.Spec.ID != next.ServiceID {
			next.ServiceID = in.Spec.ID
		}
		what = append(what, "service_id "+next.ServiceID)
	}
	if next.PlanID == "" {
		name, _ := in.Parameters["_apb_plan_id"].(string)
		if name == "" {
			return nil, "", errors.New("its parameters name no plan (_apb_plan_id)")
		}
		for _, p := range in.Spec.Plans {
			if p.Name == name {
				next.PlanID = p.ID
			}
		}
		if next.PlanID == "" {
			return nil, "", fmt.Errorf("its plan %q is not in its bundle spec", name)
		}
		what = append(what, "plan_id "+next.PlanID+" ("+name+")")
	}
	if next.UserParameters == nil {
		next.UserParameters = map[string]any{}
		for k, v := range in.Parameters {
			if !injected(k) {
				next.UserParameters[k] = v
			}
		}
		what = append(what, "user parameters")
	}
	if next.Status == "" {
		next.Status = store.StatusReady
		if provisionFailed(in.ID, jobs) {
			next.Status = store.StatusFailed
		}
		what = append(what, "status "+next.Status)
	}
	if next.Context == nil {
		next.Context = map[string]any{}
	}
	if next.BindingIDs == nil {
		next.BindingIDs = map[string]bool{}
	}
	ids := maps.Clone(next.BindingIDs)
	var dropped []string
	for id, live := range ids {
		if !live || !bound[id] {
			delete(ids, id)
			dropped = append(dropped, id)
		}
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		next.BindingIDs = ids
		what = append(what, "binding entries without a binding dropped ("+strings.Join(dropped, ", ")+")")
	}
	if len(what) == 0 {
		what = append(what, "as is")
	}
	return &next, strings.Join(what, "; "), nil
}

// provisionFailed: the instance's provision failed and none succeeded.
func provisionFailed(id string, jobs []*store.Job) bool {
	failed := false
	for _, j := range jobs {
		if j.ResourceID() != id || j.ForBinding() || j.Method != "provision" {
			continue
		}
		if j.State == store.JobSucceeded {
			return false
		}
		failed = failed || j.State == store.JobFailed
	}
	return failed
}

func upgradeBinding(b *store.BindInstance, in *store.ServiceInstance) (*store.BindInstance, string) {
	next := *b
	next.Revision = 0
	var what []string
	if next.ServiceID == "" {
		next.ServiceID = in.ServiceID
		what = append(what, "service_id")
	}
	if next.PlanID == "" {
		next.PlanID = in.PlanID
		what = append(what, "plan_id")
	}
	if next.UserParameters == nil {
		next.UserParameters = map[string]any{}
		for k, v := range b.Parameters {
			if !injected(k) {
				next.UserParameters[k] = v
			}
		}
		what = append(what, "user parameters")
	}
	if next.Status == "" {
		next.Status = store.StatusReady
		what = append(what, "status ready")
	}
	if len(what) == 0 {
		return &next, "as is"
	}
	return &next, strings.Join(what, "; ")
}
