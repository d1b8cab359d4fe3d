package ironic

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service.
func (ir *Ironic) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", ir.root, core.Public)
	rt.Handle("GET /v1", ir.v1, core.Public)
	rt.Handle("GET /v1/{$}", ir.v1, core.Public)

	h := func(pattern, resource string, fn core.HandlerFunc) { rt.Handle(pattern, ir.admin(resource, fn)) }
	h("GET /v1/nodes", "baremetal:node:list", ir.listNodes)
	h("GET /v1/nodes/{$}", "baremetal:node:list", ir.listNodes)
	h("POST /v1/nodes/{$}", "baremetal:node:create", ir.createNode)
	h("GET /v1/ports/{$}", "baremetal:port:list", ir.listPorts)
	h("POST /v1/ports/{$}", "baremetal:port:create", ir.createPort)
	h("GET /v1/drivers/{$}", "baremetal:driver:get", ir.listDrivers)
	h("GET /v1/nodes/detail", "baremetal:node:list", ir.listNodes)
	h("POST /v1/nodes", "baremetal:node:create", ir.createNode)
	h("GET /v1/nodes/{node}", "baremetal:node:get", ir.showNode)
	h("PATCH /v1/nodes/{node}", "baremetal:node:update", ir.patchNode)
	h("DELETE /v1/nodes/{node}", "baremetal:node:delete", ir.deleteNode)
	h("GET /v1/nodes/{node}/states", "baremetal:node:get", ir.nodeStates)
	h("PUT /v1/nodes/{node}/states/provision", "baremetal:node:set_provision_state", ir.setProvision)
	h("PUT /v1/nodes/{node}/states/power", "baremetal:node:set_power_state", ir.setPower)
	h("PUT /v1/nodes/{node}/maintenance", "baremetal:node:set_maintenance", ir.setMaintenance)
	h("DELETE /v1/nodes/{node}/maintenance", "baremetal:node:clear_maintenance", ir.clearMaintenance)
	h("GET /v1/nodes/{node}/validate", "baremetal:node:validate", ir.validateNode)
	h("GET /v1/nodes/{node}/ports", "baremetal:port:list", ir.listNodePorts)
	h("GET /v1/nodes/{node}/ports/detail", "baremetal:port:list", ir.listNodePorts)
	h("GET /v1/nodes/{node}/traits", "baremetal:node:traits:list", ir.listTraits)
	h("PUT /v1/nodes/{node}/traits", "baremetal:node:traits:set", ir.setTraits)
	h("PUT /v1/nodes/{node}/traits/{trait}", "baremetal:node:traits:set", ir.addTrait)
	h("DELETE /v1/nodes/{node}/traits/{trait}", "baremetal:node:traits:delete", ir.deleteTrait)
	h("GET /v1/ports", "baremetal:port:list", ir.listPorts)
	h("GET /v1/ports/detail", "baremetal:port:list", ir.listPorts)
	h("POST /v1/ports", "baremetal:port:create", ir.createPort)
	h("GET /v1/ports/{port}", "baremetal:port:get", ir.showPort)
	h("PATCH /v1/ports/{port}", "baremetal:port:update", ir.patchPort)
	h("DELETE /v1/ports/{port}", "baremetal:port:delete", ir.deletePort)
	h("GET /v1/drivers", "baremetal:driver:get", ir.listDrivers)
	h("GET /v1/portgroups", "baremetal:portgroup:list", ir.listPortgroups)
	h("GET /v1/portgroups/detail", "baremetal:portgroup:list", ir.listPortgroups)
	h("GET /v1/nodes/{node}/portgroups", "baremetal:portgroup:list", ir.listPortgroups)
	h("GET /v1/nodes/{node}/portgroups/detail", "baremetal:portgroup:list", ir.listPortgroups)
	h("GET /v1/drivers/{driver}", "baremetal:driver:get", ir.showDriver)
	h("GET /v1/drivers/{driver}/properties", "baremetal:driver:get_properties", ir.driverProperties)
}

// admin is Ironic's default policy: the admin role, or another service
// calling (Nova's ironic driver uses its service credentials).
func (ir *Ironic) admin(resource string, fn core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		versionHeaders(w)
		if !core.IdentityOf(r).IsAdmin() && !core.IsServiceCall(r) {
			return core.Forbidden("Access was denied to the following resource: %s", resource)
		}
		return fn(w, r)
	}
}

