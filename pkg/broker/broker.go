package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/jobs"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// Discover returns the bundles the registries offer now.
type Discover func(ctx context.Context) ([]*apb.Spec, error)

// Options configure a Broker.
type Options struct {
	Store   *store.Store
	Runtime runtime.Runtime
	// Discover feeds Bootstrap; nil means only stored and pushed specs.
	Discover Discover
	// LaunchAPBOnBind runs bind/unbind playbooks (async); otherwise a
	// binding returns the provision credentials synchronously.
	LaunchAPBOnBind bool
	// Cluster is the extra var "cluster": kubernetes or openshift.
	Cluster string
	// DefaultNamespace (broker.default_namespace) is where a provision
	// whose context names no namespace goes; empty refuses such a
	// provision with 400.
	DefaultNamespace string
	// DashboardRedirector, when set, makes dashboard URLs point at it for
	// bundles with alpha.dashboard_redirect.
	DashboardRedirector string
	Secrets             []SecretRule
	Clouds              CloudsRule
	// JobRetention is how long finished operations are kept (default
	// DefaultJobRetention); JobHistory how many per instance or binding
	// (default DefaultJobHistory). See Prune.
	JobRetention time.Duration
	JobHistory   int
	// SecretKeys, when set, lists the keys of a source the secrets: rules
	// name (a Secret of the broker namespace): the parameters so named are
	// hidden from the mapped bundle's schemas, as the Automation Broker
	// hid them, since the Secret provides their values. Nil hides nothing.
	SecretKeys func(ctx context.Context, source string) ([]string, error)
	// Users, when set, checks the platform user of every provision,
	// update, deprovision, bind and unbind (broker.auto_escalate false);
	// nil acts for any user (auto_escalate true).
	Users Users
	// RetryAfter is the Retry-After of in-progress polls (default 2 s).
	RetryAfter time.Duration
	Workers    int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Broker implements osbapi.Broker.
type Broker struct {
	o       Options
	st      *store.Store
	engine  *jobs.Engine
	log     *slog.Logger
	catalog atomic.Pointer[catalog]

	bootMu  sync.Mutex
	stored  map[string][sha256.Size]byte // spec id -> digest of its stored JSON, to write only changes
	specsMu sync.Mutex
	specs   map[string]*apb.Spec
	// hidden are the parameter names the secrets: rules hide, by catalog
	// name, as last read (under specsMu).
	hidden map[string]map[string]bool

	catalogSize prometheus.Gauge
}

var _ osbapi.Broker = (*Broker)(nil)

// New makes a broker and loads the stored specs into the catalog.
// Operations run from then on, until Start's context ends; call Recover to
// resume those left in flight, and Bootstrap if wanted.
func New(ctx context.Context, o Options) (*Broker, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Cluster == "" {
		o.Cluster = "kubernetes"
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 2 * time.Second
	}
	b := &Broker{o: o, st: o.Store, log: o.Logger, stored: map[string][sha256.Size]byte{}, specs: map[string]*apb.Spec{}}
	b.catalogSize = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "osb_catalog_services", Help: "Services in the served catalog.",
	})
	if o.Registerer != nil {
		o.Registerer.MustRegister(b.catalogSize)
	}
	b.engine = jobs.New(jobs.Options{
		Store: o.Store, Runtime: o.Runtime, Handler: (*jobHandler)(b),
		Workers: o.Workers, Logger: o.Logger, Registerer: o.Registerer,
	})
	if err := b.loadStoredSpecs(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Start runs until ctx ends, then stops the operations running here and
// waits for them: they stay in flight in the store, and the next broker
// resumes them. It makes the Broker a runnable of the daemon.
func (b *Broker) Start(ctx context.Context) error { return b.engine.Start(ctx) }

// Recover resumes every operation a previous broker left unfinished.
func (b *Broker) Recover(ctx context.Context) (int, error) { return b.engine.Recover(ctx) }

// Reap asks the runtime, when it can, to remove what finished or unknown
// operations left behind (sandboxes of a broker that died while cleaning
// up). Operations unfinished in the store (this broker's, or another
// replica's) or running here are left alone; so is everything when the
// store cannot say which operations are in flight.
func (b *Broker) Reap(ctx context.Context) (int, error) {
	j, ok := b.o.Runtime.(runtime.Janitor)
	if !ok {
		return 0, nil
	}
	var (
		once    sync.Once
		open    map[string]bool
		loadErr error
	)
	known := func(op string) bool {
		// Loaded on first use: after the runtime listed its sandboxes, so
		// an operation stored before its sandbox was made is in the list.
		once.Do(func() {
			var js []*store.Job
			if js, loadErr = b.st.UnfinishedJobs(ctx); loadErr == nil {
				open = make(map[string]bool, len(js))
				for _, jb := range js {
					open[jb.Token] = true
				}
			}
		})
		return loadErr != nil || open[op] || b.engine.Running(op)
	}
	n, err := j.Reap(ctx, known)
	if loadErr != nil {
		return n, fmt.Errorf("listing unfinished operations for the janitor: %w", loadErr)
	}
	return n, err
}

func (b *Broker) cat() *catalog { return b.catalog.Load() }

// Catalog implements osbapi.Broker.
// The catalog keeps its encoded form only: this decodes it.
func (b *Broker) Catalog(ctx context.Context, ri osbapi.RequestInfo) (*osbapi.Catalog, error) {
	body, err := b.cat().body()
	if err != nil {
		return nil, fmt.Errorf("decompressing the catalog: %w", err)
	}
	var c osbapi.Catalog
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("decoding the catalog: %w", err)
	}
	return &c, nil
}

