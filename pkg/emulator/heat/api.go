package heat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service: heat/api/openstack/v1/__init__.py.
func (h *Heat) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", h.versions, core.Public)
	rt.Handle("GET /v1/{$}", h.versions, core.Public)
	p := "/v1/{tenant_id}"
	t := func(pattern string, fn core.HandlerFunc) { rt.Handle(pattern, h.tenant(fn)) }
	t("POST "+p+"/validate", h.validate)
	t("GET "+p+"/resource_types", h.listResourceTypes)
	t("GET "+p+"/resource_types/{type_name}", h.resourceSchema)
	t("GET "+p+"/resource_types/{type_name}/template", h.resourceTemplate)
	t("GET "+p+"/template_versions", h.templateVersions)
	t("GET "+p+"/template_versions/{version}/functions", h.templateFunctions)
	t("GET "+p+"/build_info", h.buildInfo)
	t("GET "+p+"/stacks", h.listStacks)
	t("GET "+p+"/stacks/detail", h.listStacks)
	t("POST "+p+"/stacks", h.createStack)
	t("POST "+p+"/stacks/preview", h.previewStack)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		t(m+" "+p+"/stacks/{stack_name}", h.lookup)
	}
	for _, sub := range []string{"resources", "events", "template", "actions", "environment", "files"} {
		t("GET "+p+"/stacks/{stack_name}/"+sub, h.lookup)
		if sub == "resources" || sub == "events" || sub == "template" || sub == "actions" {
			t("POST "+p+"/stacks/{stack_name}/"+sub, h.lookup)
		}
	}
	s := p + "/stacks/{stack_name}/{stack_id}"
	t("GET "+s, h.showStack)
	t("PUT "+s, h.updateStack)
	t("PATCH "+s, h.updateStack)
	t("DELETE "+s, h.deleteStack)
	t("GET "+s+"/template", h.stackTemplate)
	t("GET "+s+"/environment", h.stackEnvironment)
	t("GET "+s+"/files", h.stackFiles)
	t("GET "+s+"/outputs", h.listOutputs)
	t("GET "+s+"/outputs/{output_key}", h.showOutput)
	t("DELETE "+s+"/abandon", h.abandon)
	t("GET "+s+"/export", h.abandon)
	t("GET "+s+"/snapshots", h.listSnapshots)
	t("POST "+s+"/snapshots", h.snapshot)
	t("POST "+s+"/actions", h.action)
	t("GET "+s+"/resources", h.listResources)
	t("GET "+s+"/resources/{resource_name}", h.showResource)
	t("GET "+s+"/resources/{resource_name}/metadata", h.resourceMetadata)
	t("PATCH "+s+"/resources/{resource_name}", h.markUnhealthy)
	t("POST "+s+"/resources/{resource_name}/signal", h.signal)
	t("GET "+s+"/events", h.listEvents)
	t("GET "+s+"/resources/{resource_name}/events", h.listEvents)
	t("GET "+s+"/resources/{resource_name}/events/{event_id}", h.showEvent)
}

// versions is heat/api/versions.py: 300 Multiple Choices.
func (h *Heat) versions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []any{map[string]any{
		"id": "v1.0", "status": "CURRENT", "links": []map[string]string{{"rel": "self", "href": core.ServiceURL(r) + "/v1/"}}}}})
	return nil
}

// tenant is util.registered_policy_enforce: the tenant in the path must
// be the token's project (admins excepted), else WebOb's 403.
func (h *Heat) tenant(fn core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := core.IdentityOf(r)
		if r.PathValue("tenant_id") != id.ProjectID && !id.IsAdmin() {
			return core.Forbidden("")
		}
		return fn(w, r)
	}
}

// apiRoot is the v1 root with the tenant: http://host/heat-api/v1/<tenant>.
func apiRoot(r *http.Request) string {
	return core.ServiceURL(r) + "/v1/" + r.PathValue("tenant_id")
}

func stackURL(r *http.Request, st *Stack) string {
	return apiRoot(r) + "/stacks/" + url.PathEscape(st.Name) + "/" + st.ID
}