func (ir *Ironic) versionDoc(r *http.Request) map[string]any {
	return map[string]any{"id": "v1", "links": []map[string]string{{"href": core.ServiceURL(r) + "/v1/", "rel": "self"}},
		"status": "CURRENT", "min_version": "1.1", "version": MaxMicroversion}
}

func (ir *Ironic) root(w http.ResponseWriter, r *http.Request) error {
	versionHeaders(w)
	doc := ir.versionDoc(r)
	core.WriteJSON(w, http.StatusOK, map[string]any{"name": "OpenStack Ironic API",
		"description":     "Ironic is an OpenStack project which aims to provision baremetal machines.",
		"default_version": doc, "versions": []any{doc}})
	return nil
}

func (ir *Ironic) v1(w http.ResponseWriter, r *http.Request) error {
	versionHeaders(w)
	base := core.ServiceURL(r)
	link := func(p string) []map[string]string {
		return []map[string]string{{"href": base + "/v1/" + p + "/", "rel": "self"}, {"href": base + "/" + p + "/", "rel": "bookmark"}}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"id": "v1",
		"links":       []map[string]string{{"href": base + "/v1/", "rel": "self"}, {"href": "https://docs.openstack.org//ironic/latest/contributor//webapi.html", "rel": "describedby", "type": "text/html"}},
		"media_types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.ironic.v1+json"}},
		"chassis":     link("chassis"), "nodes": link("nodes"), "ports": link("ports"), "drivers": link("drivers"),
		"version": ir.versionDoc(r)})
	return nil
}

const ironicTime = "2006-01-02T15:04:05.000000+00:00"

func fmtTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(ironicTime)
}

func nodeNotFound(id string) error { return core.NotFound("Node %s could not be found.", id) }

// find returns a node by UUID or name.
func (s *state) find(id string) *Node {
	if n := s.Nodes[id]; n != nil {
		return n
	}
	for _, n := range s.Nodes {
		if n.Name != nil && *n.Name == id {
			return n
		}
	}
	return nil
}

func (s *state) node(r *http.Request) (*Node, error) {
	id := r.PathValue("node")
	n := s.find(id)
	if n == nil || (n.UUID != id && !core.MicroversionOf(r).AtLeast("1.5")) {
		return nil, nodeNotFound(id)
	}
	return n, nil
}

func maskSecrets(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if strings.Contains(k, "password") || strings.Contains(k, "secret") || strings.Contains(k, "key") && !strings.Contains(k, "kernel") {
			if _, ok := v.(string); ok {
				v = "******"
			}
		}
		out[k] = v
	}
	return out
}

func (n *Node) provisionState(now time.Time) string { return n.Provision.Current(now) }

func (n *Node) targetProvision(now time.Time) any {
	if n.Provision.Pending(now) && n.Target != "" {
		return n.Target
	}
	return nil
}

