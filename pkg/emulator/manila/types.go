package manila

import (
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// tenantVisibleSpecs are the extra specs non-admins see
// (share_types.get_tenant_visible_extra_specs).
var tenantVisibleSpecs = []string{"driver_handles_share_servers", "snapshot_support", "create_share_from_snapshot_support",
	"revert_to_snapshot_support", "mount_snapshot_support", "replication_type", "availability_zones"}

// inferredOptional are the specs 2.24+ shows non-admins when unset.
var inferredOptional = map[string]string{"snapshot_support": "False", "create_share_from_snapshot_support": "False",
	"revert_to_snapshot_support": "False", "mount_snapshot_support": "False"}

func typeVisible(r *http.Request, t *ShareType) bool {
	id := core.IdentityOf(r)
	return t.IsPublic || id.IsAdmin() || slices.Contains(t.Projects, id.ProjectID)
}

func typeBody(r *http.Request, t *ShareType) map[string]any {
	v := core.MicroversionOf(r)
	admin := core.IdentityOf(r).IsAdmin()
	specs, required := map[string]string{}, map[string]string{}
	for k, val := range t.ExtraSpecs {
		if admin || slices.Contains(tenantVisibleSpecs, k) {
			specs[k] = val
		}
		if k == "driver_handles_share_servers" {
			required[k] = val
		}
	}
	if !admin && v.AtLeast("2.24") {
		for k, val := range inferredOptional {
			if _, ok := specs[k]; !ok {
				specs[k] = val
			}
		}
	}
	b := map[string]any{"id": t.ID, "name": t.Name, "extra_specs": specs, "required_extra_specs": required}
	if v.AtLeast("2.7") {
		b["share_type_access:is_public"] = t.IsPublic
	} else {
		b["os-share-type-access:is_public"] = t.IsPublic
	}
	if v.AtLeast("2.41") {
		b["description"] = t.Description
	}
	if v.AtLeast("2.46") {
		b["is_default"] = t.Name == DefaultTypeName
	}
	return b
}

func (s *state) typeByRef(r *http.Request, ref string) (*ShareType, error) {
	if t := s.Types[ref]; t != nil && typeVisible(r, t) {
		return t, nil
	}
	for _, t := range s.Types {
		if t.Name == ref && typeVisible(r, t) {
			return t, nil
		}
	}
	return nil, core.NotFound("Share type %s could not be found.", ref)
}

func (m *Manila) listTypes(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	caller := core.IdentityOf(r)
	isPublic := strings.ToLower(q.Get("is_public"))
	var specFilter map[string]string
	if s := q.Get("extra_specs"); s != "" {
		if !core.MicroversionOf(r).AtLeast("2.43") {
			return core.BadRequest("Filter by 'extra_specs' is not supported by this microversion. Use 2.43 or greater microversion to be able to use filter search by 'extra_specs.")
		}
		var ok bool
		if specFilter, ok = parseDict(s); !ok {
			return core.BadRequest("Invalid input received: extra_specs must be a dict.")
		}
	}
	return m.state.View(func(s *state) error {
		var types []*ShareType
		for _, t := range s.Types {
			switch {
			case !caller.IsAdmin():
				if !typeVisible(r, t) {
					continue
				}
			case isPublic == "all" || isPublic == "none":
			case isPublic == "false" || isPublic == "0":
				if t.IsPublic {
					continue
				}
			default:
				if !t.IsPublic {
					continue
				}
			}
			match := true
			for k, v := range specFilter {
				match = match && t.ExtraSpecs[k] == v
			}
			if match {
				types = append(types, t)
			}
		}
		sort.Slice(types, func(i, j int) bool { return types[i].Name < types[j].Name })
		list := make([]map[string]any, 0, len(types))
		for _, t := range types {
			list = append(list, typeBody(r, t))
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"share_types": list, "volume_types": list})
		return nil
	})
}

func (m *Manila) showType(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		if t == nil || !typeVisible(r, t) {
			return core.NotFound("Share type not found.")
		}
		b := typeBody(r, t)
		core.WriteJSON(w, http.StatusOK, map[string]any{"share_type": b, "volume_type": b})
		return nil
	})
}

func (m *Manila) defaultType(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		t := s.Types[s.DefaultType]
		if t == nil {
			return core.NotFound("Share type not found")
		}
		b := typeBody(r, t)
		core.WriteJSON(w, http.StatusOK, map[string]any{"share_type": b, "volume_type": b})
		return nil
	})
}