// ----------------------------------------------------------------- lookup

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// identify is identify_stack: by id (deleted stacks too), else by the
// name of a live stack of the caller's project.
func (h *Heat) identify(r *http.Request, nameOrID string) (*Stack, error) {
	id := core.IdentityOf(r)
	var found *Stack
	_ = h.state.View(func(s *state) error {
		if uuidRE.MatchString(nameOrID) {
			if st := s.Stacks[strings.ToLower(nameOrID)]; st != nil && (id.IsAdmin() || st.ProjectID == id.ProjectID) {
				found = st
				return nil
			}
		}
		for _, st := range s.Stacks {
			if st.Name == nameOrID && st.Deleted == nil && st.ProjectID == id.ProjectID {
				found = st
			}
		}
		return nil
	})
	if found == nil {
		return nil, stackNotFound(nameOrID)
	}
	return found, nil
}

// lookup redirects to the stack's canonical URL (302), the rest of the
// path and the query kept.
func (h *Heat) lookup(w http.ResponseWriter, r *http.Request) error {
	st, err := h.identify(r, r.PathValue("stack_name"))
	if err != nil {
		return err
	}
	loc := stackURL(r, st)
	base := core.FullPath(r)
	if i := strings.Index(base, "/stacks/"); i >= 0 {
		rest := strings.TrimPrefix(base[i+len("/stacks/"):], r.PathValue("stack_name"))
		if rest != "" {
			loc += rest
		}
	}
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	core.WriteJSON(w, http.StatusFound, map[string]any{"code": 302, "title": "Found",
		"explanation": "The resource was found at " + loc + "; you should be redirected automatically.", "error": map[string]any{}})
	return nil
}

// stackOf is _get_stack: the stack of a canonical path, deleted ones
// included; another project's stack does not exist for a member.
func (h *Heat) stackOf(r *http.Request) (*Stack, error) {
	id := core.IdentityOf(r)
	name, sid := r.PathValue("stack_name"), strings.ToLower(r.PathValue("stack_id"))
	var found *Stack
	_ = h.state.View(func(s *state) error {
		st := s.Stacks[sid]
		if st != nil && (id.IsAdmin() || st.ProjectID == id.ProjectID) {
			c, err := copyStack(st)
			if err == nil {
				found = c
			}
		}
		return nil
	})
	if found == nil {
		return nil, stackNotFound(name)
	}
	if found.Name != name {
		return nil, stackNotFound(name)
	}
	return found, nil
}

// liveStack is stackOf after the engine moved the stack on.
func (h *Heat) liveStack(r *http.Request) (*Stack, error) {
	h.advance(core.IdentityOf(r))
	return h.stackOf(r)
}

// ---------------------------------------------------------------- bodies

func (h *Heat) stackSummary(r *http.Request, st *Stack, withProject bool) map[string]any {
	b := map[string]any{
		"id": st.ID, "links": []map[string]string{{"href": stackURL(r, st), "rel": "self"}},
		"stack_name": st.Name, "description": templateDescription(st), "stack_status": st.Action + "_" + st.Status,
		"stack_status_reason": st.Reason, "creation_time": core.FormatTime(st.Created, core.TimeSeconds),
		"deletion_time": formatTime(st.Deleted), "updated_time": formatTime(st.Updated), "stack_owner": st.Owner,
		"parent": nil, "stack_user_project_id": nil, "tags": tagsOrNil(st.Tags),
	}
	if withProject {
		b["project"] = st.ProjectID
	}
	return b
}

func tagsOrNil(t []string) any {
	if len(t) == 0 {
		return nil
	}
	return t
}

func templateDescription(st *Stack) string {
	if d, ok := st.Template["description"]; ok {
		return pyStr(d)
	}
	return "No description"
}

// paramStrings is stack.parameters.map(str): every parameter as text,
// hidden ones as ******, with the pseudo parameters.
func paramStrings(st *Stack) map[string]any {
	out := map[string]any{}
	for k, v := range pseudoParams(st.Name, st.ID, st.ProjectID) {
		out[k] = v
	}
	t, err := st.template()
	for k, v := range st.Params {
		var p *paramDef
		if err == nil {
			p = t.params[k]
		}
		switch {
		case p != nil && p.hidden:
			out[k] = "******"
		case p != nil && p.typ == "comma_delimited_list":
			var parts []string
			for _, e := range v.([]any) {
				parts = append(parts, pyStr(e))
			}
			out[k] = strings.Join(parts, ",")
		case p != nil && p.typ == "json":
			out[k] = jsonStr(v)
		default:
			out[k] = pyStr(v)
		}
	}
	return out
}