func (ir *Ironic) nodeBody(r *http.Request, n *Node, detail bool, fields []string) map[string]any {
	v := core.MicroversionOf(r)
	now := ir.env.Now()
	base := core.ServiceURL(r)
	b := map[string]any{"uuid": n.UUID, "instance_uuid": n.InstanceUUID, "power_state": n.PowerState,
		"provision_state": n.provisionState(now), "maintenance": n.Maintenance,
		"links": []map[string]string{{"href": base + "/v1/nodes/" + n.UUID, "rel": "self"}, {"href": base + "/nodes/" + n.UUID, "rel": "bookmark"}}}
	if v.AtLeast("1.5") {
		b["name"] = n.Name
	}
	if detail || len(fields) > 0 {
		b["driver"], b["driver_info"], b["extra"], b["instance_info"] = n.Driver, maskSecrets(n.DriverInfo), n.Extra, n.InstanceInfo
		b["properties"], b["maintenance_reason"], b["last_error"] = n.Properties, n.MaintReason, n.LastError
		b["target_power_state"], b["target_provision_state"] = nil, n.targetProvision(now)
		b["console_enabled"], b["chassis_uuid"], b["reservation"] = n.ConsoleEnabled, nil, nil
		b["created_at"], b["updated_at"], b["provision_updated_at"] = n.CreatedAt.UTC().Format(ironicTime), fmtTime(n.UpdatedAt), fmtTime(n.ProvisionUpdated)
		b["ports"] = []map[string]string{{"href": base + "/v1/nodes/" + n.UUID + "/ports", "rel": "self"}, {"href": base + "/nodes/" + n.UUID + "/ports", "rel": "bookmark"}}
		b["states"] = []map[string]string{{"href": base + "/v1/nodes/" + n.UUID + "/states", "rel": "self"}, {"href": base + "/nodes/" + n.UUID + "/states", "rel": "bookmark"}}
		gated := []struct {
			min string
			kv  map[string]any
		}{
			{"1.3", map[string]any{"driver_internal_info": n.DriverInternal}},
			{"1.6", map[string]any{"inspection_started_at": nil, "inspection_finished_at": nil}},
			{"1.7", map[string]any{"clean_step": map[string]any{}}},
			{"1.12", map[string]any{"raid_config": map[string]any{}, "target_raid_config": map[string]any{}}},
			{"1.20", map[string]any{"network_interface": n.Interfaces["network"]}},
			{"1.21", map[string]any{"resource_class": n.ResourceClass}},
			{"1.24", map[string]any{"portgroups": []map[string]string{{"href": base + "/v1/nodes/" + n.UUID + "/portgroups", "rel": "self"}}}},
			{"1.31", map[string]any{"boot_interface": n.Interfaces["boot"], "console_interface": n.Interfaces["console"],
				"deploy_interface": n.Interfaces["deploy"], "inspect_interface": n.Interfaces["inspect"],
				"management_interface": n.Interfaces["management"], "power_interface": n.Interfaces["power"],
				"raid_interface": n.Interfaces["raid"], "vendor_interface": n.Interfaces["vendor"]}},
			{"1.32", map[string]any{"volume": []map[string]string{{"href": base + "/v1/nodes/" + n.UUID + "/volume/", "rel": "self"}}}},
			{"1.33", map[string]any{"storage_interface": n.Interfaces["storage"]}},
			{"1.37", map[string]any{"traits": append([]string{}, n.Traits...)}},
			{"1.38", map[string]any{"rescue_interface": n.Interfaces["rescue"]}},
			{"1.40", map[string]any{"bios_interface": n.Interfaces["bios"]}},
			{"1.42", map[string]any{"fault": n.Fault}},
			{"1.44", map[string]any{"deploy_step": map[string]any{}}},
			{"1.46", map[string]any{"conductor_group": n.ConductorGroup}},
			{"1.47", map[string]any{"automated_clean": n.AutomatedClean}},
			{"1.48", map[string]any{"protected": n.Protected, "protected_reason": n.ProtectedReason}},
			{"1.49", map[string]any{"conductor": "emulator"}},
			{"1.50", map[string]any{"owner": n.Owner}},
			{"1.51", map[string]any{"description": n.Description}},
			{"1.52", map[string]any{"allocation_uuid": nil}},
			{"1.61", map[string]any{"retired": n.Retired, "retired_reason": n.RetiredReason}},
			{"1.65", map[string]any{"lessee": n.Lessee}},
			{"1.66", map[string]any{"network_data": orEmpty(n.NetworkData)}},
			{"1.75", map[string]any{"boot_mode": "uefi", "secure_boot": nil}},
			{"1.82", map[string]any{"shard": n.Shard}},
		}
		for _, g := range gated {
			if v.AtLeast(g.min) {
				for k, val := range g.kv {
					b[k] = val
				}
			}
		}
	}
	if len(fields) > 0 {
		out := map[string]any{}
		for _, f := range fields {
			if val, ok := b[f]; ok {
				out[f] = val
			}
		}
		if _, ok := out["links"]; !ok {
			out["links"] = b["links"]
		}
		return out
	}
	return b
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// nodeFields are the names ?fields= accepts.
var nodeFields = []string{"uuid", "name", "driver", "driver_info", "driver_internal_info", "extra", "instance_info",
	"instance_uuid", "properties", "resource_class", "maintenance", "maintenance_reason", "fault", "last_error",
	"power_state", "target_power_state", "provision_state", "target_provision_state", "provision_updated_at",
	"owner", "lessee", "description", "conductor_group", "protected", "protected_reason", "retired", "retired_reason",
	"automated_clean", "traits", "console_enabled", "network_data", "created_at", "updated_at", "chassis_uuid",
	"boot_interface", "console_interface", "deploy_interface", "inspect_interface", "management_interface",
	"network_interface", "power_interface", "raid_interface", "rescue_interface", "storage_interface",
	"vendor_interface", "bios_interface", "clean_step", "deploy_step", "conductor", "allocation_uuid", "links",
	"ports", "states", "portgroups", "volume", "reservation", "inspection_started_at", "inspection_finished_at",
	"raid_config", "target_raid_config", "boot_mode", "secure_boot", "shard"}

func parseFields(r *http.Request, allowed []string) ([]string, error) {
	s := r.URL.Query().Get("fields")
	if s == "" {
		return nil, nil
	}
	if !core.MicroversionOf(r).AtLeast("1.8") {
		return nil, core.Errorf(http.StatusNotAcceptable, "Request not acceptable.")
	}
	fields := strings.Split(s, ",")
	for _, f := range fields {
		if !slices.Contains(allowed, f) {
			return nil, core.BadRequest("Field(s) \"%s\" are not valid", f)
		}
	}
	return fields, nil
}

func (ir *Ironic) listNodes(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := core.ParsePage(r, 1000)
	if err != nil {
		return core.BadRequest("Limit must be positive")
	}
	fields, err := parseFields(r, nodeFields)
	if err != nil {
		return err
	}
	detail := strings.HasSuffix(r.URL.Path, "/detail")
	if d := q.Get("detail"); d != "" {
		if detail {
			return core.BadRequest("Invalid parameter detail")
		}
		detail = d == "true" || d == "True" || d == "1"
	}
	if detail && len(fields) > 0 {
		return core.BadRequest("Can not specify ?detail=True and fields in the same request.")
	}
	boolFilter := func(k string) (*bool, error) {
		if !q.Has(k) {
			return nil, nil
		}
		switch strings.ToLower(q.Get(k)) {
		case "true", "1", "yes", "on":
			t := true
			return &t, nil
		case "false", "0", "no", "off":
			f := false
			return &f, nil
		}
		return nil, core.BadRequest("Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", q.Get(k))
	}
	maint, err := boolFilter("maintenance")
	if err != nil {
		return err
	}
	assoc, err := boolFilter("associated")
	if err != nil {
		return err
	}
	now := ir.env.Now()
	var list []*Node
	_ = ir.state.View(func(s *state) error {
		for _, n := range s.Nodes {
			if maint != nil && n.Maintenance != *maint {
				continue
			}
			if assoc != nil && (n.InstanceUUID != nil) != *assoc {
				continue
			}
			if iu := q.Get("instance_uuid"); iu != "" && (n.InstanceUUID == nil || *n.InstanceUUID != iu) {
				continue
			}
			if ps := q.Get("provision_state"); ps != "" && n.provisionState(now) != ps {
				continue
			}
			rc := ""
			if n.ResourceClass != nil {
				rc = *n.ResourceClass
			}
			owner, lessee := "", ""
			if n.Owner != nil {
				owner = *n.Owner
			}
			if n.Lessee != nil {
				lessee = *n.Lessee
			}
			if !core.MatchFilters(q, map[string]string{"driver": n.Driver, "resource_class": rc, "owner": owner,
				"lessee": lessee, "conductor_group": n.ConductorGroup}) {
				continue
			}
			cp := *n
			list = append(list, &cp)
		}
		return nil
	})
	sortKey := q.Get("sort_key")
	if sortKey == "" {
		sortKey = "id"
	}
	desc := q.Get("sort_dir") == "desc"
	if d := q.Get("sort_dir"); d != "" && d != "asc" && d != "desc" {
		return core.BadRequest("Invalid sort direction: %s. Acceptable values are 'asc' or 'desc'", d)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		var less bool
		switch sortKey {
		case "name":
			less = deref(a.Name) < deref(b.Name)
		case "uuid":
			less = a.UUID < b.UUID
		default:
			less = a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.UUID < b.UUID)
		}
		if desc {
			return !less
		}
		return less
	})
	list, more, err := core.Paginate(list, func(n *Node) string { return n.UUID }, page)
	if err != nil {
		return core.NotFound("Node %s could not be found.", page.Marker)
	}
	out := []any{}
	for _, n := range list {
		out = append(out, ir.nodeBody(r, n, detail, fields))
	}
	resp := map[string]any{"nodes": out}
	if more || (page.Limit > 0 && len(list) == page.Limit) {
		resp["next"] = core.AbsoluteURL(r, core.NextPath(r, list[len(list)-1].UUID))
	}
	core.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (ir *Ironic) showNode(w http.ResponseWriter, r *http.Request) error {
	fields, err := parseFields(r, nodeFields)
	if err != nil {
		return err
	}
	return ir.state.View(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, ir.nodeBody(r, n, true, fields))
		return nil
	})
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9\-._~]+$`)

func checkName(name string) error {
	if !nameRE.MatchString(name) || uuidLike(name) {
		return core.BadRequest("Expected a logical name but received %s.", name)
	}
	return nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func uuidLike(s string) bool { return uuidRE.MatchString(s) }

func (ir *Ironic) createNode(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	var in map[string]any
	if err := core.DecodeJSON(r, &in); err != nil {
		return err
	}
	driver, _ := in["driver"].(string)
	if driver == "" {
		return core.BadRequest("Invalid input for field/attribute driver. Value: None. Mandatory field missing.")
	}
	if !slices.Contains(Drivers, driver) {
		return core.BadRequest("No valid host was found. Reason: No conductor service registered which supports driver %s for conductor group \"\".", driver)
	}
	now := ir.env.Now()
	n := newNode(now, driver)
	if v.AtLeast("1.11") {
		n.Provision = core.Lifecycle{Status: "enroll"}
	} else {
		n.Provision = core.Lifecycle{Status: "available"}
	}
	n.PowerState = nil
	n.ProvisionUpdated = &now
	allowed := map[string]bool{"driver": true, "name": true, "uuid": true, "driver_info": true, "extra": true,
		"properties": true, "instance_info": true, "resource_class": true, "chassis_uuid": true, "owner": true,
		"lessee": true, "description": true, "conductor_group": true, "automated_clean": true, "protected": true,
		"retired": true, "network_data": true, "traits": false, "shard": true}
	for _, k := range interfaceNames {
		allowed[k+"_interface"] = true
	}
	for k := range in {
		if !allowed[k] {
			return core.BadRequest("Unknown attribute for argument node: %s", k)
		}
	}
	if err := applyFields(n, in); err != nil {
		return err
	}
	if u, ok := in["uuid"].(string); ok {
		if !uuidLike(u) {
			return core.BadRequest("Expected a UUID but received %s.", u)
		}
		n.UUID = u
	}
	err := ir.state.Update(func(s *state) error {
		if s.Nodes[n.UUID] != nil {
			return core.Conflict("A node with UUID %s already exists.", n.UUID)
		}
		if n.Name != nil && s.find(*n.Name) != nil {
			return core.Conflict("A node with name %s already exists.", *n.Name)
		}
		s.Nodes[n.UUID] = n
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", core.ServiceURL(r)+"/v1/nodes/"+n.UUID)
	core.WriteJSON(w, http.StatusCreated, ir.nodeBody(r, n, true, nil))
	return nil
}

// applyFields sets the writable fields of a node from a body or a patched
// document, checking their types.
func applyFields(n *Node, in map[string]any) error {
	mapField := func(k string, dst *map[string]any) error {
		v, ok := in[k]
		if !ok {
			return nil
		}
		if v == nil {
			*dst = map[string]any{}
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return core.BadRequest("Invalid input for field/attribute %s. Value: %v. Value should be a dict", k, v)
		}
		*dst = m
		return nil
	}
	strField := func(k string, dst **string) error {
		v, ok := in[k]
		if !ok {
			return nil
		}
		if v == nil {
			*dst = nil
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return core.BadRequest("Invalid input for field/attribute %s. Value: %v. Value should be a string", k, v)
		}
		*dst = &s
		return nil
	}
	for _, f := range []struct {
		k string
		d *map[string]any
	}{{"driver_info", &n.DriverInfo}, {"extra", &n.Extra}, {"properties", &n.Properties}, {"instance_info", &n.InstanceInfo}, {"network_data", &n.NetworkData}} {
		if err := mapField(f.k, f.d); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		k string
		d **string
	}{{"name", &n.Name}, {"resource_class", &n.ResourceClass}, {"owner", &n.Owner}, {"lessee", &n.Lessee},
		{"description", &n.Description}, {"maintenance_reason", &n.MaintReason}, {"protected_reason", &n.ProtectedReason},
		{"retired_reason", &n.RetiredReason}, {"instance_uuid", &n.InstanceUUID}, {"shard", &n.Shard}} {
		if err := strField(f.k, f.d); err != nil {
			return err
		}
	}
	if n.Name != nil {
		if err := checkName(*n.Name); err != nil {
			return err
		}
	}
	if n.InstanceUUID != nil && !uuidLike(*n.InstanceUUID) {
		return core.BadRequest("Expected a UUID but received %s.", *n.InstanceUUID)
	}
	if d, ok := in["driver"].(string); ok && d != n.Driver {
		if !slices.Contains(Drivers, d) {
			return core.BadRequest("No valid host was found. Reason: No conductor service registered which supports driver %s for conductor group \"\".", d)
		}
		n.Driver = d
		n.Interfaces = defaultInterfaces(d)
	}
	if cg, ok := in["conductor_group"].(string); ok {
		n.ConductorGroup = cg
	}
	for _, k := range []struct {
		key string
		dst *bool
	}{{"protected", &n.Protected}, {"retired", &n.Retired}, {"maintenance", &n.Maintenance}} {
		if v, ok := in[k.key]; ok {
			b, ok := v.(bool)
			if !ok {
				return core.BadRequest("Invalid input for field/attribute %s. Value: %v. Value should be a boolean", k.key, v)
			}
			*k.dst = b
		}
	}
	if v, ok := in["automated_clean"]; ok {
		if v == nil {
			n.AutomatedClean = nil
		} else if b, ok := v.(bool); ok {
			n.AutomatedClean = &b
		}
	}
	for _, k := range interfaceNames {
		if v, ok := in[k+"_interface"].(string); ok {
			n.Interfaces[k] = v
		}
	}
	return nil
}

// jsonPatch applies RFC 6902 add/replace/remove operations to doc.
func jsonPatch(doc map[string]any, ops []map[string]any, readOnly []string) error {
	for _, op := range ops {
		o, _ := op["op"].(string)
		path, _ := op["path"].(string)
		raw, _ := json.Marshal(op)
		if !strings.HasPrefix(path, "/") || path == "/" {
			return core.BadRequest("Invalid input for field/attribute path. Value: '%s'. '%s' is not a valid path", path, path)
		}
		parts := strings.Split(path[1:], "/")
		for i := range parts {
			parts[i] = strings.ReplaceAll(strings.ReplaceAll(parts[i], "~1", "/"), "~0", "~")
		}
		if slices.Contains(readOnly, parts[0]) {
			return core.BadRequest("'%s' is an internal attribute and can not be updated", path)
		}
		parent := doc
		for _, p := range parts[:len(parts)-1] {
			next, ok := parent[p].(map[string]any)
			if !ok {
				if o == "remove" {
					return core.BadRequest("Couldn't apply patch '%s'. Reason: can't remove a non-existent object '%s'", raw, p)
				}
				next = map[string]any{}
				parent[p] = next
			}
			parent = next
		}
		key := parts[len(parts)-1]
		switch o {
		case "add", "replace":
			val, ok := op["value"]
			if !ok {
				return core.BadRequest("'add' and 'replace' operations need a value")
			}
			if _, exists := parent[key]; o == "replace" && !exists && len(parts) > 1 {
				return core.BadRequest("Couldn't apply patch '%s'. Reason: can't replace a non-existent object '%s'", raw, key)
			}
			parent[key] = val
		case "remove":
			if _, exists := parent[key]; !exists {
				return core.BadRequest("Couldn't apply patch '%s'. Reason: can't remove a non-existent object '%s'", raw, key)
			}
			if len(parts) == 1 {
				parent[key] = nil
			} else {
				delete(parent, key)
			}
		default:
			return core.BadRequest("Invalid input for field/attribute op. Value: '%s'. Value should be one of: add, replace, remove", o)
		}
	}
	return nil
}

func nodeDoc(n *Node) map[string]any {
	b, _ := json.Marshal(map[string]any{"name": n.Name, "driver": n.Driver, "driver_info": n.DriverInfo, "extra": n.Extra,
		"properties": n.Properties, "instance_info": n.InstanceInfo, "instance_uuid": n.InstanceUUID,
		"resource_class": n.ResourceClass, "owner": n.Owner, "lessee": n.Lessee, "description": n.Description,
		"conductor_group": n.ConductorGroup, "protected": n.Protected, "protected_reason": n.ProtectedReason,
		"retired": n.Retired, "retired_reason": n.RetiredReason, "automated_clean": n.AutomatedClean,
		"network_data": n.NetworkData, "maintenance": n.Maintenance, "maintenance_reason": n.MaintReason, "shard": n.Shard,
		"boot_interface": n.Interfaces["boot"], "deploy_interface": n.Interfaces["deploy"], "power_interface": n.Interfaces["power"],
		"management_interface": n.Interfaces["management"], "network_interface": n.Interfaces["network"],
		"console_interface": n.Interfaces["console"], "inspect_interface": n.Interfaces["inspect"],
		"raid_interface": n.Interfaces["raid"], "rescue_interface": n.Interfaces["rescue"], "storage_interface": n.Interfaces["storage"],
		"vendor_interface": n.Interfaces["vendor"], "bios_interface": n.Interfaces["bios"]})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

var nodeReadOnly = []string{"uuid", "id", "provision_state", "target_provision_state", "power_state", "target_power_state",
	"created_at", "updated_at", "provision_updated_at", "last_error", "fault", "console_enabled", "driver_internal_info",
	"links", "ports", "states", "traits", "conductor", "allocation_uuid", "reservation", "clean_step", "deploy_step"}

func (ir *Ironic) patchNode(w http.ResponseWriter, r *http.Request) error {
	var ops []map[string]any
	if err := core.DecodeJSON(r, &ops); err != nil {
		return err
	}
	var out map[string]any
	err := ir.state.Update(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		doc := nodeDoc(n)
		if err := jsonPatch(doc, ops, nodeReadOnly); err != nil {
			return err
		}
		cp := *n
		cp.Interfaces = map[string]string{}
		for k, v := range n.Interfaces {
			cp.Interfaces[k] = v
		}
		if err := applyFields(&cp, doc); err != nil {
			return err
		}
		if n.InstanceUUID != nil && cp.InstanceUUID != nil && *n.InstanceUUID != *cp.InstanceUUID {
			return core.Conflict("Node %s is associated with instance %s.", n.UUID, *n.InstanceUUID)
		}
		if cp.Name != nil && (n.Name == nil || *cp.Name != *n.Name) {
			if o := s.find(*cp.Name); o != nil && o.UUID != n.UUID {
				return core.Conflict("A node with name %s already exists.", *cp.Name)
			}
		}
		if cp.Driver != n.Driver && n.provisionState(ir.env.Now()) == "active" {
			return core.Conflict("Node %s can not update the driver while the node is in the active state.", n.UUID)
		}
		now := ir.env.Now()
		cp.UpdatedAt = &now
		*n = cp
		out = ir.nodeBody(r, n, true, nil)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (ir *Ironic) deleteNode(w http.ResponseWriter, r *http.Request) error {
	err := ir.state.Update(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		if n.InstanceUUID != nil {
			return core.Conflict("Node %s is associated with instance %s.", n.UUID, *n.InstanceUUID)
		}
		st := n.provisionState(ir.env.Now())
		if !slices.Contains([]string{"available", "manageable", "enroll", "adopt failed", "inspect failed", "clean failed"}, st) || n.Provision.Pending(ir.env.Now()) {
			return core.Conflict("Can not delete node \"%s\" while it is in provision state \"%s\". Valid provision states to start deletion are: available, manageable, enroll, adopt failed, inspect failed, clean failed", n.UUID, st)
		}
		if n.Protected {
			return core.BadRequest("Node %s is protected and cannot be undeployed, rebuilt or deleted", n.UUID)
		}
		delete(s.Nodes, n.UUID)
		for id, p := range s.Ports {
			if p.NodeUUID == n.UUID {
				delete(s.Ports, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listPortgroups: the emulator has no port groups (bonds); the list is
// empty, for a node that exists.
func (ir *Ironic) listPortgroups(w http.ResponseWriter, r *http.Request) error {
	ref := firstNonEmpty(r.PathValue("node"), r.URL.Query().Get("node"))
	if ref != "" {
		if err := ir.state.View(func(s *state) error {
			if s.find(ref) == nil {
				return nodeNotFound(ref)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"portgroups": []any{}})
	return nil
}
