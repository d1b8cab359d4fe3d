package trove

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service. Paths are trove/common/api.py's and
// the mysql and mgmt extensions', under /v1.0/{tenant_id}.
func (t *Trove) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", t.versions, core.Public)
	// /v1.0/ and /v1.0/{tenant_id} need a token and fail Trove's
	// TenantBasedAuth, which wants /{tenant_id}/something.
	rt.Handle("GET /v1.0", t.noTenant)
	rt.Handle("GET /v1.0/{$}", t.noTenant)
	rt.Handle("GET /v1.0/{tenant_id}", t.noTenant)
	rt.Handle("GET /v1.0/{tenant_id}/{$}", t.noTenant)

	h := func(pattern string, fn core.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		rt.Handle(method+" /v1.0/{tenant_id}"+path, t.scoped(fn))
	}
	h("GET /datastores", t.listDatastores)
	h("GET /datastores/{datastore}", t.showDatastore)
	// /datastores/{datastore}/versions and /datastores/versions/{uuid}
	// overlap (Go's mux refuses both): one route, dispatched as Routes
	// (the Python one) matches them, version_index first.
	h("GET /datastores/{a}/{b}", t.datastoreSub)
	h("GET /datastores/{datastore}/versions/{version}", t.showVersion)
	h("GET /datastores/{datastore}/versions/{version}/flavors", t.versionFlavors)
	h("GET /datastores/{datastore}/versions/{version}/volume-types", t.versionVolumeTypes)
	h("GET /flavors", t.listFlavors)
	h("GET /flavors/{flavor_id}", t.showFlavor)
	h("GET /limits", t.limits)

	h("GET /instances", t.listInstances)
	h("GET /instances/detail", t.listInstancesDetail)
	h("POST /instances", t.createInstance)
	h("GET /instances/{id}", t.showInstance)
	h("PUT /instances/{id}", t.updateInstance)
	h("PATCH /instances/{id}", t.updateInstance)
	h("DELETE /instances/{id}", t.deleteInstance)
	h("POST /instances/{id}/action", t.instanceAction)
	h("GET /instances/{id}/backups", t.instanceBackups)
	h("GET /instances/{id}/configuration", t.instanceConfiguration)

	h("GET /instances/{id}/databases", t.listDatabases)
	h("POST /instances/{id}/databases", t.createDatabases)
	h("DELETE /instances/{id}/databases/{db}", t.deleteDatabase)
	h("GET /instances/{id}/users", t.listUsers)
	h("POST /instances/{id}/users", t.createUsers)
	h("PUT /instances/{id}/users", t.changePasswords)
	h("GET /instances/{id}/users/{user}", t.showUser)
	h("PUT /instances/{id}/users/{user}", t.updateUser)
	h("DELETE /instances/{id}/users/{user}", t.deleteUser)
	h("GET /instances/{id}/users/{user}/databases", t.userAccess)
	h("PUT /instances/{id}/users/{user}/databases", t.grantAccess)
	h("DELETE /instances/{id}/users/{user}/databases/{db}", t.revokeAccess)
	h("GET /instances/{id}/root", t.rootShow)
	h("POST /instances/{id}/root", t.rootEnable)
	h("DELETE /instances/{id}/root", t.rootDisable)

	h("GET /mgmt/instances", t.mgmtInstances)
	h("GET /mgmt/quotas/{project}", t.showQuotas)
	h("PUT /mgmt/quotas/{project}", t.updateQuotas)
}

// scoped is Trove's TenantBasedAuth: the tenant in the path must be the
// token's project, for everyone (admins included).
func (t *Trove) scoped(h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := core.IdentityOf(r)
		if r.PathValue("tenant_id") != id.ProjectID {
			return core.Forbidden("User with tenant id %s cannot access this resource.", id.ProjectID)
		}
		return h(w, r)
	}
}

func (t *Trove) noTenant(w http.ResponseWriter, r *http.Request) error {
	return core.Forbidden("User with tenant id %s cannot access this resource.", core.IdentityOf(r).ProjectID)
}

// versions is trove/versions.py's index at the root.
func (t *Trove) versions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": []map[string]any{{
		"id": "v1.0", "status": "CURRENT", "updated": "2012-08-01T00:00:00Z",
		"links": []map[string]any{{"rel": "self", "href": core.ServiceURL(r) + "/v1.0/"}},
	}}})
	return nil
}

// links is trove/common/views.py's create_links (with the scheme and
// path the client used, so the links work).
func links(r *http.Request, resource, id string) []map[string]string {
	project := core.IdentityOf(r).ProjectID
	return []map[string]string{
		{"href": core.ServiceURL(r) + "/v1.0/" + project + "/" + resource + "/" + id, "rel": "self"},
		{"href": core.ServiceURL(r) + "/" + resource + "/" + id, "rel": "bookmark"},
	}
}

