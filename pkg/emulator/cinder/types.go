package cinder

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// userVisibleSpecs are the extra specs a non-admin sees
// (policies/type_extra_specs.py USER_VISIBLE_EXTRA_SPECS).
var userVisibleSpecs = []string{"RESKEY:availability_zones", "multiattach", "replication_enabled"}

func (t *VolumeType) id() string { return t.ID }

func (t *VolumeType) sortValue(key string) (any, bool) {
	switch key {
	case "id":
		return t.ID, true
	case "name":
		return t.Name, true
	case "created_at":
		return t.CreatedAt, true
	case "is_public":
		return t.IsPublic, true
	case "description":
		return t.Description, true
	}
	return nil, false
}

func typeBody(r *http.Request, t *VolumeType) map[string]any {
	specs := map[string]string{}
	admin := core.IdentityOf(r).IsAdmin()
	for k, v := range t.ExtraSpecs {
		if admin || slices.Contains(userVisibleSpecs, k) {
			specs[k] = v
		}
	}
	b := map[string]any{"id": t.ID, "name": t.Name, "is_public": t.IsPublic, "description": t.Description,
		"extra_specs": specs, "os-volume-type-access:is_public": t.IsPublic}
	if admin {
		b["qos_specs_id"] = nil
	}
	return b
}

// typeByID finds a type by id (or "default") the caller may see.
func (s *state) typeByID(r *http.Request, id string) (*VolumeType, error) {
	if id == "default" {
		if t := s.Types[s.DefaultType]; t != nil {
			return t, nil
		}
		return nil, core.NotFound("Default volume type can not be found.")
	}
	t := s.Types[id]
	if t == nil || !typeVisible(r, t) {
		return nil, core.NotFound("Volume type %s could not be found.", id)
	}
	return t, nil
}

func (c *Cinder) listTypes(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, "created_at")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	caller := core.IdentityOf(r)
	// Admins filter on is_public (default: public only; "none": all),
	// others see the public types and the private ones shared with them.
	isPublic := "true"
	if caller.IsAdmin() && q.Has("is_public") {
		isPublic = strings.ToLower(q.Get("is_public"))
	}
	return c.state.View(func(s *state) error {
		var types []*VolumeType
		for _, t := range s.Types {
			switch {
			case !caller.IsAdmin():
				if !typeVisible(r, t) {
					continue
				}
			case isPublic == "none":
			case isPublic == "false" || isPublic == "0" || isPublic == "f" || isPublic == "no":
				if t.IsPublic {
					continue
				}
			default:
				if !t.IsPublic {
					continue
				}
			}
			if name := q.Get("name"); name != "" && caller.IsAdmin() && t.Name != name {
				continue
			}
			types = append(types, t)
		}
		pg, more, err := page(types, lp, func(id string) error { return core.NotFound("Volume type %s could not be found.", id) })
		if err != nil {
			return err
		}
		list := make([]map[string]any, 0, len(pg))
		for _, t := range pg {
			list = append(list, typeBody(r, t))
		}
		out := map[string]any{"volume_types": list}
		if len(pg) > 0 {
			if l := nextLinks(r, "types", more, pg[len(pg)-1].ID); l != nil {
				out["volume_type_links"] = l
			}
		}
		core.WriteJSON(w, http.StatusOK, out)
		return nil
	})
}

func (c *Cinder) showType(w http.ResponseWriter, r *http.Request) error {
	return c.state.View(func(s *state) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": typeBody(r, t)})
		return nil
	})
}

