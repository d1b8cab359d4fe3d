package broker

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/schema"
)

// catalog is one immutable view of the services; the broker swaps the whole
// value atomically, so a request never sees half of a bootstrap.
type catalog struct {
	json     []byte // the encoded GET /v2/catalog body
	gzip     []byte // the same, gzip-compressed
	services []osbapi.Service
	byID     map[string]*offering
	plans    map[string]planRef
}

type offering struct {
	spec    *apb.Spec
	service *osbapi.Service
}

type planRef struct {
	offering *offering
	plan     *osbapi.Plan
	specPlan *apb.Plan
	schemas  *planSchemas
}

// planSchemas are a plan's parameter schemas, compiled on first use: a
// bootstrap of a thousand bundles should not compile three thousand.
type planSchemas struct {
	create, update, bind *paramSchema
}

func newPlanSchemas(p *osbapi.Plan) *planSchemas {
	var create, update, bind *osbapi.InputParameters
	if s := p.Schemas; s != nil {
		if s.ServiceInstance != nil {
			create, update = s.ServiceInstance.Create, s.ServiceInstance.Update
		}
		if s.ServiceBinding != nil {
			bind = s.ServiceBinding.Create
		}
	}
	return &planSchemas{create: &paramSchema{input: create}, update: &paramSchema{input: update}, bind: &paramSchema{input: bind}}
}

// paramSchema is one schema of a plan and its compiled form.
type paramSchema struct {
	input *osbapi.InputParameters // nil: the plan takes any parameters
	once  sync.Once
	s     *schema.Schema
	err   error
}

func (p *paramSchema) compiled() (*schema.Schema, error) {
	p.once.Do(func() {
		if p.input != nil {
			p.s, p.err = schema.Compile(p.input.Parameters)
		}
	})
	return p.s, p.err
}

// buildCatalog converts specs to OSB services, leaving out (with a warning)
// any spec that cannot be converted and specs marked for deletion.
func buildCatalog(specs []*apb.Spec, opts func(*apb.Spec) apb.ConvertOptions, log *slog.Logger) (*catalog, error) {
	c := &catalog{byID: map[string]*offering{}, plans: map[string]planRef{}}
	sorted := append([]*apb.Spec(nil), specs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].FQName < sorted[j].FQName })
	c.services = make([]osbapi.Service, 0, len(sorted))
	kept := make([]*apb.Spec, 0, len(sorted))
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
		seen[sp.ID] = true
		c.services = append(c.services, svc)
		kept = append(kept, sp)
	}
	for i := range c.services {
		svc, sp := &c.services[i], kept[i]
		o := &offering{spec: sp, service: svc}
		c.byID[svc.ID] = o
		for j := range svc.Plans {
			p := &svc.Plans[j]
			c.plans[p.ID] = planRef{offering: o, plan: p, specPlan: specPlan(sp, p.Name), schemas: newPlanSchemas(p)}
		}
	}
	body, err := json.Marshal(osbapi.Catalog{Services: c.services})
	if err != nil {
		return nil, fmt.Errorf("encoding the catalog: %w", err)
	}
	c.json = body
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing the catalog: %w", err)
	}
	c.gzip = buf.Bytes()
	return c, nil
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
