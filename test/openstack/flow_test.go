package openstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// actionLimit bounds one action from request to its final state.
const actionLimit = 6 * time.Minute

// flow drives one bundle of registries/ through a broker's OSB API in one
// namespace: each step sends its request, polls the operation to its end
// and returns the final last_operation, timed into the suite's table.
type flow struct {
	t        *testing.T
	ctx      context.Context
	c        *osbclient.Client
	p        Platform
	b        *Broker
	bundle   string // directory under registries/
	fq       string // catalog name in the registry "local"
	ns       string
	platform string
	mu       sync.Mutex
	plans    map[string]string // instance id -> plan name
}

func newFlow(t *testing.T, ctx context.Context, p Platform, b *Broker, bundle, ns string) *flow {
	return &flow{t: t, ctx: ctx, c: b.Client, p: p, b: b, bundle: bundle, fq: apb.FQName("local", bundle), ns: ns,
		platform: p.Name(), plans: map[string]string{}}
}

func (f *flow) octx() map[string]any {
	return map[string]any{"platform": "kubernetes", "namespace": f.ns}
}

func (f *flow) ids(instance string) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return apb.ServiceID(f.fq), apb.PlanID(f.fq, f.plans[instance])
}

// provision returns the operation's end; an error answer fails the test.
func (f *flow) provision(instance, plan string, params map[string]any) *osbapi.LastOperationResponse {
	f.t.Helper()
	lo, err := f.tryProvision(instance, plan, params)
	if err != nil {
		f.t.Fatalf("provision %s (%s): %v", instance, plan, err)
	}
	return lo
}

// tryProvision returns the broker's error answer instead of failing.
func (f *flow) tryProvision(instance, plan string, params map[string]any) (*osbapi.LastOperationResponse, error) {
	f.t.Helper()
	wait, err := f.startProvision(instance, plan, params)
	if err != nil {
		return nil, err
	}
	return wait(), nil
}

// startProvision asks for the provision and returns what waits for its
// end, so that a test can act on the cloud while the bundle runs.
func (f *flow) startProvision(instance, plan string, params map[string]any) (func() *osbapi.LastOperationResponse, error) {
	f.t.Helper()
	f.mu.Lock()
	f.plans[instance] = plan
	f.mu.Unlock()
	sid, pid := f.ids(instance)
	start := time.Now()
	r, err := f.c.Provision(f.ctx, instance, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "org",
		SpaceGUID: "space", Context: f.octx(), Parameters: params}, true)
	if err != nil {
		return nil, err
	}
	if !r.Async {
		f.t.Fatalf("provision %s answered synchronously", instance)
	}
	return func() *osbapi.LastOperationResponse {
		f.t.Helper()
		return f.timed("provision", start, func() (*osbapi.LastOperationResponse, error) {
			return f.c.LastOperation(f.ctx, instance, &osbapi.LastOperationRequest{Operation: r.Operation})
		})
	}, nil
}

