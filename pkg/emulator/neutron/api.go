package neutron

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service.
func (n *Neutron) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", n.versions, core.Public)
	rt.Handle("GET /v2.0/{$}", n.resources)
	rt.Handle("GET /v2.0/extensions", n.listExtensions)
	rt.Handle("GET /v2.0/extensions/{alias}", n.showExtension)
	rt.Handle("GET /v2.0/availability_zones", n.listAZs)

	for _, k := range kinds {
		k := k
		rt.Handle("GET /v2.0/"+k.path, func(w http.ResponseWriter, r *http.Request) error { return n.list(w, r, k) })
		rt.Handle("POST /v2.0/"+k.path, func(w http.ResponseWriter, r *http.Request) error { return n.create(w, r, k) })
		rt.Handle("GET /v2.0/"+k.path+"/{id}", func(w http.ResponseWriter, r *http.Request) error { return n.show(w, r, k) })
		if k.update != nil {
			rt.Handle("PUT /v2.0/"+k.path+"/{id}", func(w http.ResponseWriter, r *http.Request) error { return n.update(w, r, k) })
		}
		rt.Handle("DELETE /v2.0/"+k.path+"/{id}", func(w http.ResponseWriter, r *http.Request) error { return n.delete(w, r, k) })
		if k.tagged {
			rt.Handle("GET /v2.0/"+k.path+"/{id}/tags", func(w http.ResponseWriter, r *http.Request) error { return n.listTags(w, r, k) })
			rt.Handle("PUT /v2.0/"+k.path+"/{id}/tags", func(w http.ResponseWriter, r *http.Request) error { return n.replaceTags(w, r, k) })
			rt.Handle("DELETE /v2.0/"+k.path+"/{id}/tags", func(w http.ResponseWriter, r *http.Request) error { return n.deleteTags(w, r, k) })
			rt.Handle("GET /v2.0/"+k.path+"/{id}/tags/{tag}", func(w http.ResponseWriter, r *http.Request) error { return n.checkTag(w, r, k) })
			rt.Handle("PUT /v2.0/"+k.path+"/{id}/tags/{tag}", func(w http.ResponseWriter, r *http.Request) error { return n.addTag(w, r, k) })
			rt.Handle("DELETE /v2.0/"+k.path+"/{id}/tags/{tag}", func(w http.ResponseWriter, r *http.Request) error { return n.deleteTag(w, r, k) })
		}
	}
	rt.Handle("PUT /v2.0/routers/{id}/add_router_interface", n.addRouterInterface)
	rt.Handle("PUT /v2.0/routers/{id}/remove_router_interface", n.removeRouterInterface)
	rt.Handle("PUT /v2.0/routers/{id}/add_extraroutes", n.addExtraRoutes)
	rt.Handle("PUT /v2.0/routers/{id}/remove_extraroutes", n.removeExtraRoutes)

	rt.Handle("GET /v2.0/quotas", n.listQuotas)
	rt.Handle("GET /v2.0/quotas/project", n.quotaProject)
	rt.Handle("GET /v2.0/quotas/tenant", n.quotaProject)
	rt.Handle("GET /v2.0/quotas/{project_id}", n.showQuota)
	rt.Handle("PUT /v2.0/quotas/{project_id}", n.updateQuota)
	rt.Handle("DELETE /v2.0/quotas/{project_id}", n.deleteQuota)
	rt.Handle("GET /v2.0/quotas/{project_id}/default", n.defaultQuota)
	rt.Handle("GET /v2.0/quotas/{project_id}/details", n.quotaDetails)
}

// versions is Neutron's root document (200, not 300).
func (n *Neutron) versions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": []map[string]any{{
		"id": "v2.0", "status": "CURRENT",
		"links": []map[string]string{{"rel": "self", "href": core.ServiceURL(r) + "/v2.0/"}}}}})
	return nil
}

// resources is the v2.0 root: the core resources and their collections.
func (n *Neutron) resources(w http.ResponseWriter, r *http.Request) error {
	var out []map[string]any
	for _, c := range [][2]string{{"network", "networks"}, {"subnet", "subnets"}, {"subnetpool", "subnetpools"}, {"port", "ports"}} {
		out = append(out, map[string]any{"name": c[0], "collection": c[1],
			"links": []map[string]string{{"rel": "self", "href": core.ServiceURL(r) + "/v2.0/" + c[1]}}})
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"resources": out})
	return nil
}

