package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/user"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
)

// requestTimeout bounds one HTTP request to the broker.
const requestTimeout = 60 * time.Second

// waitFlags control how a command waits for an asynchronous operation.
type waitFlags struct {
	noWait  bool
	timeout time.Duration
	every   time.Duration
}

func (w *waitFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.noWait, "no-wait", false, "return once the broker accepted the request; do not poll the operation")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 30*time.Minute, "give up waiting after this long (exit 8; the operation goes on)")
	cmd.Flags().DurationVar(&w.every, "poll-interval", time.Second, "how often to poll last_operation (the broker's Retry-After, up to 5s, wins when longer)")
}

func (c *cli) client() (*osbclient.Client, error) { return c.s.client(requestTimeout) }

func (c *cli) records() records { return records{path: stateDir(c.getenv) + "/instances.json"} }

// catalog fetches the catalog and finds a service by name or id.
func (c *cli) findService(ctx context.Context, cl *osbclient.Client, name string) (*osbapi.Service, error) {
	cat, err := cl.Catalog(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	var names []string
	for i := range cat.Services {
		s := &cat.Services[i]
		if s.Name == name || s.ID == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return nil, withCode(exitNotFound, fmt.Errorf("no service %q in the catalog of %s (it has: %s)", name, c.s.brokerURL, strings.Join(names, ", ")))
}

// findPlan picks a plan by name or id; with none given, the only plan,
// else the one named "default".
func findPlan(svc *osbapi.Service, name string) (*osbapi.Plan, error) {
	var names []string
	for i := range svc.Plans {
		p := &svc.Plans[i]
		if name != "" && (p.Name == name || p.ID == name) {
			return p, nil
		}
		names = append(names, p.Name)
	}
	if name == "" {
		if len(svc.Plans) == 1 {
			return &svc.Plans[0], nil
		}
		for i := range svc.Plans {
			if svc.Plans[i].Name == "default" {
				return &svc.Plans[i], nil
			}
		}
		return nil, usageErrorf("service %s has plans %s: choose one with --plan", svc.Name, strings.Join(names, ", "))
	}
	return nil, withCode(exitNotFound, fmt.Errorf("service %s has no plan %q (it has: %s)", svc.Name, name, strings.Join(names, ", ")))
}

func planSchema(p *osbapi.Plan, which string) map[string]any {
	if p.Schemas == nil {
		return nil
	}
	var ip *osbapi.InputParameters
	switch which {
	case "create":
		if p.Schemas.ServiceInstance != nil {
			ip = p.Schemas.ServiceInstance.Create
		}
	case "update":
		if p.Schemas.ServiceInstance != nil {
			ip = p.Schemas.ServiceInstance.Update
		}
	case "bind":
		if p.Schemas.ServiceBinding != nil {
			ip = p.Schemas.ServiceBinding.Create
		}
	}
	if ip == nil {
		return nil
	}
	return ip.Parameters
}

// newID is a random UUID (v4), the form platforms use for ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// operationResult is what a command waited for, as printed with -o.
type operationResult struct {
	InstanceID   string         `json:"instance_id"`
	BindingID    string         `json:"binding_id,omitempty"`
	Service      string         `json:"service,omitempty"`
	Plan         string         `json:"plan,omitempty"`
	Operation    string         `json:"operation,omitempty"`
	State        string         `json:"state"`
	Description  string         `json:"description,omitempty"`
	DashboardURL string         `json:"dashboard_url,omitempty"`
	Credentials  map[string]any `json:"credentials,omitempty"`
}

// wait polls an operation until it ends, with the progress display.
// gone says what a 410 while polling means (a deprovision or unbind that
// finished). A failed operation is an exitFailed error naming its
// description.
func (c *cli) wait(ctx context.Context, w waitFlags, what string, poll func(ctx context.Context) (*osbapi.LastOperationResponse, error), goneOK bool) (*osbapi.LastOperationResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	p := newProgress(c.io.err, c.errTTY, what)
	every := w.every
	if every <= 0 {
		every = time.Second
	}
	for {
		lo, err := poll(ctx)
		if e, ok := osbapi.AsError(err); ok && e.Status == http.StatusGone && goneOK {
			p.stop("succeeded")
			return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded, Description: "gone"}, nil
		}
		if err != nil {
			p.stop("stopped waiting")
			return nil, c.waitError(ctx, err)
		}
		switch lo.State {
		case osbapi.StateSucceeded:
			p.stop("succeeded")
			return lo, nil
		case osbapi.StateFailed:
			p.stop("failed")
			return lo, failedErrorf("%s failed: %s", what, orDefault(lo.Description, "no description"))
		}
		p.update(lo.State, lo.Description)
		wait := every
		if ra := time.Duration(lo.RetryAfter) * time.Second; ra > wait {
			wait = min(ra, 5*time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			p.stop("stopped waiting")
			return nil, c.waitError(ctx, ctx.Err())
		}
	}
}

// settle finishes an accepted operation as --no-wait asks: a synchronous
// answer is final; an asynchronous one is left in progress, or waited for
// and its last state and description recorded in res. waited says whether
// the operation was followed to its end.
func (c *cli) settle(ctx context.Context, w waitFlags, res *operationResult, async bool, what string, goneOK bool,
	poll func(ctx context.Context) (*osbapi.LastOperationResponse, error)) (waited bool, err error) {
	switch {
	case !async:
		return false, nil
	case w.noWait:
		res.State = osbapi.StateInProgress
		return false, nil
	}
	lo, err := c.wait(ctx, w, what, poll, goneOK)
	if err != nil {
		return false, err
	}
	res.State, res.Description = lo.State, lo.Description
	return true, nil
}

// instancePoll asks for the last operation of an instance.
func instancePoll(cl *osbclient.Client, id, serviceID, planID, op string) func(context.Context) (*osbapi.LastOperationResponse, error) {
	return func(ctx context.Context) (*osbapi.LastOperationResponse, error) {
		return cl.LastOperation(ctx, id, &osbapi.LastOperationRequest{ServiceID: serviceID, PlanID: planID, Operation: op})
	}
}

// bindingPoll asks for the last operation of a binding.
func bindingPoll(cl *osbclient.Client, iid, bid, serviceID, planID, op string) func(context.Context) (*osbapi.LastOperationResponse, error) {
	return func(ctx context.Context) (*osbapi.LastOperationResponse, error) {
		return cl.BindingLastOperation(ctx, iid, bid, &osbapi.LastOperationRequest{ServiceID: serviceID, PlanID: planID, Operation: op})
	}
}

func (c *cli) waitError(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && ctx.Err() != nil:
		return withCode(exitTimeout, errors.New("timed out waiting; the operation goes on at the broker (apb instances shows it)"))
	case errors.Is(err, context.Canceled):
		return withCode(exitInterrupted, errors.New("interrupted; the operation goes on at the broker (apb instances shows it)"))
	}
	return err
}

// requestingUser is the OSB originating identity of the CLI's requests:
// the local user, on the kubernetes platform's terms, so the bundle gets
// it as _apb_last_requesting_user.
func requestingUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "apb"
}