var specKeyRE = regexp.MustCompile(`^[\w\-_:.]+$`)

// checkSpecs validates extra specs as share_types.is_valid_*: keys and
// string values of 1-255 characters.
func checkSpecs(raw any) (map[string]string, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, core.BadRequest("Invalid input received: extra_specs must be a dict.")
	}
	out := map[string]string{}
	for k, v := range m {
		val := strValue(v)
		if !specKeyRE.MatchString(k) || len(k) > 255 || val == "" || len(val) > 255 {
			return nil, core.BadRequest("Invalid input received: Invalid extra_spec: %s: %s.", k, val)
		}
		out[k] = val
	}
	if dhss, ok := out["driver_handles_share_servers"]; ok {
		if _, valid := boolValue(dhss); !valid {
			return nil, core.BadRequest("Invalid share type: Invalid value for driver_handles_share_servers: %s.", dhss)
		}
	}
	return out, nil
}

func (m *Manila) createType(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	key := "share_type"
	in, ok := body[key].(map[string]any)
	if !ok {
		if in, ok = body["volume_type"].(map[string]any); !ok {
			return core.BadRequest("The resource could not be found.")
		}
	}
	name, _ := in["name"].(string)
	if strings.TrimSpace(name) == "" || len(name) > 255 {
		return core.BadRequest("Type name or description is not valid.")
	}
	desc, _, err := optString(in, "description")
	if err != nil {
		return err
	}
	if desc != nil && !core.MicroversionOf(r).AtLeast("2.41") {
		return core.BadRequest("'description' key is not supported by this microversion. Use 2.41 or greater microversion to be able to use 'description' in share type.")
	}
	specs, err := checkSpecs(in["extra_specs"])
	if err != nil {
		return err
	}
	if _, ok := specs["driver_handles_share_servers"]; !ok {
		return core.BadRequest("Invalid share type: Required extra specification driver_handles_share_servers is missing.")
	}
	public := true
	for _, k := range []string{"share_type_access:is_public", "os-share-type-access:is_public"} {
		if raw, ok := in[k]; ok {
			b, valid := boolValue(raw)
			if !valid {
				return core.BadRequest("Invalid value '%s' for is_public. Accepted values: True or False.", strValue(raw))
			}
			public = b
		}
	}
	t := &ShareType{ID: core.NewUUID(), Name: name, Description: desc, IsPublic: public, ExtraSpecs: specs, CreatedAt: m.env.Now()}
	err = m.state.Update(func(s *state) error {
		for _, o := range s.Types {
			if o.Name == name {
				return core.Conflict("Share Type %s already exists.", name)
			}
		}
		s.Types[t.ID] = t
		return nil
	})
	if err != nil {
		return err
	}
	b := typeBody(r, t)
	core.WriteJSON(w, http.StatusOK, map[string]any{"share_type": b, "volume_type": b})
	return nil
}

func (m *Manila) updateType(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	in, ok := body["share_type"].(map[string]any)
	if !ok {
		return core.BadRequest("Malformed request body")
	}
	name, _, err := optString(in, "name")
	if err != nil {
		return err
	}
	desc, hasDesc, err := optString(in, "description")
	if err != nil {
		return err
	}
	var public *bool
	if raw, ok := in["share_type_access:is_public"]; ok {
		b, valid := boolValue(raw)
		if !valid {
			return core.BadRequest("share_type_access:is_public has a non-boolean value.")
		}
		public = &b
	}
	if name != nil && strings.TrimSpace(*name) == "" {
		return core.BadRequest("Share type name cannot be empty.")
	}
	if name == nil && !hasDesc && public == nil {
		return core.BadRequest("Specify share type name, description, share_type_access:is_public or a combination thereof.")
	}
	var out map[string]any
	err = m.state.Update(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		if t == nil {
			return core.NotFound("Share type %s could not be found.", r.PathValue("type_id"))
		}
		if name != nil && *name != t.Name {
			for _, o := range s.Types {
				if o.Name == *name {
					return core.Conflict("Share Type %s already exists.", *name)
				}
			}
			t.Name = *name
		}
		if hasDesc {
			t.Description = desc
		}
		if public != nil {
			t.IsPublic = *public
		}
		out = typeBody(r, t)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"share_type": out, "volume_type": out})
	return nil
}

