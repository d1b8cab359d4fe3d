package heat

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// request is a stack create or update body (InstantiationData), checked.
type request struct {
	name        string
	raw         map[string]any // the template
	t           *tmpl
	env         map[string]any
	files       map[string]string
	userParams  map[string]any
	params      map[string]any
	tags        []string
	timeout     *int
	rollbackOff *bool
}

var stackNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$`)

// templateOf is InstantiationData.template: inline (object or text) or
// from template_url; nil when absent and allowed (PATCH).
func templateOf(ctx context.Context, body map[string]any, optional bool) (map[string]any, error) {
	var text string
	switch {
	case body["template"] != nil:
		if m, ok := body["template"].(map[string]any); ok {
			if len(jsonStr(m)) > maxTemplateSize {
				return nil, heatErr(400, "RequestLimitExceeded", "Request limit exceeded: Template size (%d bytes) exceeds maximum allowed size (%d bytes).", len(jsonStr(m)), maxTemplateSize)
			}
			return m, nil
		}
		s, ok := body["template"].(string)
		if !ok {
			return nil, heatErr(400, "HTTPBadRequest", "Template not in valid format: The template is not a JSON object or YAML mapping.")
		}
		text = s
	case body["template_url"] != nil:
		u, _ := body["template_url"].(string)
		t, err := fetchURL(ctx, u)
		if err != nil {
			return nil, heatErr(400, "HTTPBadRequest", "Could not retrieve template: %s", err.Error())
		}
		text = t
	default:
		if optional {
			return nil, nil
		}
		return nil, heatErr(400, "HTTPBadRequest", "No template specified")
	}
	if len(text) > maxTemplateSize {
		return nil, heatErr(400, "RequestLimitExceeded", "Request limit exceeded: Template size (%d bytes) exceeds maximum allowed size (%d bytes).", len(text), maxTemplateSize)
	}
	m, err := parseDocument(text)
	if err == nil {
		_, hot := m["heat_template_version"]
		_, cfn := m["AWSTemplateFormatVersion"]
		_, heatV := m["HeatTemplateFormatVersion"]
		if !hot && !cfn && !heatV {
			err = fmt.Errorf("Template format version not found.")
		}
	}
	if err != nil {
		return nil, heatErr(400, "HTTPBadRequest", "Template not in valid format: %s", err.Error())
	}
	return m, nil
}

// environmentOf merges the environment (object or YAML text), the
// environment files (in order, from files) and the request parameters.
func environmentOf(body map[string]any, files map[string]string) (map[string]any, error) {
	env := map[string]any{}
	merge := func(src map[string]any) error {
		for k, v := range src {
			switch k {
			case "parameters", "parameter_defaults", "resource_registry", "event_sinks", "encrypted_param_names", "parameter_merge_strategies":
			default:
				return heatErr(400, "HTTPBadRequest", "Environment not in valid format: environment has wrong section \"%s\"", k)
			}
			if m, ok := v.(map[string]any); ok {
				dst, _ := env[k].(map[string]any)
				if dst == nil {
					dst = map[string]any{}
				}
				for kk, vv := range m {
					dst[kk] = vv
				}
				env[k] = dst
			} else {
				env[k] = v
			}
		}
		return nil
	}
	if efs, ok := body["environment_files"].([]any); ok && len(efs) > 0 {
		for _, f := range efs {
			name, _ := f.(string)
			text, ok := files[name]
			if !ok {
				return nil, heatErr(400, "HTTPBadRequest", "Environment not in valid format: No content found in the \"files\" section for environment file %s", name)
			}
			m, err := parseDocument(text)
			if err != nil {
				return nil, heatErr(400, "HTTPBadRequest", "Environment not in valid format: %s", err.Error())
			}
			if err := merge(m); err != nil {
				return nil, err
			}
		}
	} else if e := body["environment"]; e != nil {
		var m map[string]any
		switch x := e.(type) {
		case map[string]any:
			m = x
		case string:
			pm, err := parseDocument(x)
			if err != nil {
				return nil, heatErr(400, "HTTPBadRequest", "Environment not in valid format: %s", err.Error())
			}
			m = pm
		default:
			return nil, heatErr(400, "HTTPBadRequest", "Environment not in valid format: The environment is not a valid YAML mapping data type.")
		}
		if err := merge(m); err != nil {
			return nil, err
		}
	}
	if p, ok := body["parameters"].(map[string]any); ok {
		if err := merge(map[string]any{"parameters": p}); err != nil {
			return nil, err
		}
	} else if body["parameters"] != nil {
		return nil, heatErr(400, "HTTPBadRequest", "The server could not comply with the request since it is either malformed or otherwise incorrect.")
	}
	return env, nil
}

func filesOf(body map[string]any) (map[string]string, error) {
	out := map[string]string{}
	switch x := body["files"].(type) {
	case nil:
	case map[string]any:
		for k, v := range x {
			s, ok := v.(string)
			if !ok {
				s = jsonStr(v)
			}
			out[k] = s
		}
	default:
		return nil, heatErr(400, "HTTPBadRequest", "The server could not comply with the request since it is either malformed or otherwise incorrect.")
	}
	return out, nil
}

// resourceTypeOf applies the environment's resource_registry aliases.
func resourceTypeOf(env map[string]any, typ string) string {
	reg, _ := env["resource_registry"].(map[string]any)
	for i := 0; i < 10; i++ {
		to, ok := reg[typ].(string)
		if !ok || to == typ {
			break
		}
		typ = to
	}
	return typ
}

// prepare checks a whole stack request the way create_stack validates
// before anything is made.
func (h *Heat) prepare(r *http.Request, stackName, stackID string, raw map[string]any, env map[string]any,
	files map[string]string, userParams map[string]any) (*tmpl, map[string]any, error) {
	t, err := checkTemplate(raw)
	if err != nil {
		return nil, nil, err
	}
	// Aliases from resource_registry.
	for _, name := range t.resOrder {
		d := t.resources[name]
		d.typ = resourceTypeOf(env, d.typ)
	}
	for _, name := range t.resOrder {
		d := t.resources[name]
		rt := registry[d.typ]
		if rt == nil {
			return nil, nil, heatErr(404, "EntityNotFound", "The Resource Type (%s) could not be found.", d.typ)
		}
		if rt.service != "" && !h.hasService(rt.service) {
			client := serviceClients[rt.service]
			return nil, nil, heatErr(400, "ResourceTypeUnavailable", "HEAT-E99001 Service %s is not available for resource type %s, reason: %s %s endpoint is not in service catalog.",
				client, d.typ, client, rt.service)
		}
	}
	ev := &evalCtx{t: t}
	for _, name := range t.resOrder {
		d := t.resources[name]
		if err := ev.checkReferences(d.props, name+".Properties"); err != nil {
			return nil, nil, err
		}
		if err := ev.checkReferences(d.metadata, name+".Metadata"); err != nil {
			return nil, nil, err
		}
	}
	for _, name := range t.outOrder {
		if err := ev.checkReferences(t.outputs[name].value, "outputs."+name+".value"); err != nil {
			return nil, nil, err
		}
	}
	if err := checkCycles(t, ev); err != nil {
		return nil, nil, err
	}
	user, _ := env["parameters"].(map[string]any)
	if user == nil {
		user = userParams
	}
	defaults, _ := env["parameter_defaults"].(map[string]any)
	params, err := resolveParams(t, user, defaults)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range t.paramOrder {
		if _, dup := t.resources[name]; dup {
			return nil, nil, validationFailed("Duplicate names %s", pyStr([]any{name}))
		}
	}
	// Properties, with what other resources will give unknown yet.
	all := pseudoParams(stackName, stackID, core.IdentityOf(r).ProjectID)
	for k, v := range params {
		all[k] = v
	}
	ev = &evalCtx{t: t, params: all, files: files,
		ref:  func(name string) (any, error) { return name, nil },
		attr: func(name, attr string) (any, error) { return nil, nil }}
	for _, name := range t.resOrder {
		d := t.resources[name]
		if d.condition != nil {
			ok, err := ev.condition(d.condition)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				continue
			}
		}
		rt := registry[d.typ]
		if rt.props == nil {
			continue
		}
		deferred := map[string]bool{}
		for k, v := range d.props {
			refs := map[string]bool{}
			ev.references(v, refs)
			if len(refs) > 0 {
				deferred[k] = true
			}
		}
		resolved, err := ev.eval(d.props)
		if err != nil {
			return nil, nil, err
		}
		m, _ := resolved.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		if _, err := checkProps(rt, name, m, deferred); err != nil {
			return nil, nil, err
		}
	}
	for _, name := range t.outOrder {
		if _, err := ev.eval(t.outputs[name].value); err != nil {
			if ae, ok := core.AsAPIError(err); ok && ae.Type == "StackValidationFailed" {
				return nil, nil, validationFailed("Output validation error: outputs.%s.value: %s", name, ae.Message)
			}
			return nil, nil, err
		}
	}
	return t, params, nil
}

// checkCycles finds a circular dependency (CircularDependencyException).
func checkCycles(t *tmpl, ev *evalCtx) error {
	deps := map[string][]string{}
	for _, name := range t.resOrder {
		d := t.resources[name]
		refs := map[string]bool{}
		ev.references(d.props, refs)
		ev.references(d.metadata, refs)
		for _, x := range d.dependsOn {
			refs[x] = true
		}
		for x := range refs {
			deps[name] = append(deps[name], x)
		}
		sort.Strings(deps[name])
	}
	state := map[string]int{}
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return heatErr(400, "CircularDependencyException", "Circular Dependency Found: %s", strings.Join(append(path, n), " -> "))
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		return nil
	}
	for _, name := range t.resOrder {
		if err := visit(name, nil); err != nil {
			return err
		}
	}
	return nil
}

// serviceClients are the Heat client plugin names by catalog type.
var serviceClients = map[string]string{"compute": "nova", "network": "neutron", "volumev3": "cinder",
	"block-storage": "cinder", "object-store": "swift", "load-balancer": "octavia", "dns": "designate",
	"messaging": "zaqar", "database": "trove", "image": "glance", "sharev2": "manila", "shared-file-system": "manila"}

func (h *Heat) hasService(typ string) bool {
	for _, s := range h.env.Specs() {
		if s.Type == typ {
			return true
		}
	}
	// Cinder is in the catalog as block-storage and volumev3.
	if typ == "volumev3" {
		return h.hasService("block-storage")
	}
	return false
}

// parseRequest reads the parts of a create or update body.
func (h *Heat) parseRequest(r *http.Request, body map[string]any, optionalTemplate bool) (*request, error) {
	req := &request{}
	raw, err := templateOf(r.Context(), body, optionalTemplate)
	if err != nil {
		return nil, err
	}
	req.raw = raw
	if req.files, err = filesOf(body); err != nil {
		return nil, err
	}
	if req.env, err = environmentOf(body, req.files); err != nil {
		return nil, err
	}
	req.userParams, _ = req.env["parameters"].(map[string]any)
	if req.userParams == nil {
		req.userParams = map[string]any{}
	}
	switch tg := body["tags"].(type) {
	case string:
		if tg != "" {
			req.tags = strings.Split(tg, ",")
		}
	case []any:
		for _, x := range tg {
			req.tags = append(req.tags, pyStr(x))
		}
	}
	if v, ok := body["timeout_mins"]; ok && v != nil {
		n, err := strToNum(v)
		if err != nil {
			return nil, heatErr(400, "HTTPBadRequest", "Only integer is acceptable by 'timeout_mins'.")
		}
		i := int(toInt(n))
		req.timeout = &i
	}
	if v, ok := body["disable_rollback"]; ok && v != nil {
		b, err := boolParam("disable_rollback", pyStr(v))
		if err != nil {
			return nil, err
		}
		req.rollbackOff = &b
	}
	return req, nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

// ------------------------------------------------------------------ create

func (h *Heat) createStack(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	name, ok := body["stack_name"].(string)
	if !ok {
		return heatErr(400, "HTTPBadRequest", "No stack name specified")
	}
	req, err := h.parseRequest(r, body, false)
	if err != nil {
		return err
	}
	if !stackNameRE.MatchString(name) {
		return validationFailed("Invalid stack name %s must contain only alphanumeric or \"_-.\" characters, must start with alpha and must be 255 characters or less.", name)
	}
	id := core.NewUUID()
	t, params, err := h.prepare(r, name, id, req.raw, req.env, req.files, req.userParams)
	if err != nil {
		return err
	}
	h.engine.Lock()
	defer h.engine.Unlock()
	caller := core.IdentityOf(r)
	now := h.env.Now()
	st := &Stack{ID: id, Name: name, ProjectID: caller.ProjectID, Owner: caller.UserName, Host: r.Host, Template: req.raw,
		Files: req.files, Environment: req.env, Params: params, Tags: req.tags, TimeoutMins: req.timeout,
		DisableRollback: true, Action: "CREATE", Status: "IN_PROGRESS", Reason: "Stack CREATE started",
		Created: now, NotBefore: now.Add(h.env.Delay), Resources: map[string]*Resource{}, Phase: "create"}
	if req.rollbackOff != nil {
		st.DisableRollback = *req.rollbackOff
	}
	for _, rn := range t.resOrder {
		st.Resources[rn] = &Resource{UUID: core.NewUUID(), Name: rn, Type: t.resources[rn].typ, Action: "INIT",
			Status: "COMPLETE", Created: now, Description: t.resources[rn].description}
	}
	st.Events = []*Event{{ID: core.NewUUID(), Resource: name, PhysicalID: id, Type: "OS::Heat::Stack",
		Action: "CREATE", Status: "IN_PROGRESS", Reason: "Stack CREATE started", Time: now}}
	err = h.state.Update(func(s *state) error {
		for _, o := range s.Stacks {
			if o.Name == name && o.ProjectID == st.ProjectID && o.Deleted == nil {
				return heatErr(409, "StackExists", "The Stack (%s) already exists.", name)
			}
		}
		s.purgeDeleted(now)
		s.Stacks[id] = st
		return nil
	})
	if err != nil {
		return err
	}
	h.setIdentity(id, caller)
	h.advanceLocked(caller)
	core.WriteJSON(w, http.StatusCreated, map[string]any{"stack": map[string]any{"id": id,
		"links": []map[string]string{{"href": stackURL(r, st), "rel": "self"}}}})
	return nil
}

// purgeDeleted forgets stacks deleted more than an hour ago.
func (s *state) purgeDeleted(now time.Time) {
	for id, st := range s.Stacks {
		if st.Deleted != nil && now.Sub(*st.Deleted) > time.Hour {
			delete(s.Stacks, id)
		}
	}
}

// previewStack is POST /stacks/preview: the stack as it would be, with
// its resources, nothing made.
func (h *Heat) previewStack(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	name, ok := body["stack_name"].(string)
	if !ok {
		return heatErr(400, "HTTPBadRequest", "No stack name specified")
	}
	req, err := h.parseRequest(r, body, false)
	if err != nil {
		return err
	}
	id := "None"
	t, params, err := h.prepare(r, name, id, req.raw, req.env, req.files, req.userParams)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	now := h.env.Now()
	st := &Stack{ID: id, Name: name, ProjectID: caller.ProjectID, Owner: caller.UserName, Template: req.raw,
		Params: params, Created: now, DisableRollback: true}
	b := h.stackSummary(r, st, false)
	delete(b, "stack_status")
	delete(b, "stack_status_reason")
	b["parameters"] = paramStrings(st)
	b["template_description"] = t.description
	b["capabilities"], b["notification_topics"] = []any{}, []any{}
	b["disable_rollback"] = true
	b["timeout_mins"] = nil
	var resources []any
	for _, rn := range t.resOrder {
		d := t.resources[rn]
		resources = append(resources, map[string]any{"resource_name": rn, "logical_resource_id": rn,
			"resource_type": d.typ, "physical_resource_id": "", "resource_action": "INIT", "resource_status": "COMPLETE",
			"resource_status_reason": "", "description": d.description, "required_by": []any{},
			"creation_time": core.FormatTime(now, core.TimeSeconds), "updated_time": core.FormatTime(now, core.TimeSeconds),
			"metadata": map[string]any{}, "properties": d.props, "stack_name": name,
			"resource_identity": map[string]any{"stack_name": name, "stack_id": id, "tenant": caller.ProjectID, "path": "/resources/" + rn}})
	}
	if resources == nil {
		resources = []any{}
	}
	b["resources"] = resources
	core.WriteJSON(w, http.StatusOK, map[string]any{"stack": b})
	return nil
}

// ------------------------------------------------------------------ update

func (h *Heat) updateStack(w http.ResponseWriter, r *http.Request) error {
	patch := r.Method == http.MethodPatch
	var body map[string]any
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	h.engine.Lock()
	defer h.engine.Unlock()
	h.advanceLocked(core.IdentityOf(r))
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	if st.Deleted != nil {
		return stackNotFound(st.Name)
	}
	if st.inProgress() {
		return heatErr(409, "ActionInProgress", "Stack %s already has an action (%s) in progress.", st.Name, st.Action)
	}
	req, err := h.parseRequest(r, body, patch)
	if err != nil {
		return err
	}
	if req.raw == nil {
		req.raw = st.Template
	}
	user := req.userParams
	files := req.files
	env := req.env
	if patch {
		merged := map[string]any{}
		if old, ok := st.Environment["parameters"].(map[string]any); ok {
			for k, v := range old {
				merged[k] = v
			}
		}
		if cl, ok := body["clear_parameters"].([]any); ok {
			for _, k := range cl {
				delete(merged, pyStr(k))
			}
		}
		for k, v := range user {
			merged[k] = v
		}
		user = merged
		newEnv := map[string]any{}
		for k, v := range st.Environment {
			newEnv[k] = v
		}
		for k, v := range env {
			newEnv[k] = v
		}
		env = newEnv
		if len(files) == 0 {
			files = st.Files
		}
	}
	env["parameters"] = user
	t, params, err := h.prepare(r, st.Name, st.ID, req.raw, env, files, user)
	if err != nil {
		return err
	}
	if old, err := st.template(); err == nil {
		var changed []string
		for _, name := range t.paramOrder {
			if p := old.params[name]; p != nil && p.immutable && jsonStr(st.Params[name]) != jsonStr(params[name]) {
				changed = append(changed, name)
			}
		}
		if len(changed) > 0 {
			return heatErr(400, "ImmutableParameterModified", "The following parameters are immutable and may not be updated: %s", strings.Join(changed, ", "))
		}
	}
	now := h.env.Now()
	err = h.state.Update(func(s *state) error {
		cur := s.Stacks[st.ID]
		cur.Template, cur.Files, cur.Environment, cur.Params = req.raw, files, env, params
		if req.tags != nil || !patch {
			cur.Tags = req.tags
		}
		if req.timeout != nil {
			cur.TimeoutMins = req.timeout
		}
		if req.rollbackOff != nil {
			cur.DisableRollback = *req.rollbackOff
		}
		cur.Updated = &now
		cur.NotBefore = now.Add(h.env.Delay)
		// Failed resources are made again; what they left is deleted.
		for _, rn := range sortedKeys(cur.Resources) {
			if res := cur.Resources[rn]; res.Status == "FAILED" {
				if res.PhysicalID != "" {
					cur.Old = append(cur.Old, res)
				}
				delete(cur.Resources, rn)
			}
		}
		cur.Phase = "update"
		cur.Failure = ""
		cur.Action, cur.Status, cur.Reason = "UPDATE", "IN_PROGRESS", "Stack UPDATE started"
		cur.Events = append(cur.Events, &Event{ID: core.NewUUID(), Resource: cur.Name, PhysicalID: cur.ID,
			Type: "OS::Heat::Stack", Action: "UPDATE", Status: "IN_PROGRESS", Reason: "Stack UPDATE started", Time: now})
		return nil
	})
	if err != nil {
		return err
	}
	h.setIdentity(st.ID, core.IdentityOf(r))
	h.advanceLocked(core.IdentityOf(r))
	accepted(w)
	return nil
}

// accepted is WebOb's HTTPAccepted as JSON.
func accepted(w http.ResponseWriter) {
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"code": "202 Accepted", "message": "The request is accepted for processing.", "title": "Accepted"})
}

// ------------------------------------------------------------------ delete

func (h *Heat) deleteStack(w http.ResponseWriter, r *http.Request) error {
	h.engine.Lock()
	defer h.engine.Unlock()
	h.advanceLocked(core.IdentityOf(r))
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	if st.Deleted != nil {
		return stackNotFound(st.Name)
	}
	if st.Action == "DELETE" && st.Status == "IN_PROGRESS" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	now := h.env.Now()
	err = h.state.Update(func(s *state) error {
		cur := s.Stacks[st.ID]
		cur.Phase = "delete"
		cur.NotBefore = now.Add(h.env.Delay)
		cur.Action, cur.Status, cur.Reason = "DELETE", "IN_PROGRESS", "Stack DELETE started"
		for _, res := range cur.Resources {
			res.Waiting = res.Waiting && res.Action == "DELETE"
		}
		cur.Events = append(cur.Events, &Event{ID: core.NewUUID(), Resource: cur.Name, PhysicalID: cur.ID,
			Type: "OS::Heat::Stack", Action: "DELETE", Status: "IN_PROGRESS", Reason: "Stack DELETE started", Time: now})
		return nil
	})
	if err != nil {
		return err
	}
	h.setIdentity(st.ID, core.IdentityOf(r))
	h.advanceLocked(core.IdentityOf(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ------------------------------------------------------------------ actions

var stackActions = []string{"suspend", "resume", "check", "cancel_update", "cancel_without_rollback"}

func (h *Heat) action(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if len(body) < 1 {
		return heatErr(400, "HTTPBadRequest", "No action specified")
	}
	if len(body) > 1 {
		return heatErr(400, "HTTPBadRequest", "Multiple actions specified")
	}
	var ac string
	for k := range body {
		ac = k
	}
	if !containsStr(stackActions, ac) {
		return heatErr(400, "HTTPBadRequest", "Invalid action %s specified", ac)
	}
	h.engine.Lock()
	defer h.engine.Unlock()
	h.advanceLocked(core.IdentityOf(r))
	st, err := h.stackOf(r)
	if err != nil {
		return err
	}
	if st.Deleted != nil {
		return stackNotFound(st.Name)
	}
	now := h.env.Now()
	if ac == "cancel_update" || ac == "cancel_without_rollback" {
		if st.Action != "UPDATE" || st.Status != "IN_PROGRESS" {
			return heatErr(400, "NotSupported", "Cancelling update when stack is %s_%s is not supported.", st.Action, st.Status)
		}
		err := h.state.Update(func(s *state) error {
			cur := s.Stacks[st.ID]
			cur.Phase = ""
			cur.Action, cur.Status, cur.Reason = "UPDATE", "FAILED", "Stack UPDATE cancelled"
			cur.Events = append(cur.Events, &Event{ID: core.NewUUID(), Resource: cur.Name, PhysicalID: cur.ID,
				Type: "OS::Heat::Stack", Action: "UPDATE", Status: "FAILED", Reason: "Stack UPDATE cancelled", Time: now})
			return nil
		})
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if st.inProgress() {
		return heatErr(409, "ActionInProgress", "Stack %s already has an action (%s) in progress.", st.Name, st.Action)
	}
	action := strings.ToUpper(ac)
	err = h.state.Update(func(s *state) error {
		cur := s.Stacks[st.ID]
		cur.Action, cur.Status, cur.Reason = action, "IN_PROGRESS", "Stack "+action+" started"
		cur.Phase = "action"
		cur.NotBefore = now.Add(h.env.Delay)
		cur.Events = append(cur.Events, &Event{ID: core.NewUUID(), Resource: cur.Name, PhysicalID: cur.ID,
			Type: "OS::Heat::Stack", Action: action, Status: "IN_PROGRESS", Reason: "Stack " + action + " started", Time: now})
		for _, rn := range sortedKeys(cur.Resources) {
			res := cur.Resources[rn]
			if res.Action == "INIT" {
				continue
			}
			for _, status := range []string{"IN_PROGRESS", "COMPLETE"} {
				res.Action, res.Status, res.Reason = action, status, "state changed"
				cur.Events = append(cur.Events, &Event{ID: core.NewUUID(), Resource: res.Name, PhysicalID: res.PhysicalID,
					Type: res.Type, Action: action, Status: status, Reason: "state changed", Time: now})
			}
			t := now
			res.Updated = &t
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.setIdentity(st.ID, core.IdentityOf(r))
	h.advanceLocked(core.IdentityOf(r))
	w.WriteHeader(http.StatusOK)
	return nil
}

// ----------------------------------------------------------------- validate

var paramAPITypes = map[string]string{"string": "String", "number": "Number", "comma_delimited_list": "CommaDelimitedList",
	"json": "Json", "boolean": "Boolean"}

func (h *Heat) validate(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	raw, err := templateOf(r.Context(), body, false)
	if err != nil {
		return err
	}
	files, err := filesOf(body)
	if err != nil {
		return err
	}
	env, err := environmentOf(body, files)
	if err != nil {
		return err
	}
	t, err := checkTemplate(raw)
	if err != nil {
		if ae, ok := core.AsAPIError(err); ok && ae.Status == 400 {
			core.WriteJSON(w, http.StatusOK, map[string]any{"Error": ae.Message})
			return nil
		}
		return err
	}
	user, _ := env["parameters"].(map[string]any)
	// Parameter values are not required to validate a template.
	withDefaults := map[string]any{}
	for k, v := range user {
		withDefaults[k] = v
	}
	for _, name := range t.paramOrder {
		if _, ok := withDefaults[name]; !ok && !t.params[name].hasDefault {
			withDefaults[name] = placeholder(t.params[name].typ)
		}
	}
	if _, _, err := h.prepare(r, "dummy", "None", raw, map[string]any{"parameters": withDefaults,
		"parameter_defaults": env["parameter_defaults"], "resource_registry": env["resource_registry"]}, files, withDefaults); err != nil {
		if ae, ok := core.AsAPIError(err); ok && ae.Status == 400 && ae.Type != "HTTPBadRequest" {
			core.WriteJSON(w, http.StatusOK, map[string]any{"Error": ae.Message})
			return nil
		}
		return err
	}
	params := map[string]any{}
	for _, name := range t.paramOrder {
		p := t.params[name]
		pb := map[string]any{"Type": paramAPITypes[p.typ], "Description": p.description, "NoEcho": "false", "Label": name}
		if p.label != "" {
			pb["Label"] = p.label
		}
		if p.hidden {
			pb["NoEcho"] = "true"
		}
		if p.hasDefault {
			pb["Default"] = p.def
		}
		if v, ok := user[name]; ok && v != nil {
			pb["Value"] = v
		}
		var descs []string
		for _, c := range p.constraints {
			if d, ok := c["description"].(string); ok {
				descs = append(descs, d)
			}
			if l, ok := c["length"].(map[string]any); ok {
				setIf(pb, l, "min", "MinLength")
				setIf(pb, l, "max", "MaxLength")
			}
			if rg, ok := c["range"].(map[string]any); ok {
				setIf(pb, rg, "min", "MinValue")
				setIf(pb, rg, "max", "MaxValue")
			}
			if a, ok := c["allowed_values"]; ok {
				pb["AllowedValues"] = a
			}
			if a, ok := c["allowed_pattern"]; ok {
				pb["AllowedPattern"] = a
			}
			if cc, ok := c["custom_constraint"]; ok {
				pb["CustomConstraint"] = cc
			}
		}
		if len(descs) > 0 {
			pb["ConstraintDescription"] = strings.Join(descs, "\n")
		}
		params[name] = pb
	}
	out := map[string]any{"Description": t.description, "Parameters": params, "Environment": fullEnvironment(env)}
	if pg, ok := raw["parameter_groups"]; ok {
		out["ParameterGroups"] = pg
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// placeholder is a value of a parameter's type, for validating without
// the parameter given.
func placeholder(typ string) any {
	switch typ {
	case "number":
		return int64(0)
	case "boolean":
		return "false"
	case "comma_delimited_list":
		return ""
	case "json":
		return "{}"
	}
	return ""
}

// ------------------------------------------------------------ type listings

func (h *Heat) listResourceTypes(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	withDesc := q.Get("with_description") == "true" || q.Get("with_description") == "True"
	nameFilter := q.Get("name")
	var names []string
	for n, rt := range registry {
		if rt.service != "" && !h.hasService(rt.service) {
			continue
		}
		if nameFilter != "" && !strings.Contains(n, nameFilter) {
			if ok, _ := regexp.MatchString(nameFilter, n); !ok {
				continue
			}
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if withDesc {
		out := []map[string]any{}
		for _, n := range names {
			out = append(out, map[string]any{"resource_type": n, "description": "The emulator's " + n + "."})
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"resource_types": out})
		return nil
	}
	if names == nil {
		names = []string{}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"resource_types": names})
	return nil
}

func propSchema(p *prop) map[string]any {
	typ := p.typ
	if typ == "any" {
		typ = "string"
	}
	b := map[string]any{"type": typ, "required": p.required, "update_allowed": p.update, "immutable": false,
		"description": p.desc}
	if p.def != nil {
		b["default"] = p.def
	}
	if len(p.allowed) > 0 {
		b["constraints"] = []any{map[string]any{"allowed_values": p.allowed}}
	}
	if p.schema != nil {
		sub := map[string]any{}
		for k, sp := range p.schema {
			sub[k] = propSchema(sp)
		}
		b["schema"] = sub
	}
	if p.items != nil {
		b["schema"] = map[string]any{"*": propSchema(p.items)}
	}
	return b
}

func (h *Heat) typeOf(r *http.Request) (*rtype, error) {
	name := r.PathValue("type_name")
	rt := registry[name]
	if rt == nil {
		return nil, heatErr(404, "EntityNotFound", "The Resource Type (%s) could not be found.", name)
	}
	return rt, nil
}

func (h *Heat) resourceSchema(w http.ResponseWriter, r *http.Request) error {
	rt, err := h.typeOf(r)
	if err != nil {
		return err
	}
	props := map[string]any{}
	for k, p := range rt.props {
		props[k] = propSchema(p)
	}
	attrs := map[string]any{}
	for _, a := range rt.attrs {
		attrs[a] = map[string]any{"description": a}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"resource_type": rt.name, "properties": props, "attributes": attrs,
		"support_status": map[string]any{"status": "SUPPORTED", "version": nil, "message": nil, "previous_status": nil},
		"description":    "The emulator's " + rt.name + "."})
	return nil
}

func (h *Heat) resourceTemplate(w http.ResponseWriter, r *http.Request) error {
	rt, err := h.typeOf(r)
	if err != nil {
		return err
	}
	params, props, outputs := map[string]any{}, map[string]any{}, map[string]any{}
	for k, p := range rt.props {
		typ := map[string]string{"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
			"list": "comma_delimited_list", "map": "json", "any": "string"}[p.typ]
		pd := map[string]any{"type": typ, "description": p.desc}
		if p.def != nil {
			pd["default"] = p.def
		}
		params[k] = pd
		props[k] = map[string]any{"get_param": k}
	}
	for _, a := range rt.attrs {
		outputs[a] = map[string]any{"description": a, "value": map[string]any{"get_attr": []any{"resource", a}}}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"heat_template_version": "2016-10-14",
		"description": "Initial template of " + rt.name, "parameters": params,
		"resources": map[string]any{"resource": map[string]any{"type": rt.name, "properties": props}}, "outputs": outputs})
	return nil
}

func (h *Heat) templateVersions(w http.ResponseWriter, r *http.Request) error {
	var names []string
	for k := range hotVersions {
		names = append(names, k)
	}
	sort.Strings(names)
	out := []map[string]any{}
	for _, n := range names {
		alias := []string{}
		for k, v := range hotVersions {
			if v == hotVersions[n] && k != n {
				alias = append(alias, "heat_template_version."+k)
			}
		}
		out = append(out, map[string]any{"version": "heat_template_version." + n, "type": "hot", "aliases": alias})
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"template_versions": out})
	return nil
}

func (h *Heat) templateFunctions(w http.ResponseWriter, r *http.Request) error {
	v := strings.TrimPrefix(r.PathValue("version"), "heat_template_version.")
	date, ok := hotVersions[v]
	if !ok {
		return heatErr(404, "NotFound", "Template with version %s not found", r.PathValue("version"))
	}
	table := functionSince
	if r.URL.Query().Get("with_condition_func") == "true" {
		table = conditionFunctions
	}
	var names []string
	for k, since := range table {
		if date >= since {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := []map[string]any{}
	for _, n := range names {
		out = append(out, map[string]any{"functions": n, "description": "The " + n + " function."})
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"template_functions": out})
	return nil
}

func (h *Heat) buildInfo(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"api": map[string]any{"revision": "19.0.0"},
		"engine": map[string]any{"revision": "19.0.0"}})
	return nil
}