func (c *cli) catalogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "catalog [SERVICE]",
		Aliases: []string{"list"},
		Short:   "List the broker's services, or show one with its plans and parameters",
		Args:    args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if len(a) == 1 {
				svc, err := c.findService(cmd.Context(), cl, a[0])
				if err != nil {
					return err
				}
				return c.printer().print(svc, func(w io.Writer) { serviceTable(w, svc) })
			}
			cat, err := cl.Catalog(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(cat.Services, func(i, j int) bool { return cat.Services[i].Name < cat.Services[j].Name })
			return c.printer().print(cat, func(w io.Writer) {
				row(w, "NAME", "PLANS", "BINDABLE", "DESCRIPTION")
				for _, s := range cat.Services {
					plans := make([]string, len(s.Plans))
					for i, p := range s.Plans {
						plans[i] = p.Name
					}
					row(w, s.Name, strings.Join(plans, ","), s.Bindable, s.Description)
				}
			})
		},
		ValidArgsFunction: c.completeServices,
	}
	return cmd
}

func serviceTable(w io.Writer, svc *osbapi.Service) {
	row(w, "SERVICE", svc.Name)
	row(w, "ID", svc.ID)
	row(w, "DESCRIPTION", svc.Description)
	row(w, "BINDABLE", svc.Bindable)
	row(w, "TAGS", strings.Join(svc.Tags, ","))
	for _, p := range svc.Plans {
		row(w, "")
		row(w, "PLAN", p.Name)
		row(w, "ID", p.ID)
		row(w, "DESCRIPTION", p.Description)
		for _, which := range []string{"create", "update", "bind"} {
			pr := newProps(planSchema(&p, which))
			if len(pr.props) == 0 {
				continue
			}
			row(w, strings.ToUpper(which)+" PARAMETERS")
			names := make([]string, 0, len(pr.props))
			for n := range pr.props {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				prop := pr.props[n]
				req := ""
				for _, r := range pr.required {
					if r == n {
						req = "required"
					}
				}
				def := ""
				if d, ok := prop["default"]; ok {
					def = "default " + show(d)
				}
				row(w, "  "+n, show(prop["type"]), req, def, show(prop["description"]))
			}
		}
	}
}