// extension is one entry of GET /v2.0/extensions, as neutron-lib's API
// definitions describe them.
type extension struct{ Alias, Name, Description, Updated string }

var extensions = []extension{
	{"allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs", "2013-07-23T10:00:00-00:00"},
	{"address-scope", "Address scope", "Address scopes extension.", "2015-07-26T10:00:00-00:00"},
	{"availability_zone", "Availability Zone", "The availability zone extension.", "2015-01-01T10:00:00-00:00"},
	{"network_availability_zone", "Network Availability Zone", "Availability zone support for network.", "2015-01-01T10:00:00-00:00"},
	{"router_availability_zone", "Router Availability Zone", "Availability zone support for router.", "2015-01-01T10:00:00-00:00"},
	{"binding", "Port Binding", "Expose port bindings of a virtual port to external application", "2014-02-03T10:00:00-00:00"},
	{"default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default.", "2016-02-18T18:00:00-00:00"},
	{"empty-string-filtering", "Empty String Filtering Extension", "Allow filtering by attributes with empty string value", "2018-05-01T10:00:00-00:00"},
	{"external-net", "Neutron external network", "Adds external network attribute to network resource.", "2013-01-14T10:00:00-00:00"},
	{"extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router", "2013-02-01T10:00:00-00:00"},
	{"extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes", "2019-07-10T00:00:00+00:00"},
	{"filter-validation", "Filter parameters validation", "Provides validation on filter parameters.", "2018-07-04T10:00:00-00:00"},
	{"fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource", "2018-04-09T10:00:00-00:00"},
	{"ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway", "2013-03-28T10:00:00-00:00"},
	{"ip-substring-filtering", "IP address substring filtering", "Provides IP address substring filtering when listing ports", "2017-11-28T09:00:00-00:00"},
	{"ip_allocation", "IP Allocation", "IP allocation extension.", "2016-06-10T23:00:00-00:00"},
	{"net-mtu", "Network MTU", "Provides MTU attribute for a network resource.", "2015-03-25T10:00:00-00:00"},
	{"net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource.", "2017-07-12T00:00:00-00:00"},
	{"pagination", "Pagination support", "Extension that indicates that pagination is enabled.", "2016-06-12T00:00:00-00:00"},
	{"port-security", "Port Security", "Provides port security", "2012-07-23T10:00:00-00:00"},
	{"project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled.", "2016-09-09T09:09:09-09:09"},
	{"provider", "Provider Network", "Expose mapping of virtual networks to physical networks", "2012-09-07T10:00:00-00:00"},
	{"quotas", "Quota management support", "Expose functions for quotas management per project", "2012-07-29T10:00:00-00:00"},
	{"quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project", "2017-02-10T10:00:00-00:00"},
	{"rbac-policies", "RBAC Policies", "Allows creation and modification of policies that control tenant access to resources.", "2015-06-17T12:15:12-00:00"},
	{"rbac-address-scope", "Add address_scope type to RBAC", "Add address_scope type to RBAC", "2020-02-12T00:00:00-00:00"},
	{"rbac-security-groups", "Add security_group type to network RBAC", "Add security_group type to network RBAC", "2019-02-14T00:00:00-00:00"},
	{"rbac-subnetpool", "Add subnetpool type to RBAC", "Add subnetpool type to RBAC", "2020-02-05T00:00:00-00:00"},
	{"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.", "2012-07-20T10:00:00-00:00"},
	{"security-group", "security-group", "The security groups extension.", "2012-10-05T10:00:00-00:00"},
	{"sorting", "Sorting support", "Extension that indicates that sorting is enabled.", "2016-06-12T00:00:00-00:00"},
	{"standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes", "2016-02-10T10:00:00-00:00"},
	{"standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources.", "2016-04-11T10:00:00-00:00"},
	{"standard-attr-tag", "Tag support for resources with standard attribute: subnet, router, network, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute.", "2017-01-01T00:00:00-00:00"},
	{"standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.", "2016-09-12T10:00:00-00:00"},
	{"stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not", "2019-11-26T09:00:00-00:00"},
	{"subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool", "2015-03-30T10:00:00-00:00"},
	{"subnet-service-types", "Subnet service types", "Provides ability to set the subnet service_types field", "2016-03-15T18:00:00-00:00"},
	{"tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation", "Allow to tag ports during bulk creation", "2019-12-29T19:00:00-00:00"},
}