// decodeBody reads a JSON object body ("Malformed request body" else).
func decodeBody(r *http.Request) (map[string]any, error) {
	var body map[string]any
	if err := core.DecodeJSON(r, &body); err != nil {
		return nil, err
	}
	if body == nil {
		return nil, core.BadRequest("Malformed request body")
	}
	return body, nil
}

// validation is the message of Trove's jsonschema check
// (Controller.format_validation_msg).
func validation(path, format string, args ...any) error {
	return core.BadRequest("Validation error: %s %s", path, fmt.Sprintf(format, args...))
}

// pyRepr renders a JSON value as Python's repr (jsonschema's messages).
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// pyList renders names as a Python list of strings.
func pyList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "'" + n + "'"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// nonEmptyString checks apischema's non_empty_string (1..255 characters
// with at least one letter or digit).
func nonEmptyString(path string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", validation(path, "%s is not of type 'string'", pyRepr(v))
	}
	if s == "" {
		return "", validation(path, "%s is too short", pyRepr(v))
	}
	if len([]rune(s)) > 255 {
		return "", validation(path, "%s is too long", pyRepr(v))
	}
	if !strings.ContainsFunc(s, isAlnum) {
		return "", validation(path, "%s does not match '^.*[0-9a-zA-Z]+.*$'", pyRepr(v))
	}
	return s, nil
}

func isAlnum(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

// limits is GET /limits: the absolute limits (the project's quotas) and
// the rate limits of Trove's default configuration.
func (t *Trove) limits(w http.ResponseWriter, r *http.Request) error {
	project := core.IdentityOf(r).ProjectID
	abs := map[string]any{"verb": "ABSOLUTE"}
	_ = t.state.View(func(s *state) error {
		for _, res := range quotaResources {
			abs["max_"+res] = s.Quotas.Limit(project, res)
		}
		return nil
	})
	out := []map[string]any{abs}
	next := core.FormatTime(t.env.Now(), core.TimeSeconds)
	for _, l := range []struct{ verb, uri, regex string }{
		{"POST", "*", ".*"}, {"PUT", "*", ".*"}, {"DELETE", "*", ".*"}, {"GET", "*", ".*"},
		{"POST", "*/mgmt", "^/mgmt"},
	} {
		out = append(out, map[string]any{"verb": l.verb, "uri": l.uri, "regex": l.regex, "value": 200,
			"remaining": 200, "unit": "MINUTE", "nextAvailable": next})
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"limits": out})
	return nil
}

// showQuotas is GET /mgmt/quotas/{project}: a project's own quotas, or
// any project's for an admin.
func (t *Trove) showQuotas(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	project := r.PathValue("project")
	if project != caller.ProjectID && !caller.IsAdmin() {
		return core.Forbidden("Operation not allowed for tenant %s.", caller.ProjectID)
	}
	var out []map[string]any
	now := t.env.Now()
	_ = t.state.View(func(s *state) error {
		used := s.usage(project, now)
		for _, res := range quotaResources {
			out = append(out, map[string]any{"resource": res, "in_use": used[res], "reserved": 0, "limit": s.Quotas.Limit(project, res)})
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out})
	return nil
}

// updateQuotas is PUT /mgmt/quotas/{project} {"quotas": {"instances": 5}}:
// admins only (Trove's admin_context answers others 401).
func (t *Trove) updateQuotas(w http.ResponseWriter, r *http.Request) error {
	if !core.IdentityOf(r).IsAdmin() {
		return core.Errorf(http.StatusUnauthorized, "User does not have admin privileges.")
	}
	project := r.PathValue("project")
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	qs, ok := body["quotas"].(map[string]any)
	if !ok {
		return core.BadRequest("Invalid request body.")
	}
	set := map[string]int{}
	for res, v := range qs {
		if v == nil || res == "xmlns" {
			continue
		}
		f, ok := v.(float64)
		if !ok || f != float64(int(f)) {
			return core.BadRequest("Value could not be converted: %s.", pyRepr(v))
		}
		if f < -1 {
			return core.BadRequest("Quota limit '%d' for '%s' is too small", int(f), res)
		}
		if !contains(quotaResources, res) {
			return core.NotFound("Unknown quota resources %s.", res)
		}
		set[res] = int(f)
	}
	err = t.state.Update(func(s *state) error {
		for res, l := range set {
			s.Quotas.Set(project, res, l)
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := map[string]any{}
	for res, l := range set {
		out[res] = l
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out})
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