func (c *Cinder) createType(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "volume_type"); err != nil {
		return err
	}
	in, err := checkObject(body, "volume_type")
	if err != nil {
		return err
	}
	if err := onlyKeys("volume_type", in, "name", "description", "extra_specs", "os-volume-type-access:is_public"); err != nil {
		return err
	}
	rawName, ok := in["name"]
	if !ok {
		return fieldError("volume_type", in, "'name' is a required property")
	}
	name, isStr := rawName.(string)
	switch {
	case !isStr:
		return checkType("name", rawName, "string")
	case name == "":
		return core.BadRequest("An invalid 'name' value was provided. The 'name' can not be None.")
	case strings.TrimSpace(name) == "":
		return core.BadRequest("An invalid 'name' value was provided. The 'name' can not be empty.")
	case len([]rune(name)) > 255:
		return fieldError("name", rawName, "%s is too long", pyRepr(rawName))
	}
	desc, _, err := optString(in, "description", 255)
	if err != nil {
		return err
	}
	specs := map[string]string{}
	if raw, ok := in["extra_specs"]; ok {
		md, err := stringMap("extra_specs", raw, specKeyRE, true)
		if err != nil {
			return err
		}
		specs = plainMap(md)
	}
	public := true
	if raw, ok := in["os-volume-type-access:is_public"]; ok {
		if public, err = boolParam("os-volume-type-access:is_public", raw); err != nil {
			return err
		}
	}
	t := &VolumeType{ID: core.NewUUID(), Name: name, Description: desc, IsPublic: public, ExtraSpecs: specs, CreatedAt: c.env.Now()}
	err = c.state.Update(func(s *state) error {
		for _, o := range s.Types {
			if o.Name == name {
				return core.Conflict("Volume Type %s already exists.", name)
			}
		}
		s.Types[t.ID] = t
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": typeBody(r, t)})
	return nil
}

func (c *Cinder) updateType(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "volume_type"); err != nil {
		return err
	}
	in, err := checkObject(body, "volume_type")
	if err != nil {
		return err
	}
	if err := onlyKeys("volume_type", in, "name", "description", "is_public"); err != nil {
		return err
	}
	name, _, err := optString(in, "name", 255)
	if err != nil {
		return err
	}
	if name != nil && *name == "" {
		return fieldError("name", "", "'' is too short")
	}
	desc, hasDesc, err := optString(in, "description", 255)
	if err != nil {
		return err
	}
	var public *bool
	if raw, ok := in["is_public"]; ok && raw != nil {
		b, err := boolParam("is_public", raw)
		if err != nil {
			return err
		}
		public = &b
	}
	if name != nil && strings.TrimSpace(*name) == "" {
		return core.BadRequest("Volume type name can not be empty.")
	}
	if name == nil && desc == nil && public == nil {
		return core.BadRequest("Specify volume type name, description, is_public or a combination thereof.")
	}
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		if name != nil && *name != t.Name {
			for _, o := range s.Types {
				if o.Name == *name {
					return core.Conflict("Volume Type %s already exists.", *name)
				}
			}
			if t.Name == BuiltinTypeName {
				return core.BadRequest("The volume type %s is the default volume type and cannot be renamed.", BuiltinTypeName)
			}
			t.Name = *name
		}
		if hasDesc && desc != nil {
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
	core.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": out})
	return nil
}

func (c *Cinder) deleteType(w http.ResponseWriter, r *http.Request) error {
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		if t.ID == s.DefaultType {
			return core.BadRequest("The volume type %s is a default volume type and cannot be deleted.", t.ID)
		}
		if len(s.Types) == 1 {
			return core.BadRequest("The volume type %s is the only currently defined volume type and cannot be deleted.", t.ID)
		}
		if s.typeInUse(t.ID) {
			return core.BadRequest("Target volume type is still in use.")
		}
		delete(s.Types, t.ID)
		return nil
	})
}

func (s *state) typeInUse(id string) bool {
	for _, v := range s.Volumes {
		if v.TypeID == id {
			return true
		}
	}
	return false
}

func (c *Cinder) typeAction(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	name, arg, err := action(body)
	if err != nil {
		return err
	}
	if name != "addProjectAccess" && name != "removeProjectAccess" {
		return noSuchAction(name)
	}
	m, ok := arg.(map[string]any)
	if !ok {
		return checkType(name, arg, "object")
	}
	if err := onlyKeys(name, m, "project"); err != nil {
		return err
	}
	project, ok := m["project"].(string)
	if !ok {
		if _, present := m["project"]; !present {
			return fieldError(name, m, "'project' is a required property")
		}
		return checkType("project", m["project"], "string")
	}
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		if t.IsPublic {
			return core.BadRequest("Invalid volume type: Type access modification is not applicable to public volume type.")
		}
		has := slices.Contains(t.Projects, project)
		if name == "addProjectAccess" {
			if has {
				return core.Conflict("Volume type access for %s / %s combination already exists.", t.ID, project)
			}
			t.Projects = append(t.Projects, project)
			return nil
		}
		if !has {
			return core.NotFound("Volume type access not found for %s / %s combination.", t.ID, project)
		}
		t.Projects = slices.DeleteFunc(t.Projects, func(p string) bool { return p == project })
		return nil
	})
}