func (c *cli) bootstrapCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bootstrap",
		Short: "Ask the broker to re-read its registries (POST /v2/bootstrap)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			status, body, _, err := cl.Do(cmd.Context(), "POST", "/v2/bootstrap", nil, nil)
			if err != nil {
				return err
			}
			if status/100 != 2 {
				return brokerError(status, body)
			}
			var out map[string]any
			if err := jsonUnmarshal(body, &out); err != nil {
				return withCode(exitBrokerError, fmt.Errorf("bootstrap answer: %w", err))
			}
			return c.printer().print(out, func(w io.Writer) { keyValues(w, out) })
		},
	}
}

func (c *cli) provisionCmd() *cobra.Command {
	var pf paramFlags
	var wf waitFlags
	var plan, id, namespace string
	cmd := &cobra.Command{
		Use:   "provision SERVICE",
		Short: "Create a service instance and wait until it is ready",
		Long: `Create a service instance of SERVICE (a catalog name or id) and wait until it is ready,
showing the operation's progress. Parameters come from -f and -p, typed by the plan's
schema; required ones that are missing are asked for on a terminal. The instance is
recorded locally (apb instances lists it).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			svc, err := c.findService(ctx, cl, a[0])
			if err != nil {
				return err
			}
			pl, err := findPlan(svc, plan)
			if err != nil {
				return err
			}
			pr := newProps(planSchema(pl, "create"))
			params, err := pf.values(pr)
			if err != nil {
				return err
			}
			if err := newPrompter(c.io.in, c.io.err).complete(pr, params); err != nil {
				return err
			}
			if err := pr.validate(params); err != nil {
				return err
			}
			if id == "" {
				id = newID()
			}
			ns := orDefault(namespace, orDefault(c.s.namespace, "default"))
			req := &osbapi.ProvisionRequest{
				ServiceID: svc.ID, PlanID: pl.ID, Parameters: params,
				OrganizationGUID: ns, SpaceGUID: ns,
				Context: map[string]any{"platform": "kubernetes", "namespace": ns},
			}
			resp, err := cl.Provision(ctx, id, req, true)
			if err != nil {
				return err
			}
			rec := instanceRecord{Broker: c.s.brokerURL, ID: id, Service: svc.Name, ServiceID: svc.ID, Plan: pl.Name, PlanID: pl.ID,
				Namespace: ns, Created: c.now().UTC()}
			if err := c.records().put(rec); err != nil {
				c.warn(err.Error())
			}
			res := operationResult{InstanceID: id, Service: svc.Name, Plan: pl.Name, Operation: resp.Operation,
				State: osbapi.StateSucceeded, DashboardURL: resp.DashboardURL}
			waited, err := c.settle(ctx, wf, &res, resp.Async, "provision "+id, false, instancePoll(cl, id, svc.ID, pl.ID, resp.Operation))
			if err != nil {
				return err
			}
			if waited {
				if in, err := cl.GetInstance(ctx, id, &osbapi.FetchRequest{ServiceID: svc.ID, PlanID: pl.ID}); err == nil && in.DashboardURL != "" {
					res.DashboardURL = in.DashboardURL
				}
			}
			return c.printer().print(res, func(w io.Writer) { resultTable(w, res) })
		},
		ValidArgsFunction: c.completeServices,
	}
	cmd.Flags().StringVarP(&plan, "plan", "P", "", "plan name or id (default: the only plan, or \"default\")")
	cmd.Flags().StringVar(&id, "id", "", "instance id (default: a new UUID)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "context.namespace the instance belongs to (default: the config file's, else \"default\")")
	pf.register(cmd.Flags())
	wf.register(cmd)
	return cmd
}

func resultTable(w io.Writer, r operationResult) {
	row(w, "INSTANCE", r.InstanceID)
	if r.BindingID != "" {
		row(w, "BINDING", r.BindingID)
	}
	if r.Service != "" {
		row(w, "SERVICE", r.Service)
	}
	if r.Plan != "" {
		row(w, "PLAN", r.Plan)
	}
	row(w, "STATE", r.State)
	if r.Description != "" {
		row(w, "DESCRIPTION", r.Description)
	}
	if r.Operation != "" {
		row(w, "OPERATION", r.Operation)
	}
	if r.DashboardURL != "" {
		row(w, "DASHBOARD", r.DashboardURL)
	}
	if len(r.Credentials) > 0 {
		row(w, "CREDENTIALS")
		keys := make([]string, 0, len(r.Credentials))
		for k := range r.Credentials {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row(w, "  "+k, show(r.Credentials[k]))
		}
	}
}

// instanceIDs finds an instance's service and plan ids: from the local
// record, else from the broker (GET instance), else from --service and
// --plan.
func (c *cli) instanceIDs(ctx context.Context, cl *osbclient.Client, id, service, plan string) (*instanceRecord, error) {
	rec, err := c.records().get(c.s.brokerURL, id)
	if err != nil {
		c.warn(err.Error())
	}
	if rec != nil {
		if service != "" || plan != "" {
			r := *rec
			rec = &r
		}
	} else {
		rec = &instanceRecord{Broker: c.s.brokerURL, ID: id}
		if in, err := cl.GetInstance(ctx, id, nil); err == nil {
			rec.ServiceID, rec.PlanID = in.ServiceID, in.PlanID
		} else if service == "" {
			if e, ok := osbapi.AsError(err); ok && (e.Status == 404 || e.Status == 410) {
				return nil, withCode(exitNotFound, fmt.Errorf("instance %s: %w", id, err))
			}
			return nil, fmt.Errorf("instance %s is not in the local records and the broker did not say what it is (%v): give --service and --plan", id, err)
		}
	}
	if service != "" || plan != "" {
		cat, err := cl.Catalog(ctx)
		if err != nil {
			return nil, err
		}
		for i := range cat.Services {
			s := &cat.Services[i]
			if service != "" && s.Name != service && s.ID != service {
				continue
			}
			if service == "" && s.ID != rec.ServiceID {
				continue
			}
			rec.Service, rec.ServiceID = s.Name, s.ID
			if plan != "" {
				p, err := findPlan(s, plan)
				if err != nil {
					return nil, err
				}
				rec.Plan, rec.PlanID = p.Name, p.ID
			}
		}
		if rec.ServiceID == "" {
			return nil, withCode(exitNotFound, fmt.Errorf("no service %q in the catalog", service))
		}
	}
	return rec, nil
}

// planOf finds the catalog plan of an instance (for its schemas).
func (c *cli) planOf(ctx context.Context, cl *osbclient.Client, serviceID, planID string) (*osbapi.Service, *osbapi.Plan) {
	cat, err := cl.Catalog(ctx)
	if err != nil {
		return nil, nil
	}
	for i := range cat.Services {
		s := &cat.Services[i]
		if s.ID != serviceID {
			continue
		}
		for j := range s.Plans {
			if s.Plans[j].ID == planID {
				return s, &s.Plans[j]
			}
		}
		return s, nil
	}
	return nil, nil
}

func (c *cli) updateCmd() *cobra.Command {
	var pf paramFlags
	var wf waitFlags
	var plan string
	cmd := &cobra.Command{
		Use:   "update INSTANCE",
		Short: "Change an instance's plan or parameters and wait until done",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			id := a[0]
			rec, err := c.instanceIDs(ctx, cl, id, "", plan)
			if err != nil {
				return err
			}
			if len(pf.pairs) == 0 && pf.file == "" && plan == "" {
				return usageErrorf("nothing to update: give --plan, -p or -f")
			}
			_, pl := c.planOf(ctx, cl, rec.ServiceID, rec.PlanID)
			var pr props
			if pl != nil {
				pr = newProps(planSchema(pl, "update"))
			}
			params, err := pf.values(pr)
			if err != nil {
				return err
			}
			req := &osbapi.UpdateRequest{ServiceID: rec.ServiceID, Parameters: params}
			if plan != "" {
				req.PlanID = rec.PlanID
			}
			resp, err := cl.Update(ctx, id, req, true)
			if err != nil {
				return err
			}
			res := operationResult{InstanceID: id, Service: rec.Service, Plan: rec.Plan, Operation: resp.Operation, State: osbapi.StateSucceeded, DashboardURL: resp.DashboardURL}
			if _, err := c.settle(ctx, wf, &res, resp.Async, "update "+id, false, instancePoll(cl, id, rec.ServiceID, rec.PlanID, resp.Operation)); err != nil {
				return err
			}
			if plan != "" {
				if r, _ := c.records().get(c.s.brokerURL, id); r != nil {
					r.Plan, r.PlanID = rec.Plan, rec.PlanID
					if err := c.records().put(*r); err != nil {
						c.warn(err.Error())
					}
				}
			}
			return c.printer().print(res, func(w io.Writer) { resultTable(w, res) })
		},
		ValidArgsFunction: c.completeInstances,
	}
	cmd.Flags().StringVarP(&plan, "plan", "P", "", "the plan to change to")
	pf.register(cmd.Flags())
	wf.register(cmd)
	return cmd
}

func (c *cli) deprovisionCmd() *cobra.Command {
	var wf waitFlags
	var service, plan string
	var ignoreNotFound bool
	cmd := &cobra.Command{
		Use:   "deprovision INSTANCE",
		Short: "Delete a service instance (and its bindings) and wait until it is gone",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			id := a[0]
			rec, err := c.instanceIDs(ctx, cl, id, service, plan)
			if err != nil {
				if ignoreNotFound && exitCode(ctx, err) == exitNotFound {
					return nil
				}
				return err
			}
			resp, err := cl.Deprovision(ctx, id, &osbapi.DeprovisionRequest{ServiceID: rec.ServiceID, PlanID: rec.PlanID}, true)
			if e, ok := osbapi.AsError(err); ok && e.Status == http.StatusGone {
				_ = c.records().remove(c.s.brokerURL, id)
				if ignoreNotFound {
					return nil
				}
				return withCode(exitNotFound, fmt.Errorf("instance %s does not exist at the broker (410 Gone)", id))
			}
			if err != nil {
				return err
			}
			res := operationResult{InstanceID: id, Service: rec.Service, Plan: rec.Plan, Operation: resp.Operation, State: osbapi.StateSucceeded}
			if _, err := c.settle(ctx, wf, &res, resp.Async, "deprovision "+id, true, instancePoll(cl, id, rec.ServiceID, rec.PlanID, resp.Operation)); err != nil {
				return err
			}
			if res.State == osbapi.StateSucceeded {
				if err := c.records().remove(c.s.brokerURL, id); err != nil {
					c.warn(err.Error())
				}
			}
			return c.printer().print(res, func(w io.Writer) { resultTable(w, res) })
		},
		ValidArgsFunction: c.completeInstances,
	}
	cmd.Flags().StringVar(&service, "service", "", "service name or id, for an instance apb has no record of and the broker cannot describe")
	cmd.Flags().StringVarP(&plan, "plan", "P", "", "plan name or id (with --service)")
	cmd.Flags().BoolVar(&ignoreNotFound, "ignore-not-found", false, "exit 0 when the instance does not exist")
	wf.register(cmd)
	return cmd
}

func (c *cli) bindCmd() *cobra.Command {
	var pf paramFlags
	var wf waitFlags
	var id string
	cmd := &cobra.Command{
		Use:   "bind INSTANCE",
		Short: "Create a binding and print its credentials",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			iid := a[0]
			rec, err := c.instanceIDs(ctx, cl, iid, "", "")
			if err != nil {
				return err
			}
			var pr props
			if _, pl := c.planOf(ctx, cl, rec.ServiceID, rec.PlanID); pl != nil {
				pr = newProps(planSchema(pl, "bind"))
			}
			params, err := pf.values(pr)
			if err != nil {
				return err
			}
			if err := newPrompter(c.io.in, c.io.err).complete(pr, params); err != nil {
				return err
			}
			if err := pr.validate(params); err != nil {
				return err
			}
			if id == "" {
				id = newID()
			}
			ns := orDefault(rec.Namespace, orDefault(c.s.namespace, "default"))
			req := &osbapi.BindRequest{ServiceID: rec.ServiceID, PlanID: rec.PlanID, Parameters: params,
				Context: map[string]any{"platform": "kubernetes", "namespace": ns}}
			resp, err := cl.Bind(ctx, iid, id, req, true)
			if err != nil {
				return err
			}
			if err := c.records().putBinding(c.s.brokerURL, iid, bindingRecord{ID: id, Created: c.now().UTC()}); err != nil {
				c.warn(err.Error())
			}
			res := operationResult{InstanceID: iid, BindingID: id, Service: rec.Service, Plan: rec.Plan, Operation: resp.Operation,
				State: osbapi.StateSucceeded, Credentials: resp.Credentials}
			waited, err := c.settle(ctx, wf, &res, resp.Async, "bind "+id, false, bindingPoll(cl, iid, id, rec.ServiceID, rec.PlanID, resp.Operation))
			if err != nil {
				return err
			}
			if waited {
				b, err := cl.GetBinding(ctx, iid, id, &osbapi.FetchRequest{ServiceID: rec.ServiceID, PlanID: rec.PlanID})
				if err != nil {
					return fmt.Errorf("reading the binding's credentials: %w", err)
				}
				res.Credentials = b.Credentials
			}
			return c.printer().print(res, func(w io.Writer) { resultTable(w, res) })
		},
		ValidArgsFunction: c.completeInstances,
	}
	cmd.Flags().StringVar(&id, "id", "", "binding id (default: a new UUID)")
	pf.register(cmd.Flags())
	wf.register(cmd)
	return cmd
}

func (c *cli) unbindCmd() *cobra.Command {
	var wf waitFlags
	var ignoreNotFound bool
	cmd := &cobra.Command{
		Use:   "unbind INSTANCE BINDING",
		Short: "Delete a binding and wait until it is gone",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			iid, bid := a[0], a[1]
			rec, err := c.instanceIDs(ctx, cl, iid, "", "")
			if err != nil {
				if ignoreNotFound && exitCode(ctx, err) == exitNotFound {
					return nil
				}
				return err
			}
			resp, err := cl.Unbind(ctx, iid, bid, &osbapi.UnbindRequest{ServiceID: rec.ServiceID, PlanID: rec.PlanID}, true)
			if e, ok := osbapi.AsError(err); ok && e.Status == http.StatusGone {
				_ = c.records().removeBinding(c.s.brokerURL, iid, bid)
				if ignoreNotFound {
					return nil
				}
				return withCode(exitNotFound, fmt.Errorf("binding %s of instance %s does not exist at the broker (410 Gone)", bid, iid))
			}
			if err != nil {
				return err
			}
			res := operationResult{InstanceID: iid, BindingID: bid, Operation: resp.Operation, State: osbapi.StateSucceeded}
			if _, err := c.settle(ctx, wf, &res, resp.Async, "unbind "+bid, true, bindingPoll(cl, iid, bid, rec.ServiceID, rec.PlanID, resp.Operation)); err != nil {
				return err
			}
			if res.State == osbapi.StateSucceeded {
				if err := c.records().removeBinding(c.s.brokerURL, iid, bid); err != nil {
					c.warn(err.Error())
				}
			}
			return c.printer().print(res, func(w io.Writer) { resultTable(w, res) })
		},
		ValidArgsFunction: c.completeBindings,
	}
	cmd.Flags().BoolVar(&ignoreNotFound, "ignore-not-found", false, "exit 0 when the binding does not exist")
	wf.register(cmd)
	return cmd
}

// instanceStatus is one row of `apb instances`.
type instanceStatus struct {
	instanceRecord
	State       string `json:"state"`
	Description string `json:"description,omitempty"`
}

func (c *cli) instancesCmd() *cobra.Command {
	var offline, allBrokers bool
	cmd := &cobra.Command{
		Use:   "instances",
		Short: "List the instances apb created at the broker, with their latest operation",
		Long: `List the instances (and their bindings) that apb provisioned at the broker. The OSB API
has no route that lists instances, so apb keeps a record of what it created
($XDG_STATE_HOME/apb/instances.json); each instance's latest operation is read from the
broker (last_operation), unless --offline.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			broker := c.s.brokerURL
			if allBrokers {
				broker = ""
			}
			recs, err := c.records().list(broker)
			if err != nil {
				return err
			}
			out := make([]instanceStatus, len(recs))
			for i, r := range recs {
				out[i] = instanceStatus{instanceRecord: r, State: "unknown"}
			}
			if !offline && len(recs) > 0 {
				c.refresh(ctx, out)
			}
			return c.printer().print(out, func(w io.Writer) {
				row(w, "INSTANCE", "SERVICE", "PLAN", "NAMESPACE", "BINDINGS", "STATE", "DESCRIPTION")
				for _, s := range out {
					bs := make([]string, len(s.Bindings))
					for i, b := range s.Bindings {
						bs[i] = b.ID
					}
					row(w, s.ID, s.Service, s.Plan, s.Namespace, orDefault(strings.Join(bs, ","), "-"), s.State, s.Description)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "do not ask the broker for each instance's latest operation")
	cmd.Flags().BoolVar(&allBrokers, "all-brokers", false, "list the records of every broker, not only --broker's")
	return cmd
}

// refresh reads each instance's latest operation, a few at a time.
func (c *cli) refresh(ctx context.Context, out []instanceStatus) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func(s *instanceStatus) {
			defer wg.Done()
			defer func() { <-sem }()
			st := *c.s
			st.brokerURL = s.Broker
			cl, err := st.client(10 * time.Second)
			if err != nil {
				return
			}
			lo, err := cl.LastOperation(ctx, s.ID, &osbapi.LastOperationRequest{ServiceID: s.ServiceID, PlanID: s.PlanID})
			switch e, ok := osbapi.AsError(err); {
			case err == nil:
				s.State, s.Description = lo.State, lo.Description
			case ok && (e.Status == http.StatusGone || e.Status == http.StatusNotFound):
				s.State, s.Description = "gone", "the broker no longer has it"
			case ok:
				s.State, s.Description = "unknown", e.Error()
			default:
				s.State, s.Description = "unknown", "broker unreachable"
			}
		}(&out[i])
	}
	wg.Wait()
}

// brokerError makes an OSB error from a raw non-2xx answer.
func brokerError(status int, body []byte) error {
	e := &osbapi.Error{Status: status}
	if jsonUnmarshal(body, e) != nil || e.Description == "" {
		e.Description = strings.TrimSpace(string(body))
	}
	e.Status = status
	return e
}
