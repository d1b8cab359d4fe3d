package broker

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/schema"
)

// catalog is one immutable view of the services; the broker swaps the whole
// value atomically, so a request never sees half of a bootstrap. It keeps
// the encoded body, compressed, and, for the requests' decisions, a slim
// copy of each service and plan: the converted services' schema and form
// trees (maps of maps, some 25 MB for 1,000 bundles) are dropped once
// encoded, and a plan's schemas are made again when first needed.
type catalog struct {
	gzip  []byte // the encoded GET /v2/catalog body, gzip-compressed
	count int    // services
	byID  map[string]*offering
	plans map[string]planRef
}

type offering struct {
	spec *apb.Spec
	// service is the service without its metadata and plans.
	service *osbapi.Service
}

type planRef struct {
	offering *offering
	// plan is the plan without its metadata and schemas.
	plan     *osbapi.Plan
	specPlan *apb.Plan
	schemas  *planSchemas
}

// planSchemas are a plan's parameter schemas, made and compiled on first
// use from the plan's bundle spec: a bootstrap of a thousand bundles
// should neither compile three thousand schemas nor keep them.
type planSchemas struct {
	create, update, bind *paramSchema
}

// schemaKind picks one of a plan's schemas.
type schemaKind int

const (
	schemaCreate schemaKind = iota
	schemaUpdate
	schemaBind
)

func newPlanSchemas(sp *apb.Spec, opts apb.ConvertOptions, planID string) *planSchemas {
	mk := func(k schemaKind) *paramSchema { return &paramSchema{spec: sp, opts: opts, planID: planID, kind: k} }
	return &planSchemas{create: mk(schemaCreate), update: mk(schemaUpdate), bind: mk(schemaBind)}
}

// paramSchema is one schema of a plan, compiled on first use from the
// same conversion that made the served catalog.
type paramSchema struct {
	spec   *apb.Spec
	opts   apb.ConvertOptions
	planID string
	kind   schemaKind

	once sync.Once
	s    *schema.Schema // nil: the plan takes any parameters
	// properties are the parameters the schema declares.
	properties []string
	err        error
}

// input converts the plan's spec again and returns the schema asked for.
func (p *paramSchema) input() (*osbapi.InputParameters, error) {
	svc, err := apb.ToService(p.spec, p.opts)
	if err != nil {
		return nil, err
	}
	for _, pl := range svc.Plans {
		if pl.ID != p.planID || pl.Schemas == nil {
			continue
		}
		switch s := pl.Schemas; {
		case p.kind == schemaBind && s.ServiceBinding != nil:
			return s.ServiceBinding.Create, nil
		case p.kind == schemaCreate && s.ServiceInstance != nil:
			return s.ServiceInstance.Create, nil
		case p.kind == schemaUpdate && s.ServiceInstance != nil:
			return s.ServiceInstance.Update, nil
		}
	}
	return nil, nil
}

func (p *paramSchema) load() {
	p.once.Do(func() {
		in, err := p.input()
		if err != nil || in == nil {
			p.err = err
			return
		}
		props, _ := in.Parameters["properties"].(map[string]any)
		for k := range props {
			p.properties = append(p.properties, k)
		}
		sort.Strings(p.properties)
		p.s, p.err = schema.Compile(in.Parameters)
	})
}

func (p *paramSchema) compiled() (*schema.Schema, error) {
	p.load()
	return p.s, p.err
}

// declared returns the parameters the schema declares.
func (p *paramSchema) declared() []string {
	p.load()
	return p.properties
}