func (m *Manila) deleteType(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		s.purge(now)
		t := s.Types[r.PathValue("type_id")]
		if t == nil {
			return core.NotFound("The resource could not be found.")
		}
		for _, sh := range s.Shares {
			if sh.TypeID == t.ID {
				return core.BadRequest("Target share type is still in use.")
			}
		}
		delete(s.Types, t.ID)
		if s.DefaultType == t.ID {
			s.DefaultType = ""
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (m *Manila) typeAction(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if len(body) != 1 {
		return core.BadRequest("Malformed request body")
	}
	var name string
	var arg any
	for k, v := range body {
		name, arg = k, v
	}
	if name != "addProjectAccess" && name != "removeProjectAccess" {
		return noSuchAction(name)
	}
	args, _ := arg.(map[string]any)
	project, _ := args["project"].(string)
	if project == "" {
		return core.BadRequest("Malformed request body")
	}
	err = m.state.Update(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		if t == nil {
			return core.NotFound("Share type %s could not be found.", r.PathValue("type_id"))
		}
		if t.IsPublic {
			return core.Conflict("Type access modification is not applicable to public share type.")
		}
		has := slices.Contains(t.Projects, project)
		if name == "addProjectAccess" {
			if has {
				return core.Conflict("Share type access for %s / %s combination already exists.", t.ID, project)
			}
			t.Projects = append(t.Projects, project)
			return nil
		}
		if !has {
			return core.NotFound("Share type access not found for %s / %s combination.", t.ID, project)
		}
		t.Projects = slices.DeleteFunc(t.Projects, func(p string) bool { return p == project })
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (m *Manila) typeAccess(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		if t == nil {
			return core.NotFound("Share type %s could not be found.", r.PathValue("type_id"))
		}
		if t.IsPublic {
			return core.NotFound("Access list not available for public share types.")
		}
		list := []map[string]string{}
		for _, p := range t.Projects {
			list = append(list, map[string]string{"share_type_id": t.ID, "project_id": p})
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"share_type_access": list})
		return nil
	})
}

func (m *Manila) listExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		if t == nil || !typeVisible(r, t) {
			return core.NotFound("Share type %s could not be found.", r.PathValue("type_id"))
		}
		specs := map[string]string{}
		for k, v := range t.ExtraSpecs {
			if core.IdentityOf(r).IsAdmin() || slices.Contains(tenantVisibleSpecs, k) {
				specs[k] = v
			}
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
		return nil
	})
}

func (m *Manila) showExtraSpec(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		key := r.PathValue("key")
		if t == nil || !typeVisible(r, t) {
			return core.NotFound("Share type %s could not be found.", r.PathValue("type_id"))
		}
		v, ok := t.ExtraSpecs[key]
		if !ok || !(core.IdentityOf(r).IsAdmin() || slices.Contains(tenantVisibleSpecs, key)) {
			return core.NotFound("Share Type %s has no extra specs with key %s.", t.ID, key)
		}
		core.WriteJSON(w, http.StatusOK, map[string]string{key: v})
		return nil
	})
}

func (m *Manila) setExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	raw, ok := body["extra_specs"]
	if !ok {
		return core.BadRequest("Malformed request body")
	}
	specs, err := checkSpecs(raw)
	if err != nil {
		return err
	}
	err = m.state.Update(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		if t == nil {
			return core.NotFound("Share type %s could not be found.", r.PathValue("type_id"))
		}
		if _, ok := specs["driver_handles_share_servers"]; ok {
			return core.Forbidden("Extra spec driver_handles_share_servers is a required extra spec and cannot be changed.")
		}
		for k, v := range specs {
			t.ExtraSpecs[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

func (m *Manila) deleteExtraSpec(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	err := m.state.Update(func(s *state) error {
		t := s.Types[r.PathValue("type_id")]
		if t == nil {
			return core.NotFound("Share type %s could not be found.", r.PathValue("type_id"))
		}
		if key == "driver_handles_share_servers" {
			return core.Forbidden("Extra spec driver_handles_share_servers is a required extra spec and cannot be deleted.")
		}
		if _, ok := t.ExtraSpecs[key]; !ok {
			return core.NotFound("Share Type %s has no extra specs with key %s.", t.ID, key)
		}
		delete(t.ExtraSpecs, key)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