// outputs resolves the stack's outputs (format_stack_outputs).
func (h *Heat) outputs(r *http.Request, st *Stack) []map[string]any {
	t, err := st.template()
	if err != nil {
		return []map[string]any{}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	e := &engine{h: h, st: st, t: t, c: &rctx{h: h, ctx: ctx, id: core.IdentityOf(r), stack: st}}
	ev := e.evaluator()
	out := []map[string]any{}
	for _, name := range t.outOrder {
		o := t.outputs[name]
		item := map[string]any{"output_key": name, "description": o.description}
		var val any
		var oerr error
		if o.condition != nil {
			if ok, err := ev.condition(o.condition); err != nil || !ok {
				oerr = err
				item["output_value"] = nil
				if oerr != nil {
					item["output_error"] = oerr.Error()
				}
				out = append(out, item)
				continue
			}
		}
		refs := map[string]bool{}
		ev.references(o.value, refs)
		for res := range refs {
			rr := st.Resources[res]
			if rr == nil || rr.PhysicalID == "" {
				continue
			}
			if rr.Status == "FAILED" {
				oerr = fmt.Errorf("Resource %s failed: %s", rr.Name, rr.Reason)
			}
		}
		if oerr == nil {
			val, oerr = ev.eval(o.value)
		}
		if oerr != nil {
			msg := oerr.Error()
			if ae, ok := core.AsAPIError(oerr); ok {
				msg = ae.Message
			}
			item["output_error"] = msg
			val = nil
		}
		item["output_value"] = val
		out = append(out, item)
	}
	return out
}

func (h *Heat) stackBody(r *http.Request, st *Stack, resolve bool) map[string]any {
	b := h.stackSummary(r, st, false)
	b["capabilities"] = []any{}
	b["notification_topics"] = []any{}
	b["parameters"] = paramStrings(st)
	b["template_description"] = templateDescription(st)
	b["disable_rollback"] = st.DisableRollback
	b["timeout_mins"] = nil
	if st.TimeoutMins != nil {
		b["timeout_mins"] = *st.TimeoutMins
	}
	if resolve && !(st.Action == "DELETE" && st.Status == "COMPLETE") {
		b["outputs"] = h.outputs(r, st)
	}
	return b
}

// ------------------------------------------------------------------ reads

func (h *Heat) showStack(w http.ResponseWriter, r *http.Request) error {
	st, err := h.liveStack(r)
	if err != nil {
		return err
	}
	resolve := true
	if v := r.URL.Query().Get("resolve_outputs"); v != "" {
		b, err := boolParam("resolve_outputs", v)
		if err != nil {
			return err
		}
		resolve = b
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"stack": h.stackBody(r, st, resolve)})
	return nil
}

// boolParam is param_utils.extract_bool.
func boolParam(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "t", "yes", "y", "on":
		return true, nil
	case "false", "0", "f", "no", "n", "off":
		return false, nil
	}
	return false, heatErr(400, "HTTPBadRequest", "Unrecognized value '%s' for '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", v, name)
}