func (c *Cinder) typeAccess(w http.ResponseWriter, r *http.Request) error {
	return c.state.View(func(s *state) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		if t.IsPublic {
			return core.NotFound("Access list not available for public volume types.")
		}
		list := []map[string]string{}
		for _, p := range t.Projects {
			list = append(list, map[string]string{"volume_type_id": t.ID, "project_id": p})
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"volume_type_access": list})
		return nil
	})
}

// --- extra specs

func visibleSpecs(r *http.Request, t *VolumeType) map[string]string {
	out := map[string]string{}
	admin := core.IdentityOf(r).IsAdmin()
	for k, v := range t.ExtraSpecs {
		if admin || slices.Contains(userVisibleSpecs, k) {
			out[k] = v
		}
	}
	return out
}

func (c *Cinder) listExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	return c.state.View(func(s *state) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": visibleSpecs(r, t)})
		return nil
	})
}

func (c *Cinder) showExtraSpec(w http.ResponseWriter, r *http.Request) error {
	return c.state.View(func(s *state) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		key := r.PathValue("key")
		v, ok := visibleSpecs(r, t)[key]
		if !ok {
			return core.NotFound("Volume Type %s has no extra specs with key %s.", t.ID, key)
		}
		core.WriteJSON(w, http.StatusOK, map[string]string{key: v})
		return nil
	})
}

// changeSpecs applies an extra-specs change to a type no volume uses
// ("Volume Type is currently in use." otherwise).
func (c *Cinder) changeSpecs(r *http.Request, fn func(t *VolumeType) error) error {
	now := c.env.Now()
	return c.state.Update(func(s *state) error {
		s.purge(now)
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		if s.typeInUse(t.ID) {
			return core.BadRequest("Volume Type is currently in use.")
		}
		return fn(t)
	})
}

func checkCacheable(specs, existing map[string]string) error {
	get := func(k string) string {
		if v, ok := specs[k]; ok {
			return v
		}
		return existing[k]
	}
	if get("multiattach") == "<is> True" && get("cacheable") == "<is> True" {
		return core.BadRequest("cacheable cannot be set with multiattach.")
	}
	return nil
}

func (c *Cinder) createExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "extra_specs"); err != nil {
		return err
	}
	raw, ok := body["extra_specs"]
	if !ok {
		return core.BadRequest("'extra_specs' is a required property")
	}
	md, err := stringMap("extra_specs", raw, specKeyNoSpaceRE, true)
	if err != nil {
		return err
	}
	specs := plainMap(md)
	err = c.changeSpecs(r, func(t *VolumeType) error {
		if err := checkCacheable(specs, t.ExtraSpecs); err != nil {
			return err
		}
		for k, v := range specs {
			t.ExtraSpecs[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (c *Cinder) updateExtraSpec(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	md, err := stringMap("", body, specKeyNoSpaceRE, true)
	if err != nil {
		return core.BadRequest("%s", strings.TrimPrefix(err.Error(), "400 "))
	}
	if len(md) != 1 {
		if len(md) == 0 {
			return core.BadRequest("{} does not have enough properties")
		}
		return core.BadRequest("%s has too many properties", pyRepr(map[string]any(body)))
	}
	key := r.PathValue("key")
	if _, ok := md[key]; !ok {
		return core.BadRequest("Request body and URI mismatch")
	}
	specs := plainMap(md)
	err = c.changeSpecs(r, func(t *VolumeType) error {
		if err := checkCacheable(specs, t.ExtraSpecs); err != nil {
			return err
		}
		t.ExtraSpecs[key] = specs[key]
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (c *Cinder) deleteExtraSpec(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		t, err := s.typeByID(r, r.PathValue("type_id"))
		if err != nil {
			return err
		}
		if s.typeInUse(t.ID) {
			return core.BadRequest("Volume Type is currently in use.")
		}
		if _, ok := t.ExtraSpecs[key]; !ok {
			return core.NotFound("Volume Type %s has no extra specs with key %s.", t.ID, key)
		}
		delete(t.ExtraSpecs, key)
		return nil
	})
}