// CatalogJSON returns the encoded catalog, decompressed from CatalogGzip's
// bytes: encoding happens once per bootstrap, and only the compressed
// form is kept.
func (b *Broker) CatalogJSON(ctx context.Context, ri osbapi.RequestInfo) ([]byte, error) {
	return b.cat().body()
}

// CatalogGzip returns the encoded catalog gzip-compressed, also built once
// per bootstrap: 1,000 bundles make a catalog of several megabytes.
func (b *Broker) CatalogGzip(ctx context.Context, ri osbapi.RequestInfo) ([]byte, error) {
	return b.cat().gzip, nil
}

// newToken makes a random UUID (v4) for operations.
func newToken() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// storeErr maps store failures to OSB errors: etcd unreachable is 503, and
// so is etcd full (maintenance frees space and lifts the alarm without a
// restart, so a retry can succeed); a change larger than etcd takes is
// 413, which no retry mends; a lost race that kept being lost is a 422
// ConcurrencyError; anything else is a broker fault (500).
func storeErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return osbapi.Unavailable("the broker's state store is unavailable; retry later")
	case errors.Is(err, store.ErrNoSpace):
		return osbapi.Unavailable("the broker's state store is full (etcd's database reached its quota, dao.etcd_quota_bytes): " +
			"changes are refused while the broker compacts and defragments it; reads still work; retry later")
	case errors.Is(err, store.ErrTooLarge):
		return &osbapi.Error{Status: http.StatusRequestEntityTooLarge,
			Description: what + ": the request is too large for the state store (etcd takes about 1.5 MB per change, " +
				"parameters are stored with the instance and with its operation); send smaller parameters"}
	case errors.Is(err, store.ErrConflict):
		return osbapi.ConcurrencyError("%s changed concurrently; retry", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func sameParams(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func namespaceOf(ctx map[string]any) string {
	ns, _ := ctx["namespace"].(string)
	return ns
}

// targetContext returns the context an instance is stored with: the
// platform's, with the namespace its actions run against. A bundle acts
// on a namespace (its role binding, the `namespace` extra var), so a
// context without one (no context, or Cloud Foundry's) takes the
// configured default namespace or is refused before anything is stored;
// accepting it would fail later inside the bundle with a cluster-scope
// permission error.
func (b *Broker) targetContext(c map[string]any) (map[string]any, error) {
	v, present := c["namespace"]
	if ns, ok := v.(string); ok && ns != "" {
		return c, nil
	}
	if b.o.DefaultNamespace == "" {
		if present && v != nil && v != "" {
			return nil, osbapi.BadRequest("context.namespace must be a string naming a namespace, got %v", v)
		}
		return nil, osbapi.BadRequest("context.namespace is required: the namespace the service instance is created in " +
			"(the broker has no broker.default_namespace for requests without one)")
	}
	out := maps.Clone(c)
	if out == nil {
		out = map[string]any{}
	}
	out["namespace"] = b.o.DefaultNamespace
	return out, nil
}

// keepNamespace is an update's context with the instance's namespace
// when the update names none (a Cloud Foundry context): the instance
// stays where its provision put it.
func keepNamespace(next, cur map[string]any) map[string]any {
	if next == nil {
		return nil
	}
	if ns, ok := next["namespace"].(string); ok && ns != "" {
		return next
	}
	ns, ok := cur["namespace"].(string)
	if !ok || ns == "" {
		return next
	}
	out := maps.Clone(next)
	out["namespace"] = ns
	return out
}

func checkMaintenanceInfo(p *osbapi.Plan, mi *osbapi.MaintenanceInfo) error {
	// No version is none: what generated clients send as {} when they
	// mean none (pkg/osb reads requests the same way).
	if mi == nil || mi.Version == "" {
		return nil
	}
	if p.MaintenanceInfo == nil {
		return osbapi.MaintenanceInfoConflict("maintenance_info.version %q given but plan %q has no maintenance_info", mi.Version, p.Name)
	}
	if mi.Version != p.MaintenanceInfo.Version {
		return osbapi.MaintenanceInfoConflict("maintenance_info.version %q does not match the plan's %q", mi.Version, p.MaintenanceInfo.Version)
	}
	return nil
}

// validateParams checks parameters against one of a plan's schemas: a 400
// naming each parameter and the rule it broke.
func validateParams(ps *paramSchema, params map[string]any) error {
	s, err := ps.compiled()
	if err != nil {
		// The catalog's own schema is at fault, not the request.
		return fmt.Errorf("the plan's parameter schema: %w", err)
	}
	if err := s.Validate(params); err != nil {
		return osbapi.BadRequest("invalid parameters: %v", err)
	}
	return nil
}

// updateCandidate is what an update is checked against: the updatable
// parameters (the update schema's properties) as they will be after the
// update (so required ones are enforced without resending them) plus every
// parameter the request names (so a non-updatable one is refused).
func updateCandidate(properties []string, merged, requested map[string]any) map[string]any {
	out := maps.Clone(requested)
	if out == nil {
		out = map[string]any{}
	}
	for _, k := range properties {
		if v, ok := merged[k]; ok {
			out[k] = v
		}
	}
	return out
}

// newJob is a queued operation on an instance (and binding, if bid is set).
func newJob(method, iid, bid, planID string, params map[string]any, ri osbapi.RequestInfo) *store.Job {
	now := time.Now().UTC()
	return &store.Job{
		Token: newToken(), State: store.JobInProgress, Method: method,
		InstanceID: iid, BindingID: bid, PlanID: planID, Parameters: params, User: requester(ri),
		Description: method + " job queued", CreatedAt: now, UpdatedAt: now,
	}
}

// startJob has the engine store j with ops in one transaction and run it,
// together with the deletions that keep the resource's history bounded
// (fresh: the resource is new, see historyOps). It returns false, without
// error, when a compare lost a race: the caller decides again.
func (b *Broker) startJob(ctx context.Context, j *store.Job, fresh bool, ops ...store.Op) (bool, error) {
	prune, err := b.historyOps(ctx, j, fresh)
	if err != nil {
		return false, storeErr(err, "reading the operations of "+j.ResourceID())
	}
	err = b.engine.Submit(ctx, j, append(ops, prune...)...)
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, storeErr(err, "storing the "+j.Method+" operation")
	}
	b.log.Info(j.Method+" accepted", "instance_id", j.InstanceID, "binding_id", j.BindingID, "operation", j.Token)
	return true, nil
}

// maxRaces bounds re-evaluation after a lost compare-and-swap.
const maxRaces = 5

// Provision implements osbapi.Broker.
func (b *Broker) Provision(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.ProvisionRequest) (*osbapi.ProvisionResponse, error) {
	if err := checkIDs(id); err != nil {
		return nil, err
	}
	ref, err := b.cat().lookupPlan(req.ServiceID, req.PlanID)
	if err != nil {
		return nil, err
	}
	octx, err := b.targetContext(req.Context)
	if err != nil {
		return nil, err
	}
	if err := checkMaintenanceInfo(ref.plan, req.MaintenanceInfo); err != nil {
		return nil, err
	}
	if !ri.AcceptsIncomplete {
		return nil, osbapi.AsyncRequired()
	}
	if err := validateParams(ref.schemas.create, req.Parameters); err != nil {
		return nil, err
	}
	if err := b.o.Clouds.checkCredentialsParams(ref.offering.spec, req.Parameters); err != nil {
		return nil, err
	}
	if err := b.authorizeUser(ctx, ri, namespaceOf(octx), false); err != nil {
		return nil, err
	}
	for range maxRaces {
		cur, err := b.st.GetInstance(ctx, id)
		switch {
		case err == nil:
			return b.provisionExisting(cur, req)
		case !errors.Is(err, store.ErrNotFound):
			return nil, storeErr(err, "reading instance")
		}
		j := newJob(runtime.ActionProvision, id, "", req.PlanID, req.Parameters, ri)
		token := j.Token
		in := &store.ServiceInstance{
			ID: id, Spec: ref.offering.spec, Context: octx, BindingIDs: map[string]bool{},
			ServiceID: req.ServiceID, PlanID: req.PlanID, UserParameters: req.Parameters,
			OrganizationGUID: req.OrganizationGUID, SpaceGUID: req.SpaceGUID,
			Status: store.StatusProvisioning, Operation: token,
		}
		if req.MaintenanceInfo != nil {
			in.MaintenanceVersion = req.MaintenanceInfo.Version
		}
		in.Parameters = b.instanceParams(in, ri)
		if ok, err := b.startJob(ctx, j, true, store.PutInstance(in)); err != nil {
			return nil, err
		} else if !ok {
			continue // someone created it meanwhile: decide again
		}
		return &osbapi.ProvisionResponse{Async: true, Operation: token, DashboardURL: b.dashboardURL(in)}, nil
	}
	return nil, osbapi.ConcurrencyError("instance %q is being changed concurrently; retry", id)
}

func (b *Broker) provisionExisting(cur *store.ServiceInstance, req *osbapi.ProvisionRequest) (*osbapi.ProvisionResponse, error) {
	same := cur.ServiceID == req.ServiceID && cur.PlanID == req.PlanID &&
		sameParams(cur.UserParameters, req.Parameters) &&
		cur.OrganizationGUID == req.OrganizationGUID && cur.SpaceGUID == req.SpaceGUID
	if !same {
		return nil, osbapi.Conflict("instance %q already exists with different attributes", cur.ID)
	}
	switch cur.Status {
	case store.StatusProvisioning:
		return &osbapi.ProvisionResponse{Async: true, Operation: cur.Operation, DashboardURL: b.dashboardURL(cur)}, nil
	case store.StatusFailed:
		return nil, osbapi.Conflict("instance %q exists but its provision failed; deprovision it first", cur.ID)
	case store.StatusDeprovisioning:
		return nil, osbapi.ConcurrencyError("instance %q is being deprovisioned", cur.ID)
	}
	return &osbapi.ProvisionResponse{Exists: true, DashboardURL: b.dashboardURL(cur)}, nil
}

func requester(ri osbapi.RequestInfo) string {
	if u := ri.OriginatingIdentity.Username(); u != "" {
		return u
	}
	return ri.Principal
}

// instanceParams are the parameters the Automation Broker stored on an
// instance: the user's plus the _apb_* identifiers.
func (b *Broker) instanceParams(in *store.ServiceInstance, ri osbapi.RequestInfo) map[string]any {
	return b.instanceParamsFor(in, requester(ri))
}

func (b *Broker) dashboardURL(in *store.ServiceInstance) string {
	if b.o.DashboardRedirector == "" || in.Spec == nil {
		return in.DashboardURL
	}
	if v, ok := in.Spec.Alpha["dashboard_redirect"].(bool); !ok || !v {
		return in.DashboardURL
	}
	u := b.o.DashboardRedirector
	if len(u) < 4 || u[:4] != "http" {
		u = "http://" + u
	}
	return u + "/?id=" + in.ID
}

// Update implements osbapi.Broker.
func (b *Broker) Update(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.UpdateRequest) (*osbapi.UpdateResponse, error) {
	if err := checkIDs(id); err != nil {
		return nil, err
	}
	for range maxRaces {
		cur, err := b.st.GetInstance(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, osbapi.NotFound("instance %q does not exist", id)
		}
		if err != nil {
			return nil, storeErr(err, "reading instance")
		}
		if req.ServiceID != cur.ServiceID {
			return nil, osbapi.BadRequest("service_id %q does not match the instance's %q", req.ServiceID, cur.ServiceID)
		}
		cat := b.cat()
		oldRef, err := cat.lookupPlan(cur.ServiceID, cur.PlanID)
		if err != nil {
			return nil, osbapi.Unprocessable("the instance's service or plan is no longer in the catalog; it cannot be updated")
		}
		newRef := oldRef
		if req.PlanID != "" && req.PlanID != cur.PlanID {
			if newRef, err = cat.lookupPlan(cur.ServiceID, req.PlanID); err != nil {
				return nil, err
			}
			if !planChangeAllowed(oldRef.specPlan, newRef.plan.Name) {
				return nil, osbapi.Unprocessable("plan_id: changing plan %q to %q is not supported (updates_to)", oldRef.plan.Name, newRef.plan.Name)
			}
		}
		if err := checkMaintenanceInfo(newRef.plan, req.MaintenanceInfo); err != nil {
			return nil, err
		}
		if !ri.AcceptsIncomplete {
			return nil, osbapi.AsyncRequired()
		}
		params := maps.Clone(cur.UserParameters)
		if params == nil {
			params = map[string]any{}
		}
		maps.Copy(params, req.Parameters)
		if err := validateParams(newRef.schemas.update, updateCandidate(newRef.schemas.update.declared(), params, req.Parameters)); err != nil {
			return nil, err
		}
		reqCtx := keepNamespace(req.Context, cur.Context)
		ns := namespaceOf(cur.Context)
		if reqCtx != nil {
			ns = namespaceOf(reqCtx)
		}
		if err := b.authorizeUser(ctx, ri, ns, false); err != nil {
			return nil, err
		}
		if err := b.o.Clouds.checkCredentialsParams(cur.Spec, req.Parameters); err != nil {
			return nil, err
		}

		if cur.Operation != "" {
			if j, err := b.st.GetJob(ctx, id, cur.Operation); err == nil && j.Method == runtime.ActionUpdate &&
				j.PlanID == newRef.plan.ID && sameParams(j.Parameters, params) {
				return &osbapi.UpdateResponse{Async: true, Operation: cur.Operation}, nil
			}
			return nil, osbapi.ConcurrencyError("instance %q has an operation in progress", id)
		}
		switch cur.Status {
		case store.StatusProvisioning, store.StatusDeprovisioning:
			return nil, osbapi.ConcurrencyError("instance %q has an operation in progress", id)
		case store.StatusFailed:
			return nil, osbapi.Unprocessable("instance %q is in a failed state and cannot be updated", id)
		}
		if newRef.plan.ID == cur.PlanID && len(req.Parameters) == 0 {
			// Nothing to run: record a context change, if any, and answer 200.
			if reqCtx != nil && !reflect.DeepEqual(reqCtx, cur.Context) {
				next := *cur
				next.Context = reqCtx
				if _, err := b.st.Commit(ctx, store.PutInstance(&next)); errors.Is(err, store.ErrConflict) {
					continue
				} else if err != nil {
					return nil, storeErr(err, "storing instance")
				}
			}
			return &osbapi.UpdateResponse{}, nil
		}
		j := newJob(runtime.ActionUpdate, id, "", newRef.plan.ID, params, ri)
		next := *cur
		next.Operation = j.Token
		if reqCtx != nil {
			next.Context = reqCtx
		}
		if ok, err := b.startJob(ctx, j, false, store.PutInstance(&next)); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		return &osbapi.UpdateResponse{Async: true, Operation: j.Token, DashboardURL: b.dashboardURL(cur)}, nil
	}
	return nil, osbapi.ConcurrencyError("instance %q is being changed concurrently; retry", id)
}

func planChangeAllowed(from *apb.Plan, to string) bool {
	if from == nil {
		return false
	}
	for _, n := range from.UpdatesTo {
		if n == to {
			return true
		}
	}
	return false
}

// Deprovision implements osbapi.Broker.
func (b *Broker) Deprovision(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.DeprovisionRequest) (*osbapi.DeprovisionResponse, error) {
	if err := checkIDs(id); err != nil {
		return nil, err
	}
	for range maxRaces {
		cur, err := b.st.GetInstance(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, osbapi.Gone("instance %q does not exist", id)
		}
		if err != nil {
			return nil, storeErr(err, "reading instance")
		}
		if req.ServiceID != cur.ServiceID {
			return nil, osbapi.BadRequest("service_id %q does not match the instance's %q", req.ServiceID, cur.ServiceID)
		}
		if !ri.AcceptsIncomplete {
			return nil, osbapi.AsyncRequired()
		}
		if err := b.authorizeUser(ctx, ri, namespaceOf(cur.Context), true); err != nil {
			return nil, err
		}
		if cur.Operation != "" {
			if j, err := b.st.GetJob(ctx, id, cur.Operation); err == nil && j.Method == runtime.ActionDeprovision {
				return &osbapi.DeprovisionResponse{Async: true, Operation: cur.Operation}, nil
			}
			return nil, osbapi.ConcurrencyError("instance %q has an operation in progress", id)
		}
		for bid := range cur.BindingIDs {
			if bi, err := b.st.GetBinding(ctx, bid); err == nil && bi.Operation != "" {
				return nil, osbapi.ConcurrencyError("binding %q of instance %q has an operation in progress", bid, id)
			}
		}
		j := newJob(runtime.ActionDeprovision, id, "", cur.PlanID, cur.UserParameters, ri)
		next := *cur
		next.Operation = j.Token
		next.Status = store.StatusDeprovisioning
		if ok, err := b.startJob(ctx, j, false, store.PutInstance(&next)); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		return &osbapi.DeprovisionResponse{Async: true, Operation: j.Token}, nil
	}
	return nil, osbapi.ConcurrencyError("instance %q is being changed concurrently; retry", id)
}

// GetInstance implements osbapi.Broker.
func (b *Broker) GetInstance(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.FetchRequest) (*osbapi.GetInstanceResponse, error) {
	if err := checkIDs(id); err != nil {
		return nil, err
	}
	cur, err := b.st.GetInstance(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, osbapi.NotFound("instance %q does not exist", id)
	}
	if err != nil {
		return nil, storeErr(err, "reading instance")
	}
	// An instance whose provision has not succeeded does not exist for
	// GET (404, the spec's answer while provisioning), also while its
	// deprovision runs; a provisioned one does until its deprovision ends.
	switch succeeded, failed := b.provisionOutcome(ctx, cur); cur.Status {
	case store.StatusProvisioning:
		return nil, osbapi.NotFound("instance %q is not provisioned", id)
	case store.StatusFailed:
		if !succeeded {
			return nil, osbapi.NotFound("instance %q is not provisioned", id)
		}
	case store.StatusDeprovisioning:
		if failed && !succeeded {
			return nil, osbapi.NotFound("instance %q was never provisioned and is being deprovisioned", id)
		}
	}
	if cur.Operation != "" {
		if j, err := b.st.GetJob(ctx, id, cur.Operation); err == nil && j.Method == runtime.ActionUpdate {
			return nil, osbapi.ConcurrencyError("instance %q is being updated", id)
		}
	}
	resp := &osbapi.GetInstanceResponse{
		ServiceID: cur.ServiceID, PlanID: cur.PlanID, DashboardURL: b.dashboardURL(cur),
		Parameters: cur.UserParameters,
	}
	if cur.MaintenanceVersion != "" {
		resp.MaintenanceInfo = &osbapi.MaintenanceInfo{Version: cur.MaintenanceVersion}
	}
	return resp, nil
}

// provisionOutcome says whether the instance's provision succeeded or
// failed, from its job records: it tells a failed provision (not an
// instance) from a failed later operation on a provisioned instance. An
// instance without provision records (imported from the Automation
// Broker, or pruned) has neither.
func (b *Broker) provisionOutcome(ctx context.Context, in *store.ServiceInstance) (succeeded, failed bool) {
	if in.Status != store.StatusFailed && in.Status != store.StatusDeprovisioning {
		return false, false // not needed: spare the read
	}
	js, err := b.st.InstanceJobs(ctx, in.ID)
	if err != nil {
		return false, false
	}
	for _, j := range js {
		if j.Method == runtime.ActionProvision {
			succeeded = succeeded || j.State == store.JobSucceeded
			failed = failed || j.State == store.JobFailed
		}
	}
	return succeeded, failed
}

// LastOperation implements osbapi.Broker.
func (b *Broker) LastOperation(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.LastOperationRequest) (*osbapi.LastOperationResponse, error) {
	if err := checkIDs(id); err != nil {
		return nil, err
	}
	_, ierr := b.st.GetInstance(ctx, id)
	if ierr != nil && !errors.Is(ierr, store.ErrNotFound) {
		return nil, storeErr(ierr, "reading instance")
	}
	j, err := b.pickJob(ctx, id, false, req.Operation)
	if err != nil {
		return nil, err
	}
	// A finished deprovision is 410 even when the instance was read just
	// before the job committed its deletion.
	if j != nil && j.Method == runtime.ActionDeprovision && j.State == store.JobSucceeded {
		return nil, osbapi.Gone("instance %q was deprovisioned", id)
	}
	if errors.Is(ierr, store.ErrNotFound) {
		return nil, osbapi.NotFound("instance %q does not exist", id)
	}
	if j == nil {
		return nil, osbapi.NotFound("instance %q has no operation", id)
	}
	return b.lastOp(j), nil
}

// pickJob returns the job the poll names, or the resource's latest one when
// the operation is absent or unknown (platforms and checkers send none or
// made-up values). The resource is an instance, or a binding when binding
// is set: an instance and a binding of the same id file their jobs under
// the same prefix, and neither sees the other's.
func (b *Broker) pickJob(ctx context.Context, id string, binding bool, token string) (*store.Job, error) {
	if validToken(token) {
		j, err := b.st.GetJob(ctx, id, token)
		if err == nil && j.ForBinding() == binding {
			return j, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, storeErr(err, "reading operation")
		}
	}
	list := b.st.InstanceJobs
	if binding {
		list = b.st.BindingJobs
	}
	js, err := list(ctx, id)
	if err != nil {
		return nil, storeErr(err, "reading operations")
	}
	if len(js) == 0 {
		return nil, nil
	}
	return js[len(js)-1], nil
}

func (b *Broker) lastOp(j *store.Job) *osbapi.LastOperationResponse {
	r := &osbapi.LastOperationResponse{Description: j.Description}
	switch j.State {
	case store.JobSucceeded:
		r.State = osbapi.StateSucceeded
	case store.JobFailed:
		r.State = osbapi.StateFailed
		yes, no := true, false
		switch j.Method {
		case runtime.ActionUpdate:
			r.InstanceUsable, r.UpdateRepeatable = &yes, &yes
		case runtime.ActionDeprovision:
			r.InstanceUsable = &no
		}
	default:
		r.State = osbapi.StateInProgress
		r.RetryAfter = int(b.o.RetryAfter.Round(time.Second) / time.Second)
		if r.RetryAfter < 1 {
			r.RetryAfter = 1
		}
	}
	return r
}
