package nova

import (
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func flavorNotFound(id string) error { return core.NotFound("Flavor %s could not be found.", id) }

// visibleTo: public flavors, and private ones shared with the caller's
// project; an admin sees all.
func (f *Flavor) visibleTo(id *core.Identity) bool {
	return f.Public || id.IsAdmin() || slices.Contains(f.Projects, id.ProjectID)
}

func (f *Flavor) body(r *http.Request, detail bool) map[string]any {
	v := core.MicroversionOf(r)
	b := map[string]any{"id": f.ID, "name": f.Name, "links": links(r, "flavors", f.ID)}
	if v.AtLeast("2.55") {
		b["description"] = f.Description
	}
	if !detail {
		return b
	}
	var swap any = ""
	if f.Swap > 0 || v.AtLeast("2.75") {
		swap = f.Swap
	}
	b["ram"], b["disk"], b["vcpus"], b["swap"] = f.RAM, f.Disk, f.VCPUs, swap
	b["OS-FLV-EXT-DATA:ephemeral"] = f.Ephemeral
	b["OS-FLV-DISABLED:disabled"] = f.Disabled
	b["os-flavor-access:is_public"] = f.Public
	b["rxtx_factor"] = f.RxTx
	if v.AtLeast("2.61") {
		specs := map[string]string{}
		for k, s := range f.ExtraSpecs {
			specs[k] = s
		}
		b["extra_specs"] = specs
	}
	return b
}

func (n *Nova) listFlavors(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	q := r.URL.Query()
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	// is_public: absent = public (plus the private ones the caller's
	// project may use); "none" = all (admin); true/false.
	var isPublic *bool
	t := true
	isPublic = &t
	if q.Has("is_public") {
		s := strings.ToLower(q.Get("is_public"))
		switch s {
		case "none":
			isPublic = nil
		default:
			b, ok := asBool(q.Get("is_public"))
			if !ok {
				return core.BadRequest("Invalid is_public filter [%s]", q.Get("is_public"))
			}
			isPublic = &b
		}
	}
	minRAM, minDisk := 0, 0
	if s := q.Get("minRam"); s != "" {
		if minRAM, err = strconv.Atoi(s); err != nil {
			return core.BadRequest("Invalid minRam filter [%s]", s)
		}
	}
	if s := q.Get("minDisk"); s != "" {
		if minDisk, err = strconv.Atoi(s); err != nil {
			return core.BadRequest("Invalid minDisk filter [%s]", s)
		}
	}
	sortKey, sortDir := q.Get("sort_key"), q.Get("sort_dir")
	if sortKey == "" {
		sortKey = "flavorid"
	}
	if sortDir == "" {
		sortDir = "asc"
	}
	keys := []string{"created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id", "is_public",
		"memory_mb", "name", "root_gb", "rxtx_factor", "swap", "updated_at", "vcpu_weight", "vcpus"}
	if !slices.Contains(keys, sortKey) {
		return core.BadRequest("Invalid input for query parameters sort_key. Value: %s. '%s' is not one of %s", sortKey, sortKey, pyRepr(toAny(keys)))
	}
	if sortDir != "asc" && sortDir != "desc" {
		return core.BadRequest("Invalid input for query parameters sort_dir. Value: %s. '%s' is not one of ['asc', 'desc']", sortDir, sortDir)
	}
	var list []*Flavor
	_ = n.state.View(func(s *state) error {
		for _, f := range s.Flavors {
			if isPublic != nil && !caller.IsAdmin() {
				// A project member sees public flavors and its own private ones.
				if !f.visibleTo(caller) {
					continue
				}
				if !*isPublic && f.Public {
					continue
				}
			} else if isPublic != nil {
				if *isPublic && !f.Public && !slices.Contains(f.Projects, caller.ProjectID) {
					continue
				}
				if !*isPublic && f.Public {
					continue
				}
			} else if !f.visibleTo(caller) {
				continue
			}
			if f.RAM < minRAM || f.Disk < minDisk {
				continue
			}
			cp := *f
			list = append(list, &cp)
		}
		return nil
	})
	sortFlavors(list, sortKey, sortDir == "desc")
	list, err = paginate(list, func(f *Flavor) string { return f.ID }, page)
	if err != nil {
		return err
	}
	detail := fullPathHas(r, "/detail")
	out := make([]any, 0, len(list))
	for _, f := range list {
		out = append(out, f.body(r, detail))
	}
	resp := map[string]any{"flavors": out}
	if len(list) > 0 {
		if l := collectionLinks(r, page, len(list), list[len(list)-1].ID); l != nil {
			resp["flavors_links"] = l
		}
	}
	core.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func sortFlavors(list []*Flavor, key string, desc bool) {
	less := func(a, b *Flavor) bool {
		switch key {
		case "name":
			return a.Name < b.Name
		case "memory_mb":
			return a.RAM < b.RAM
		case "vcpus":
			return a.VCPUs < b.VCPUs
		case "root_gb":
			return a.Disk < b.Disk
		case "created_at", "id":
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	}
	sort.SliceStable(list, func(i, j int) bool {
		if desc {
			return less(list[j], list[i])
		}
		return less(list[i], list[j])
	})
}

// flavor returns the flavor the caller may use, or Nova's 404.
func (s *state) flavor(caller *core.Identity, id string) (*Flavor, error) {
	f := s.Flavors[id]
	if f == nil || !f.visibleTo(caller) {
		return nil, flavorNotFound(id)
	}
	return f, nil
}

func (n *Nova) showFlavor(w http.ResponseWriter, r *http.Request) error {
	return n.state.View(func(s *state) error {
		f, err := s.flavor(core.IdentityOf(r), r.PathValue("flavor_id"))
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"flavor": f.body(r, true)})
		return nil
	})
}

var flavorIDRE = regexp.MustCompile(`^[a-zA-Z0-9. _-]+$`)

func flavorCreateSchema(v core.Version) *schema {
	positive := &schema{IntString: true, Min: f64(1), Max: f64(2147483647)}
	nonNeg := &schema{IntString: true, Min: f64(0), Max: f64(2147483647)}
	props := map[string]*schema{
		"name":                       nameSchema(),
		"id":                         {Types: []string{"string", "number", "null"}, MinLen: 1, MaxLen: 255, Pattern: `^[a-zA-Z0-9. _-]+$`},
		"ram":                        positive,
		"vcpus":                      positive,
		"disk":                       nonNeg,
		"OS-FLV-EXT-DATA:ephemeral":  nonNeg,
		"swap":                       nonNeg,
		"rxtx_factor":                {Types: []string{"number", "string"}, Pattern: `^[0-9]+(\.[0-9]+)?$`},
		"os-flavor-access:is_public": boolSchema,
	}
	if v.AtLeast("2.55") {
		props["description"] = &schema{Types: []string{"string", "null"}, MaxLen: 65535}
	}
	return obj([]string{"flavor"}, map[string]*schema{"flavor": obj([]string{"name", "ram", "vcpus", "disk"}, props)})
}

func (n *Nova) createFlavor(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := validate(flavorCreateSchema(core.MicroversionOf(r)), body); err != nil {
		return err
	}
	in := body.(map[string]any)["flavor"].(map[string]any)
	name := strings.TrimSpace(in["name"].(string))
	f := &Flavor{Name: name, RxTx: 1, Public: true, ExtraSpecs: map[string]string{}, CreatedAt: n.env.Now()}
	f.RAM, _ = asInt(in["ram"])
	f.VCPUs, _ = asInt(in["vcpus"])
	f.Disk, _ = asInt(in["disk"])
	if v, ok := in["OS-FLV-EXT-DATA:ephemeral"]; ok {
		f.Ephemeral, _ = asInt(v)
	}
	if v, ok := in["swap"]; ok {
		f.Swap, _ = asInt(v)
	}
	if v, ok := in["rxtx_factor"]; ok {
		x, _ := strconv.ParseFloat(strings.TrimSpace(pyStr(v)), 64)
		if x <= 0 {
			return core.BadRequest("Invalid input for field/attribute rxtx_factor. Value: %s. %s is less than or equal to the minimum of 0", pyRepr(v), pyRepr(v))
		}
		f.RxTx = x
	}
	if v, ok := in["os-flavor-access:is_public"]; ok {
		f.Public, _ = asBool(v)
	}
	if d, ok := in["description"].(string); ok {
		f.Description = &d
	}
	switch id := in["id"].(type) {
	case nil:
		f.ID = core.NewUUID()
	case string:
		f.ID = strings.TrimSpace(id)
	default:
		f.ID = pyStr(id)
	}
	err = n.state.Update(func(s *state) error {
		if s.Flavors[f.ID] != nil {
			return core.Conflict("Flavor with ID %s already exists.", f.ID)
		}
		for _, o := range s.Flavors {
			if o.Name == f.Name {
				return core.Conflict("Flavor with name %s already exists.", f.Name)
			}
		}
		s.Flavors[f.ID] = f
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"flavor": f.body(r, true)})
	return nil
}

func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

func (n *Nova) updateFlavor(w http.ResponseWriter, r *http.Request) error {
	if !core.MicroversionOf(r).AtLeast("2.55") {
		return core.Errorf(http.StatusMethodNotAllowed, "The method PUT is not allowed for this resource.")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	sc := obj([]string{"flavor"}, map[string]*schema{"flavor": obj([]string{"description"}, map[string]*schema{
		"description": {Types: []string{"string", "null"}, MaxLen: 65535}})})
	if err := validate(sc, body); err != nil {
		return err
	}
	var out map[string]any
	err = n.state.Update(func(s *state) error {
		f := s.Flavors[r.PathValue("flavor_id")]
		if f == nil {
			return flavorNotFound(r.PathValue("flavor_id"))
		}
		d, ok := body.(map[string]any)["flavor"].(map[string]any)["description"].(string)
		if ok {
			f.Description = &d
		} else {
			f.Description = nil
		}
		out = f.body(r, true)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"flavor": out})
	return nil
}

func (n *Nova) deleteFlavor(w http.ResponseWriter, r *http.Request) error {
	err := n.state.Update(func(s *state) error {
		id := r.PathValue("flavor_id")
		if s.Flavors[id] == nil {
			return flavorNotFound(id)
		}
		delete(s.Flavors, id)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func accessBody(f *Flavor) map[string]any {
	list := []map[string]string{}
	for _, p := range f.Projects {
		list = append(list, map[string]string{"flavor_id": f.ID, "tenant_id": p})
	}
	return map[string]any{"flavor_access": list}
}

func (n *Nova) listFlavorAccess(w http.ResponseWriter, r *http.Request) error {
	return n.state.View(func(s *state) error {
		f := s.Flavors[r.PathValue("flavor_id")]
		if f == nil {
			return flavorNotFound(r.PathValue("flavor_id"))
		}
		if f.Public {
			return core.NotFound("Access list not available for public flavors.")
		}
		core.WriteJSON(w, http.StatusOK, accessBody(f))
		return nil
	})
}

func (n *Nova) flavorAction(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	m, _ := body.(map[string]any)
	var action string
	for _, a := range []string{"addTenantAccess", "removeTenantAccess"} {
		if _, ok := m[a]; ok {
			action = a
		}
	}
	if action == "" {
		return core.BadRequest("There is no such action: %s", firstKey(m))
	}
	sc := obj([]string{action}, map[string]*schema{action: obj([]string{"tenant"}, map[string]*schema{
		"tenant": {Type: "string", MinLen: 1, MaxLen: 255}})})
	if err := validate(sc, body); err != nil {
		return err
	}
	tenant := m[action].(map[string]any)["tenant"].(string)
	var out map[string]any
	err = n.state.Update(func(s *state) error {
		f := s.Flavors[r.PathValue("flavor_id")]
		if f == nil {
			return flavorNotFound(r.PathValue("flavor_id"))
		}
		has := slices.Contains(f.Projects, tenant)
		switch action {
		case "addTenantAccess":
			if f.Public && core.MicroversionOf(r).AtLeast("2.7") {
				return core.Conflict("Can not add access to a public flavor.")
			}
			if has {
				return core.Conflict("Flavor access already exists for flavor %s and project %s combination.", f.ID, tenant)
			}
			f.Projects = append(f.Projects, tenant)
		default:
			if !has {
				return core.NotFound("Flavor access not found for %s / %s combination.", f.ID, tenant)
			}
			f.Projects = slices.DeleteFunc(f.Projects, func(p string) bool { return p == tenant })
		}
		out = accessBody(f)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

func firstKey(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// Extra specs.

func (n *Nova) listExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	return n.state.View(func(s *state) error {
		f, err := s.flavor(core.IdentityOf(r), r.PathValue("flavor_id"))
		if err != nil {
			return err
		}
		specs := map[string]string{}
		for k, v := range f.ExtraSpecs {
			specs[k] = v
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
		return nil
	})
}

var specKeyRE = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}$`)

func specsSchema() *schema {
	return &schema{Type: "object", Additional: true}
}

// checkSpecs validates extra specs as Nova's schema does (keys of
// [a-zA-Z0-9-_:. ]{1,255}, string or number values up to 255).
func checkSpecs(m map[string]any) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range m {
		if !specKeyRE.MatchString(k) {
			return nil, core.BadRequest("Invalid input for field/attribute extra_specs. Value: %s. %s does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'", pyRepr(m), pyRepr(k))
		}
		switch x := v.(type) {
		case string:
			if len(x) > 255 {
				return nil, core.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is too long", k, pyRepr(v), pyRepr(v))
			}
			out[k] = x
		case float64:
			out[k] = pyRepr(x)
		default:
			return nil, core.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string', 'number'", k, pyRepr(v), pyRepr(v))
		}
	}
	return out, nil
}

func (n *Nova) createExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := validate(obj([]string{"extra_specs"}, map[string]*schema{"extra_specs": specsSchema()}), body); err != nil {
		return err
	}
	specs, err := checkSpecs(body.(map[string]any)["extra_specs"].(map[string]any))
	if err != nil {
		return err
	}
	err = n.state.Update(func(s *state) error {
		f := s.Flavors[r.PathValue("flavor_id")]
		if f == nil {
			return flavorNotFound(r.PathValue("flavor_id"))
		}
		for k, v := range specs {
			f.ExtraSpecs[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

func (n *Nova) showExtraSpec(w http.ResponseWriter, r *http.Request) error {
	return n.state.View(func(s *state) error {
		f, err := s.flavor(core.IdentityOf(r), r.PathValue("flavor_id"))
		if err != nil {
			return err
		}
		k := r.PathValue("key")
		v, ok := f.ExtraSpecs[k]
		if !ok {
			return core.NotFound("Flavor %s has no extra specs with key %s.", f.ID, k)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{k: v})
		return nil
	})
}

func (n *Nova) updateExtraSpec(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	m, ok := body.(map[string]any)
	if !ok {
		return core.BadRequest("Invalid input for field/attribute . Value: %s. %s is not of type 'object'", pyRepr(body), pyRepr(body))
	}
	k := r.PathValue("key")
	if _, ok := m[k]; !ok {
		return core.BadRequest("Request body and URI mismatch")
	}
	if len(m) > 1 {
		return core.BadRequest("Request body contains too many items")
	}
	specs, err := checkSpecs(m)
	if err != nil {
		return err
	}
	err = n.state.Update(func(s *state) error {
		f := s.Flavors[r.PathValue("flavor_id")]
		if f == nil {
			return flavorNotFound(r.PathValue("flavor_id"))
		}
		f.ExtraSpecs[k] = specs[k]
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{k: specs[k]})
	return nil
}

func (n *Nova) deleteExtraSpec(w http.ResponseWriter, r *http.Request) error {
	err := n.state.Update(func(s *state) error {
		f := s.Flavors[r.PathValue("flavor_id")]
		if f == nil {
			return flavorNotFound(r.PathValue("flavor_id"))
		}
		k := r.PathValue("key")
		if _, ok := f.ExtraSpecs[k]; !ok {
			return core.NotFound("Flavor %s has no extra specs with key %s.", f.ID, k)
		}
		delete(f.ExtraSpecs, k)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