func (h *Heat) listStacks(w http.ResponseWriter, r *http.Request) error {
	h.advance(core.IdentityOf(r))
	q := r.URL.Query()
	id := core.IdentityOf(r)
	global := false
	if v := q.Get("global_tenant"); v != "" {
		b, err := boolParam("global_tenant", v)
		if err != nil {
			return err
		}
		if b && !id.IsAdmin() {
			return core.Forbidden("")
		}
		global = b
	}
	showDeleted := false
	if v := q.Get("show_deleted"); v != "" {
		b, err := boolParam("show_deleted", v)
		if err != nil {
			return err
		}
		showDeleted = b
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return heatErr(400, "HTTPBadRequest", "Only integer is acceptable by '%s'.", "limit")
		}
		limit = n
	}
	var stacks []*Stack
	_ = h.state.View(func(s *state) error {
		for _, st := range s.Stacks {
			if (st.Deleted != nil && !showDeleted) || (!global && st.ProjectID != r.PathValue("tenant_id")) {
				continue
			}
			if !matchStack(q, st) {
				continue
			}
			c, err := copyStack(st)
			if err == nil {
				stacks = append(stacks, c)
			}
		}
		return nil
	})
	dir := q.Get("sort_dir")
	if dir == "" {
		dir = "desc"
	}
	if dir != "asc" && dir != "desc" {
		return heatErr(400, "Invalid", "Data supplied was not valid: Unknown sort direction, must be 'desc' or 'asc'")
	}
	key := func(st *Stack) string { return st.Created.Format(time.RFC3339Nano) }
	switch k := q.Get("sort_keys"); k {
	case "", "created_at", "creation_time":
	case "stack_name", "name":
		key = func(st *Stack) string { return st.Name }
	case "stack_status", "status":
		key = func(st *Stack) string { return st.Status }
	case "updated_at", "updated_time":
		key = func(st *Stack) string { return formatTimeStr(st.Updated) }
	default:
		return heatErr(400, "Invalid", "Data supplied was not valid: Unsupported sort key '%s'", k)
	}
	sort.SliceStable(stacks, func(i, j int) bool {
		a, b := key(stacks[i])+stacks[i].ID, key(stacks[j])+stacks[j].ID
		if dir == "desc" {
			return a > b
		}
		return a < b
	})
	if m := q.Get("marker"); m != "" {
		for i, st := range stacks {
			if st.ID == m {
				stacks = stacks[i+1:]
				break
			}
		}
	}
	more := false
	if limit > 0 && len(stacks) > limit {
		stacks, more = stacks[:limit], true
	}
	out := []map[string]any{}
	for _, st := range stacks {
		out = append(out, h.stackSummary(r, st, global))
	}
	body := map[string]any{"stacks": out}
	if more || (limit > 0 && len(out) == limit) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("marker", stacks[len(stacks)-1].ID)
		body["links"] = []map[string]string{{"href": apiRoot(r) + "/stacks?" + nq.Encode(), "rel": "next"}}
	}
	if v := q.Get("with_count"); v != "" {
		if b, _ := boolParam("with_count", v); b {
			body["count"] = len(out)
		}
	}
	core.WriteJSON(w, http.StatusOK, body)
	return nil
}

func formatTimeStr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// matchStack applies the list filters (each may be given several times).
func matchStack(q url.Values, st *Stack) bool {
	fields := map[string]string{"name": st.Name, "stack_name": st.Name, "status": st.Status,
		"stack_status": st.Action + "_" + st.Status, "action": st.Action, "id": st.ID,
		"tenant": st.ProjectID, "username": st.Owner, "stack_owner": st.Owner}
	for k, v := range fields {
		want, ok := q[k]
		if !ok {
			continue
		}
		match := false
		for _, w := range want {
			if w == v || (k == "status" && w == st.Action+"_"+st.Status) {
				match = true
			}
		}
		if !match {
			return false
		}
	}
	has := map[string]bool{}
	for _, t := range st.Tags {
		has[t] = true
	}
	split := func(k string) []string {
		if v := q.Get(k); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	if t := split("tags"); t != nil {
		for _, x := range t {
			if !has[x] {
				return false
			}
		}
	}
	if t := split("tags_any"); t != nil {
		found := false
		for _, x := range t {
			found = found || has[x]
		}
		if !found {
			return false
		}
	}
	if t := split("not_tags"); t != nil {
		all := true
		for _, x := range t {
			all = all && has[x]
		}
		if all {
			return false
		}
	}
	if t := split("not_tags_any"); t != nil {
		for _, x := range t {
			if has[x] {
				return false
			}
		}
	}
	return true
}

func (h *Heat) stackTemplate(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, st.Template)
	return nil
}

func (h *Heat) stackEnvironment(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, fullEnvironment(st.Environment))
	return nil
}

func (h *Heat) stackFiles(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	files := st.Files
	if files == nil {
		files = map[string]string{}
	}
	core.WriteJSON(w, http.StatusOK, files)
	return nil
}