func (f *flow) update(instance string, params map[string]any) *osbapi.LastOperationResponse {
	f.t.Helper()
	sid, pid := f.ids(instance)
	start := time.Now()
	r, err := f.c.Update(f.ctx, instance, &osbapi.UpdateRequest{ServiceID: sid, PlanID: pid, Context: f.octx(), Parameters: params}, true)
	if err != nil {
		f.t.Fatalf("update %s: %v", instance, err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
	}
	return f.timed("update", start, func() (*osbapi.LastOperationResponse, error) {
		return f.c.LastOperation(f.ctx, instance, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
}

// bind also returns the binding's credentials.
func (f *flow) bind(instance, binding string, params map[string]any) (*osbapi.LastOperationResponse, map[string]any) {
	f.t.Helper()
	sid, pid := f.ids(instance)
	start := time.Now()
	r, err := f.c.Bind(f.ctx, instance, binding, &osbapi.BindRequest{ServiceID: sid, PlanID: pid, Context: f.octx(), Parameters: params}, true)
	if err != nil {
		f.t.Fatalf("bind %s: %v", binding, err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}, r.Credentials
	}
	lo := f.timed("bind", start, func() (*osbapi.LastOperationResponse, error) {
		return f.c.BindingLastOperation(f.ctx, instance, binding, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
	if lo.State != osbapi.StateSucceeded {
		return lo, nil
	}
	gb, err := f.c.GetBinding(f.ctx, instance, binding, nil)
	if err != nil {
		f.t.Fatalf("GET binding %s: %v", binding, err)
	}
	return lo, gb.Credentials
}

func (f *flow) unbind(instance, binding string) *osbapi.LastOperationResponse {
	f.t.Helper()
	sid, pid := f.ids(instance)
	start := time.Now()
	r, err := f.c.Unbind(f.ctx, instance, binding, &osbapi.UnbindRequest{ServiceID: sid, PlanID: pid}, true)
	if err != nil {
		f.t.Fatalf("unbind %s: %v", binding, err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
	}
	return f.timed("unbind", start, func() (*osbapi.LastOperationResponse, error) {
		return f.c.BindingLastOperation(f.ctx, instance, binding, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
}

func (f *flow) deprovision(instance string) *osbapi.LastOperationResponse {
	f.t.Helper()
	sid, pid := f.ids(instance)
	start := time.Now()
	r, err := f.c.Deprovision(f.ctx, instance, &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true)
	if err != nil {
		f.t.Fatalf("deprovision %s: %v", instance, err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
	}
	return f.timed("deprovision", start, func() (*osbapi.LastOperationResponse, error) {
		return f.c.LastOperation(f.ctx, instance, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
}

// runDirect runs one action of the bundle on the platform's runtime with
// the extra vars and mounts the broker would give it: a provision the
// broker never recorded (a broker that died before storing its outcome),
// so that the next provision through the broker is a repeated one.
func (f *flow) runDirect(action, instance, plan string, params map[string]any) (*runtime.Result, error) {
	f.t.Helper()
	vars := map[string]any{
		"_apb_plan_id": plan, "_apb_service_class_id": apb.ServiceID(f.fq), "_apb_service_instance_id": instance,
		"_apb_last_requesting_user": "openstack-e2e", "namespace": f.ns, "cluster": "kubernetes",
	}
	for k, v := range params {
		vars[k] = v
	}
	// The credentials as the broker chooses them: the instance's own
	// Secret, else the broker's with the cloud the instance picks.
	mount := f.b.CloudsMount
	cloud, _ := params[broker.ParamCloud].(string)
	if s, _ := params[broker.ParamCredentialsSecret].(string); s != "" {
		mount = broker.TenantCloudsMount(s, cloud)
	} else if cloud != "" {
		mount = broker.CloudsMount(mount.Source, cloud)
	}
	start := time.Now()
	res, err := f.p.Run(f.t, f.ctx, runtime.Action{Name: action, OperationID: "direct-" + newID(f.t), Image: f.b.bundleImage(f.bundle),
		Runtime: 2, FQName: f.fq, InstanceID: instance, Target: f.ns, ExtraVars: vars, Mounts: []runtime.Mount{mount}})
	record(f.platform, f.bundle, action+" (direct)", time.Since(start))
	return res, err
}

func (f *flow) timed(action string, start time.Time, get func() (*osbapi.LastOperationResponse, error)) *osbapi.LastOperationResponse {
	f.t.Helper()
	deadline := start.Add(actionLimit)
	for {
		lo, err := get()
		if e, ok := osbapi.AsError(err); ok && e.Status == 410 && (action == "unbind" || action == "deprovision") {
			lo, err = &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}, nil // 410 after a delete: done
		}
		if err != nil {
			f.t.Fatalf("%s: last_operation: %v", action, err)
		}
		if lo.State != osbapi.StateInProgress {
			record(f.platform, f.bundle, action, time.Since(start))
			return lo
		}
		if time.Now().After(deadline) || f.ctx.Err() != nil {
			f.t.Fatalf("%s: still in progress after %s: %s\nbroker log:\n%s", action, actionLimit, lo.Description, tail(f.b.Logs.String(), 80))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// succeeded fails the test unless an operation ended succeeded.
func (f *flow) succeeded(what string, lo *osbapi.LastOperationResponse) {
	f.t.Helper()
	if lo.State != osbapi.StateSucceeded {
		f.t.Fatalf("%s ended %s: %s\nbroker log:\n%s", what, lo.State, lo.Description, tail(f.b.Logs.String(), 80))
	}
}

// contextFor is a context that ends after d.
func contextFor(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// newID is a random UUID, as platforms send.
func newID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// The suite's table of action times, per platform, bundle and action.
var times struct {
	sync.Mutex
	rows map[[3]string][]time.Duration
}

func record(platform, bundle, action string, d time.Duration) {
	times.Lock()
	defer times.Unlock()
	if times.rows == nil {
		times.rows = map[[3]string][]time.Duration{}
	}
	k := [3]string{platform, bundle, action}
	times.rows[k] = append(times.rows[k], d)
}

// timePlatform records, when t ends (its parallel subtests with it), how
// long t took on the platform: a line "<platform> <test>: wall Ns".
func timePlatform(t *testing.T, platform string) {
	start := time.Now()
	test := strings.SplitN(t.Name(), "/", 2)[0]
	t.Cleanup(func() { record(platform, test, "wall", time.Since(start)) })
}

// timesTable is one line per platform and bundle: each action's times.
func timesTable() string {
	times.Lock()
	defer times.Unlock()
	lines := map[string][]string{}
	for k, ds := range times.rows {
		parts := make([]string, len(ds))
		for i, d := range ds {
			parts[i] = fmt.Sprintf("%.1fs", d.Seconds())
		}
		key := k[0] + " " + k[1]
		lines[key] = append(lines[key], k[2]+" "+strings.Join(parts, "/"))
	}
	var out []string
	for k, acts := range lines {
		slices.Sort(acts)
		out = append(out, k+": "+strings.Join(acts, ", "))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func skipped(name string) bool {
	return slices.Contains(strings.Fields(os.Getenv("OSB_SKIP")), name)
}