// buildCatalog converts specs to OSB services, leaving out (with a warning)
// any spec that cannot be converted and specs marked for deletion. Each
// service is encoded as soon as it is converted, and only its slim copy
// kept, so that a bootstrap never holds every service's trees at once.
func buildCatalog(specs []*apb.Spec, opts func(*apb.Spec) apb.ConvertOptions, log *slog.Logger) (*catalog, error) {
	c := &catalog{byID: map[string]*offering{}, plans: map[string]planRef{}}
	sorted := append([]*apb.Spec(nil), specs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].FQName < sorted[j].FQName })
	// The body is what json.Marshal(osbapi.Catalog{Services: ...}) makes,
	// written one service at a time (no buffer of the whole catalog is
	// pooled by encoding/json afterwards).
	var body bytes.Buffer
	body.WriteString(`{"services":[`)
	seen := map[string]bool{}
	for _, sp := range sorted {
		if sp.Delete {
			continue
		}
		if seen[sp.ID] {
			log.Warn("two bundles have the same catalog name; keeping the first", "name", sp.FQName, "image", sp.Image)
			continue
		}
		svc, err := apb.ToService(sp, opts(sp))
		if err != nil {
			log.Warn("bundle left out of the catalog", "name", sp.FQName, "image", sp.Image, "err", err)
			continue
		}
		enc, err := json.Marshal(&svc)
		if err != nil {
			return nil, fmt.Errorf("encoding service %s: %w", svc.Name, err)
		}
		refs := make([]planRef, len(svc.Plans))
		for j := range svc.Plans {
			p := svc.Plans[j]
			p.Metadata, p.Schemas = nil, nil
			refs[j] = planRef{plan: &p, specPlan: specPlan(sp, p.Name), schemas: newPlanSchemas(sp, opts(sp), p.ID)}
		}
		slim := svc
		slim.Metadata, slim.Plans = nil, nil
		o := &offering{spec: sp, service: &slim}
		for _, r := range refs {
			r.offering = o
			c.plans[r.plan.ID] = r
		}
		c.byID[svc.ID] = o
		seen[sp.ID] = true
		if c.count > 0 {
			body.WriteByte(',')
		}
		body.Write(enc)
		c.count++
	}
	body.WriteString(`]}`)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body.Bytes())
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing the catalog: %w", err)
	}
	c.gzip = bytes.Clone(buf.Bytes())
	return c, nil
}

// body returns the encoded catalog, uncompressed: made per call, for the
// clients that do not take gzip (Go's and Python's HTTP clients do), so
// that the broker does not keep 4.6 MB (1,000 bundles) for them.
func (c *catalog) body() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(c.gzip))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func specPlan(sp *apb.Spec, name string) *apb.Plan {
	for i := range sp.Plans {
		if sp.Plans[i].Name == name {
			return &sp.Plans[i]
		}
	}
	return nil
}

// lookupPlan finds service and plan of a request, with 400s naming the
// field that is wrong.
func (c *catalog) lookupPlan(serviceID, planID string) (planRef, error) {
	o, ok := c.byID[serviceID]
	if !ok {
		return planRef{}, osbapi.BadRequest("service_id %q is not in the catalog", serviceID)
	}
	p, ok := c.plans[planID]
	if !ok {
		return planRef{}, osbapi.BadRequest("plan_id %q is not in the catalog", planID)
	}
	if p.offering != o {
		return planRef{}, osbapi.BadRequest("plan_id %q does not belong to service_id %q", planID, serviceID)
	}
	return p, nil
}

// secretParams are the names of the parameters and bind parameters a
// plan declares as passwords (display_type: password).
func secretParams(p *apb.Plan) []string {
	var names []string
	for _, ps := range [][]apb.Parameter{p.Parameters, p.BindParameters} {
		for _, prm := range ps {
			if prm.DisplayType == "password" {
				names = append(names, prm.Name)
			}
		}
	}
	return names
}

// SecretParameters names the parameters the plan declares as passwords,
// for the HTTP layer to keep out of its request logs. Without a known
// plan (an update names none) it answers for every plan of the service,
// and without a known service for the whole catalog: masking too much in
// a log costs nothing.
func (b *Broker) SecretParameters(serviceID, planID string) []string {
	c := b.cat()
	if c == nil {
		return nil
	}
	if ref, ok := c.plans[planID]; ok && ref.offering.service.ID == serviceID && ref.specPlan != nil {
		return secretParams(ref.specPlan)
	}
	var specs []*apb.Spec
	if o, ok := c.byID[serviceID]; ok {
		specs = []*apb.Spec{o.spec}
	} else {
		for _, o := range c.byID {
			specs = append(specs, o.spec)
		}
	}
	seen := map[string]bool{}
	var names []string
	for _, sp := range specs {
		for i := range sp.Plans {
			for _, n := range secretParams(&sp.Plans[i]) {
				if !seen[n] {
					seen[n] = true
					names = append(names, n)
				}
			}
		}
	}
	return names
}