// fullEnvironment is environment_format.default_for_missing.
func fullEnvironment(env map[string]any) map[string]any {
	out := map[string]any{"parameters": map[string]any{}, "parameter_defaults": map[string]any{},
		"resource_registry": map[string]any{"resources": map[string]any{}}, "encrypted_param_names": []any{},
		"event_sinks": []any{}, "parameter_merge_strategies": map[string]any{}}
	for k, v := range env {
		out[k] = v
	}
	return out
}

func (h *Heat) listOutputs(w http.ResponseWriter, r *http.Request) error {
	st, err := h.liveStack(r)
	if err != nil {
		return err
	}
	t, err := st.template()
	out := []map[string]any{}
	if err == nil {
		for _, name := range t.outOrder {
			out = append(out, map[string]any{"output_key": name, "description": t.outputs[name].description})
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"outputs": out})
	return nil
}

func (h *Heat) showOutput(w http.ResponseWriter, r *http.Request) error {
	st, err := h.liveStack(r)
	if err != nil {
		return err
	}
	key := r.PathValue("output_key")
	for _, o := range h.outputs(r, st) {
		if o["output_key"] == key {
			core.WriteJSON(w, http.StatusOK, map[string]any{"output": o})
			return nil
		}
	}
	return heatErr(404, "NotFound", "Specified output key %s not found.", key)
}

// abandon and export: Heat's default configuration disables both.
func (h *Heat) abandon(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.stackOf(r); err != nil {
		return err
	}
	return heatErr(400, "NotSupported", "Stack Abandon is not supported.")
}

func (h *Heat) listSnapshots(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.stackOf(r); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"snapshots": []any{}})
	return nil
}

func (h *Heat) snapshot(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.stackOf(r); err != nil {
		return err
	}
	return heatErr(400, "NotSupported", "Stack snapshots are not supported by the emulator.")
}

// --------------------------------------------------------------- resources