func (e extension) body() map[string]any {
	return map[string]any{"alias": e.Alias, "name": e.Name, "description": e.Description, "updated": e.Updated, "links": []any{}}
}

func (n *Neutron) listExtensions(w http.ResponseWriter, r *http.Request) error {
	out := make([]map[string]any, 0, len(extensions))
	for _, e := range extensions {
		out = append(out, e.body())
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"extensions": out})
	return nil
}

func (n *Neutron) showExtension(w http.ResponseWriter, r *http.Request) error {
	alias := r.PathValue("alias")
	for _, e := range extensions {
		if e.Alias == alias {
			core.WriteJSON(w, http.StatusOK, map[string]any{"extension": e.body()})
			return nil
		}
	}
	// pecan.abort(404, detail=...): str() of the webob error is its detail.
	return errf(http.StatusNotFound, "HTTPNotFound", "Extension with alias %s does not exist", alias)
}

func (n *Neutron) listAZs(w http.ResponseWriter, r *http.Request) error {
	var out []map[string]any
	for _, res := range []string{"network", "router"} {
		out = append(out, map[string]any{"name": AvailabilityZone, "resource": res, "state": "available"})
	}
	q := r.URL.Query()
	var kept []map[string]any
	for _, az := range out {
		if core.MatchFilters(q, map[string]string{"name": az["name"].(string), "resource": az["resource"].(string), "state": "available"}) {
			kept = append(kept, az)
		}
	}
	if kept == nil {
		kept = []map[string]any{}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"availability_zones": kept})
	return nil
}

// Errors.

// writeError is Neutron's shape: {"NeutronError": {"type", "message",
// "detail"}}. An error without a type is a webob one: HTTPNotFound,
// HTTPBadRequest, ... as Neutron names them.
func writeError(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	t := e.Type
	if t == "" {
		t = "HTTP" + strings.ReplaceAll(http.StatusText(e.Status), " ", "")
		if e.Status == http.StatusRequestEntityTooLarge {
			t = "HTTPRequestEntityTooLarge"
		}
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	core.WriteJSON(w, e.Status, map[string]any{"NeutronError": map[string]any{"type": t, "message": e.Message, "detail": ""}})
}

// errf builds a typed Neutron error.
func errf(status int, typ, format string, args ...any) *core.APIError {
	return core.Errorf(status, format, args...).WithType(typ)
}

// badRequest is webob's HTTPBadRequest, which the API layer raises.
func badRequest(format string, args ...any) *core.APIError {
	return errf(http.StatusBadRequest, "HTTPBadRequest", format, args...)
}

// invalidInput is neutron-lib's InvalidInput (400).
func invalidInput(format string, args ...any) *core.APIError {
	return errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: %s.", fmt.Sprintf(format, args...))
}

// badResource is neutron-lib's BadRequest: "Bad <resource> request: ...".
func badResource(resource, format string, args ...any) *core.APIError {
	return errf(http.StatusBadRequest, "BadRequest", "Bad %s request: %s.", resource, fmt.Sprintf(format, args...))
}

// policyRefused is oslo.policy's PolicyNotAuthorized for an action.
func policyRefused(rule string) *core.APIError {
	return errf(http.StatusForbidden, "PolicyNotAuthorized", "%s is disallowed by policy", rule)
}

// policyAttr is the refusal of an attribute rule within an action.
func policyAttr(action, attr string) *core.APIError {
	return policyRefused(fmt.Sprintf("(rule:%s and rule:%s:%s)", action, action, attr))
}

// hiddenNotFound is what Neutron answers when a policy refusal would
// reveal a resource the caller may not see.
func hiddenNotFound() *core.APIError {
	return errf(http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
}

// pyStr renders a JSON value as Python's str() does in Neutron's messages.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, pyRepr(k)+": "+pyRepr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// pyRepr is Python's repr() of a JSON value.
func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return pyStr(v)
}