// requiredBy lists, for each resource, the resources that need it.
func requiredBy(st *Stack) map[string][]string {
	out := map[string][]string{}
	t, err := st.template()
	if err != nil {
		return out
	}
	e := &engine{st: st, t: t}
	ev := &evalCtx{t: t}
	_ = e
	for name, d := range t.resources {
		refs := map[string]bool{}
		ev.references(d.props, refs)
		ev.references(d.metadata, refs)
		for _, x := range d.dependsOn {
			refs[x] = true
		}
		for x := range refs {
			if x != name {
				out[x] = append(out[x], name)
			}
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

func resourceURL(r *http.Request, st *Stack, name string) string {
	return stackURL(r, st) + "/resources/" + url.PathEscape(name)
}

func (h *Heat) resourceBody(r *http.Request, st *Stack, res *Resource, req []string) map[string]any {
	upd := res.Created
	if res.Updated != nil {
		upd = *res.Updated
	}
	if req == nil {
		req = []string{}
	}
	return map[string]any{
		"resource_name": res.Name, "logical_resource_id": res.Name, "physical_resource_id": res.PhysicalID,
		"resource_status": res.Action + "_" + res.Status, "resource_status_reason": res.Reason,
		"resource_type": res.Type, "creation_time": core.FormatTime(res.Created, core.TimeSeconds),
		"updated_time": core.FormatTime(upd, core.TimeSeconds), "required_by": req,
		"links": []map[string]string{{"href": resourceURL(r, st, res.Name), "rel": "self"}, {"href": stackURL(r, st), "rel": "stack"}},
	}
}

// allResources are a stack's resources, the ones an update is replacing
// included.
func allResources(st *Stack) []*Resource {
	var out []*Resource
	for _, name := range sortedKeys(st.Resources) {
		out = append(out, st.Resources[name])
	}
	out = append(out, st.Old...)
	return out
}

func (h *Heat) listResources(w http.ResponseWriter, r *http.Request) error {
	st, err := h.liveStack(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	req := requiredBy(st)
	detail := false
	if v := q.Get("with_detail"); v != "" {
		if detail, err = boolParam("with_detail", v); err != nil {
			return err
		}
	}
	out := []map[string]any{}
	for _, res := range allResources(st) {
		if !matchResource(q, res) {
			continue
		}
		b := h.resourceBody(r, st, res, req[res.Name])
		if detail {
			h.resourceDetail(r, st, res, b)
		}
		out = append(out, b)
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"resources": out})
	return nil
}

func matchResource(q url.Values, res *Resource) bool {
	fields := map[string]string{"name": res.Name, "resource_name": res.Name, "type": res.Type, "resource_type": res.Type,
		"status": res.Status, "action": res.Action, "id": res.UUID, "physical_resource_id": res.PhysicalID}
	for k, v := range fields {
		if want, ok := q[k]; ok {
			match := false
			for _, w := range want {
				match = match || w == v || (k == "status" && w == res.Action+"_"+res.Status)
			}
			if !match {
				return false
			}
		}
	}
	return true
}

// resourceDetail adds what a resource's show has: description and every
// attribute, resolved live.
func (h *Heat) resourceDetail(r *http.Request, st *Stack, res *Resource, b map[string]any) {
	b["description"] = res.Description
	attrs := map[string]any{}
	if rt := registry[res.Type]; rt != nil && res.PhysicalID != "" && res.Action != "DELETE" {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		c := &rctx{h: h, ctx: ctx, id: core.IdentityOf(r), stack: st}
		for _, a := range rt.attrs {
			v, err := c.attribute(res, a)
			if err != nil {
				v = nil
			}
			attrs[a] = v
		}
	}
	b["attributes"] = attrs
}

func (h *Heat) findResource(st *Stack, name string) (*Resource, error) {
	if res := st.Resources[name]; res != nil {
		return res, nil
	}
	for _, res := range st.Old {
		if res.Name == name {
			return res, nil
		}
	}
	return nil, heatErr(404, "ResourceNotFound", "The Resource (%s) could not be found in Stack %s.", name, st.Name)
}

func (h *Heat) showResource(w http.ResponseWriter, r *http.Request) error {
	st, err := h.liveStack(r)
	if err != nil {
		return err
	}
	res, err := h.findResource(st, r.PathValue("resource_name"))
	if err != nil {
		return err
	}
	b := h.resourceBody(r, st, res, requiredBy(st)[res.Name])
	h.resourceDetail(r, st, res, b)
	core.WriteJSON(w, http.StatusOK, map[string]any{"resource": b})
	return nil
}

func (h *Heat) resourceMetadata(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	res, err := h.findResource(st, r.PathValue("resource_name"))
	if err != nil {
		return err
	}
	md := map[string]any{}
	if t, err := st.template(); err == nil {
		if d := t.resources[res.Name]; d != nil {
			if m, ok := d.metadata.(map[string]any); ok {
				md = m
			}
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

func (h *Heat) markUnhealthy(w http.ResponseWriter, r *http.Request) error {
	h.engine.Lock()
	defer h.engine.Unlock()
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	var body map[string]any
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	mark, ok := body["mark_unhealthy"].(bool)
	if !ok {
		return heatErr(400, "HTTPBadRequest", "Missing mandatory (mark_unhealthy) key from mark unhealthy request")
	}
	name := r.PathValue("resource_name")
	err = h.state.Update(func(s *state) error {
		cur := s.Stacks[st.ID]
		res := cur.Resources[name]
		if res == nil {
			return heatErr(404, "ResourceNotFound", "The Resource (%s) could not be found in Stack %s.", name, st.Name)
		}
		if mark {
			res.Action, res.Status = "CHECK", "FAILED"
			res.Reason, _ = body["resource_status_reason"].(string)
		} else if res.Status == "FAILED" && res.Action == "CHECK" {
			res.Action, res.Status, res.Reason = "CHECK", "COMPLETE", ""
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Heat) signal(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	res, err := h.findResource(st, r.PathValue("resource_name"))
	if err != nil {
		return err
	}
	return heatErr(400, "ResourceActionNotSupported", "%s does not support signal", res.Type)
}

// ------------------------------------------------------------------ events

func (h *Heat) eventBody(r *http.Request, st *Stack, ev *Event, detail bool) map[string]any {
	self := resourceURL(r, st, ev.Resource) + "/events/" + ev.ID
	b := map[string]any{
		"id": ev.ID, "event_time": core.FormatTime(ev.Time, core.TimeSeconds), "resource_name": ev.Resource,
		"logical_resource_id": ev.Resource, "physical_resource_id": ev.PhysicalID,
		"resource_status": ev.Action + "_" + ev.Status, "resource_status_reason": ev.Reason,
		"links": []map[string]string{{"href": self, "rel": "self"}, {"href": resourceURL(r, st, ev.Resource), "rel": "resource"},
			{"href": stackURL(r, st), "rel": "stack"}},
	}
	if detail {
		b["resource_type"] = ev.Type
		props := ev.Props
		if props == nil {
			props = map[string]any{}
		}
		b["resource_properties"] = props
	}
	return b
}

func (h *Heat) listEvents(w http.ResponseWriter, r *http.Request) error {
	st, err := h.liveStack(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	resName := r.PathValue("resource_name")
	if resName != "" {
		found := false
		for _, ev := range st.Events {
			found = found || ev.Resource == resName
		}
		if !found {
			if _, err := h.findResource(st, resName); err != nil {
				return err
			}
		}
	}
	var evs []*Event
	for _, ev := range st.Events {
		if resName != "" && ev.Resource != resName {
			continue
		}
		if !matchEvent(q, ev) {
			continue
		}
		evs = append(evs, ev)
	}
	dir := q.Get("sort_dir")
	if dir == "" {
		dir = "desc"
	}
	if dir != "asc" && dir != "desc" {
		return heatErr(400, "Invalid", "Data supplied was not valid: Unknown sort direction, must be 'desc' or 'asc'")
	}
	if dir == "desc" {
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
	if m := q.Get("marker"); m != "" {
		for i, ev := range evs {
			if ev.ID == m {
				evs = evs[i+1:]
				break
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return heatErr(400, "HTTPBadRequest", "Only integer is acceptable by '%s'.", "limit")
		}
		if n < len(evs) {
			evs = evs[:n]
		}
	}
	out := []map[string]any{}
	for _, ev := range evs {
		out = append(out, h.eventBody(r, st, ev, false))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

func matchEvent(q url.Values, ev *Event) bool {
	fields := map[string]string{"resource_action": ev.Action, "resource_status": ev.Status,
		"resource_name": ev.Resource, "resource_type": ev.Type, "physical_resource_id": ev.PhysicalID}
	for k, v := range fields {
		if want, ok := q[k]; ok {
			match := false
			for _, w := range want {
				match = match || w == v
			}
			if !match {
				return false
			}
		}
	}
	return true
}

func (h *Heat) showEvent(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("event_id")
	for _, ev := range st.Events {
		if ev.ID == id && ev.Resource == r.PathValue("resource_name") {
			core.WriteJSON(w, http.StatusOK, map[string]any{"event": h.eventBody(r, st, ev, true)})
			return nil
		}
	}
	return heatErr(404, "EntityNotFound", "The Event (%s) could not be found.", id)
}

// ------------------------------------------------------------- utilities

// decodeBody reads a JSON body as Heat's JSONRequestDeserializer: an
// empty body is {}, anything else must be JSON.
func decodeBody(r *http.Request, out *map[string]any) error {
	b, err := core.ReadBody(r, 2*maxTemplateSize)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) == "" {
		*out = map[string]any{}
		return nil
	}
	var v any
	if err := decodeJSON(b, &v); err != nil {
		return heatErr(400, "HTTPBadRequest", "Malformed JSON in request body.")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return heatErr(400, "HTTPBadRequest", "The server could not comply with the request since it is either malformed or otherwise incorrect.")
	}
	*out = m
	return nil
}

// fetchURL is urlfetch.get: http(s) only, at most max_template_size.
func fetchURL(ctx context.Context, u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		scheme := ""
		if pu != nil {
			scheme = pu.Scheme
		}
		return "", fmt.Errorf("Invalid URL scheme %s", scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("Failed to retrieve template: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return "", fmt.Errorf("Failed to retrieve template: %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTemplateSize+1))
	if err != nil {
		return "", fmt.Errorf("Failed to retrieve template: %v", err)
	}
	if len(b) > maxTemplateSize {
		return "", fmt.Errorf("Template exceeds maximum allowed size (%d bytes)", maxTemplateSize)
	}
	return string(b), nil
}

var _ = json.Marshal
