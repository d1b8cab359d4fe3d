package designate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service.
func (d *Designate) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", d.versions, core.Public)
	rt.Handle("GET /v2", d.versions, core.Public)
	rt.Handle("GET /v2/{$}", d.versions, core.Public)

	h := func(pattern string, fn core.HandlerFunc) { rt.Handle(pattern, handler(fn)) }
	h("GET /v2/zones", d.listZones)
	h("POST /v2/zones", d.createZone)
	h("GET /v2/zones/{zone_id}", d.showZone)
	h("PATCH /v2/zones/{zone_id}", d.updateZone)
	h("DELETE /v2/zones/{zone_id}", d.deleteZone)
	h("GET /v2/zones/{zone_id}/nameservers", d.nameservers)
	h("POST /v2/zones/{zone_id}/tasks/abandon", d.abandonZone)
	h("GET /v2/zones/{zone_id}/recordsets", d.listZoneRecordsets)
	h("POST /v2/zones/{zone_id}/recordsets", d.createRecordset)
	h("GET /v2/zones/{zone_id}/recordsets/{rs_id}", d.showRecordset)
	h("PUT /v2/zones/{zone_id}/recordsets/{rs_id}", d.updateRecordset)
	h("DELETE /v2/zones/{zone_id}/recordsets/{rs_id}", d.deleteRecordset)
	h("GET /v2/recordsets", d.listAllRecordsets)
	h("GET /v2/recordsets/{rs_id}", d.redirectRecordset)
	h("GET /v2/quotas", d.ownQuotas)
	h("GET /v2/quotas/{project_id}", d.showQuotas)
	h("PATCH /v2/quotas/{project_id}", d.setQuotas)
	h("DELETE /v2/quotas/{project_id}", d.resetQuotas)
	h("GET /v2/limits", d.limits)
}

// versions is designate/api/versions.py's list (the same at /v2).
func (d *Designate) versions(w http.ResponseWriter, r *http.Request) error {
	href := core.ServiceURL(r) + "/v2"
	v := func(id, status string) map[string]any {
		return map[string]any{"id": id, "status": status, "updated": "2022-06-29T00:00:00Z",
			"links": []map[string]string{{"href": href, "rel": "self"}, {"href": "https://docs.openstack.org/api-ref/dns", "rel": "help"}}}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{v("v2", "SUPPORTED"), v("v2.0", "CURRENT")}})
	return nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// validUUID is utils.validate_uuid: 400 invalid_uuid for a malformed id.
func validUUID(name, v string) error {
	if !uuidRE.MatchString(v) {
		return core.BadRequest("Invalid UUID %s: %s", name, v).WithType("invalid_uuid")
	}
	return nil
}

func zoneNotFound() error { return core.NotFound("Could not find Zone").WithType("zone_not_found") }

// zone finds a zone the context sees (Designate filters by project even
// for admins, unless all projects are asked for).
func (s *state) zone(c *dnsContext, id string, now time.Time) (*Zone, error) {
	z := s.Zones[id]
	if z == nil || z.gone(now) || !c.sees(z.ProjectID) {
		return nil, zoneNotFound()
	}
	return z, nil
}

func (d *Designate) zoneBody(r *http.Request, z *Zone, now time.Time) map[string]any {
	masters := []string{}
	for _, m := range z.Masters {
		masters = append(masters, strings.TrimSuffix(m, ":53"))
	}
	return map[string]any{
		"id": z.ID, "pool_id": PoolID, "project_id": z.ProjectID, "name": z.Name, "email": z.Email,
		"description": z.Description, "ttl": z.TTL, "serial": z.Serial, "status": z.Current(now),
		"action": z.action(now), "version": z.Version, "attributes": map[string]any{}, "type": z.Type,
		"masters": masters, "created_at": core.FormatTime(z.Created, core.TimeMicro), "updated_at": formatTime(z.Updated),
		"transferred_at": nil, "links": map[string]string{"self": core.ServiceURL(r) + "/v2/zones/" + z.ID},
	}
}

// ------------------------------------------------------------------ list

// listParams is utils.get_paging_params and _apply_filter_params.
type listParams struct {
	marker, sortKey, sortDir string
	limit                    int
	filters                  map[string]string
}

func parseList(r *http.Request, sortKeys, filters []string, all bool) (*listParams, error) {
	q := r.URL.Query()
	p := &listParams{marker: q.Get("marker"), limit: defaultPageLimit, sortKey: q.Get("sort_key"), sortDir: q.Get("sort_dir"),
		filters: map[string]string{}}
	if q.Has("limit") {
		l := q.Get("limit")
		if strings.EqualFold(l, "max") {
			p.limit = maxPageLimit
		} else {
			n, err := strconv.Atoi(l)
			if err != nil || n <= 0 {
				return nil, core.BadRequest("limit should be an integer between 1 and %d", maxPageLimit).WithType("invalid_limit")
			}
			p.limit = n
			if n > maxPageLimit {
				p.limit = maxPageLimit
			}
		}
	}
	if p.sortDir != "" && p.sortDir != "asc" && p.sortDir != "desc" {
		return nil, core.BadRequest("Unknown sort direction, must be 'desc' or 'asc'").WithType("invalid_sort_dir")
	}
	if p.sortKey != "" && !contains(sortKeys, p.sortKey) {
		return nil, core.BadRequest("sort key must be one of %s", pyList(sortKeys)).WithType("invalid_sort_key")
	}
	if p.sortKey == "tenant_id" && !all {
		p.sortKey = ""
	}
	var invalid []string
	for k := range q {
		switch k {
		case "marker", "limit", "sort_key", "sort_dir", "all_projects", "all_tenants", "edit_managed_records":
			continue
		}
		if contains(filters, k) {
			p.filters[k] = q.Get(k)
		} else {
			invalid = append(invalid, k)
		}
	}
	if len(invalid) > 0 {
		sort.Strings(invalid)
		return nil, core.BadRequest("Invalid filters %s", strings.Join(invalid, ", "))
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func pyList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "'" + n + "'"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// likeMatch is the filters' SQL LIKE with "*" as the wildcard.
func likeMatch(pattern, value string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == value
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(value, parts[0]) {
		return false
	}
	value = value[len(parts[0]):]
	for i, p := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(value, p)
		}
		j := strings.Index(value, p)
		if j < 0 {
			return false
		}
		value = value[j+len(p):]
	}
	return true
}

// sortAndPage sorts items by the key (created_at ascending by default,
// id breaking ties) and returns the page after the marker (400
// marker_not_found for an unknown one), with the total count.
func sortAndPage[T any](items []T, p *listParams, val func(T, string) string, id func(T) string) ([]T, error) {
	key, dir := p.sortKey, p.sortDir
	if key == "" {
		key = "created_at"
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := val(items[i], key), val(items[j], key)
		if a == b {
			a, b = id(items[i]), id(items[j])
		}
		if dir == "desc" {
			return a > b
		}
		return a < b
	})
	start := 0
	if p.marker != "" {
		start = -1
		for i, it := range items {
			if id(it) == p.marker {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, core.BadRequest("Marker %s could not be found", p.marker).WithType("marker_not_found")
		}
	}
	items = items[start:]
	if len(items) > p.limit {
		items = items[:p.limit]
	}
	return items, nil
}

// writeList answers Designate's collection: the items, links (self, and
// next when the page is full, as Designate does even on the last page)
// and metadata.total_count.
func writeList(w http.ResponseWriter, r *http.Request, name string, items []map[string]any, limit, total int) {
	self := core.ServiceURL(r) + r.URL.Path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	links := map[string]any{"self": self}
	if len(items) > 0 && len(items) == limit {
		q := r.URL.Query()
		q.Set("marker", fmt.Sprint(items[len(items)-1]["id"]))
		links["next"] = core.ServiceURL(r) + r.URL.Path + "?" + q.Encode()
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{name: items, "links": links, "metadata": map[string]any{"total_count": total}})
}

var zoneSortKeys = []string{"created_at", "id", "updated_at", "name", "tenant_id", "serial", "ttl", "status"}

func (z *Zone) sortValue(key string, now time.Time) string {
	switch key {
	case "id":
		return z.ID
	case "updated_at":
		if z.Updated != nil {
			return z.Updated.Format(time.RFC3339Nano)
		}
		return ""
	case "name":
		return z.Name
	case "tenant_id":
		return z.ProjectID
	case "serial":
		return fmt.Sprintf("%020d", z.Serial)
	case "ttl":
		return fmt.Sprintf("%020d", deref(z.TTL))
	case "status":
		return z.Current(now)
	}
	return z.Created.Format(time.RFC3339Nano)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func strOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (d *Designate) listZones(w http.ResponseWriter, r *http.Request) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	p, err := parseList(r, zoneSortKeys, []string{"name", "type", "email", "status", "description", "ttl"}, c.all)
	if err != nil {
		return err
	}
	now := d.env.Now()
	var zones []*Zone
	_ = d.state.View(func(s *state) error {
		for _, z := range s.Zones {
			if z.gone(now) || !c.sees(z.ProjectID) {
				continue
			}
			fields := map[string]string{"name": z.Name, "type": z.Type, "email": strOrEmpty(z.Email), "status": z.Current(now),
				"description": strOrEmpty(z.Description), "ttl": strconv.Itoa(deref(z.TTL))}
			ok := true
			for k, want := range p.filters {
				if !likeMatch(want, fields[k]) {
					ok = false
				}
			}
			if ok {
				cp := *z
				zones = append(zones, &cp)
			}
		}
		return nil
	})
	total := len(zones)
	page, err := sortAndPage(zones, p, func(z *Zone, k string) string { return z.sortValue(k, now) }, func(z *Zone) string { return z.ID })
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(page))
	for _, z := range page {
		out = append(out, d.zoneBody(r, z, now))
	}
	writeList(w, r, "zones", out, p.limit, total)
	return nil
}

func (d *Designate) showZone(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("zone_id")
	if err := validUUID("zone_id", id); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	return d.state.View(func(s *state) error {
		z, err := s.zone(c, id, now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, d.zoneBody(r, z, now))
		return nil
	})
}

// ------------------------------------------------------------------ create

// zoneFields are ZoneAPIv2Adapter's fields: writable ones, immutable
// ones (settable at create) and read-only ones.
var (
	zoneWritable  = []string{"email", "description", "ttl"}
	zoneImmutable = []string{"name", "type", "attributes"}
	zoneReadOnly  = []string{"id", "pool_id", "project_id", "serial", "status", "action", "version", "created_at", "updated_at", "transferred_at"}
)

// zoneInput is a parsed zone body.
type zoneInput struct {
	name, typ                    string
	email, description           *string
	ttl                          *int
	masters                      []string
	hasEmail, hasDescr, hasTTL   bool
	hasMasters, hasName, hasType bool
	emailNull                    bool
	attributes                   map[string]any
}

// parseZone is DesignateAdapter.parse for a zone: unknown and read-only
// keys (unless unchanged on update) are refused, values coerced.
func parseZone(v any, current map[string]any) (*zoneInput, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, notValid("Provided object is not valid. Got an AttributeError with message '%s' object has no attribute 'items'", pyType(v))
	}
	in := &zoneInput{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bad []string
keys:
	for _, k := range keys {
		val := m[k]
		switch {
		case k == "masters":
			list, ok := val.([]any)
			if !ok {
				return nil, notValid("Provided object is not valid. Got a TypeError with message '%s' object is not iterable", pyType(val))
			}
			in.hasMasters = true
			for _, e := range list {
				s, ok := e.(string)
				if !ok {
					return nil, notValid("Provided object is not valid. Got an AttributeError with message '%s' object has no attribute 'items'", pyType(e))
				}
				in.masters = append(in.masters, s)
			}
		case contains(zoneWritable, k), contains(zoneImmutable, k):
			if current != nil && contains(zoneImmutable, k) {
				if !sameValue(current[k], val) {
					bad = append(bad, k)
					break keys
				}
				continue
			}
			if err := in.set(k, val); err != nil {
				return nil, err
			}
		case contains(zoneReadOnly, k):
			if current == nil || !sameValue(current[k], val) {
				bad = append(bad, k)
				break keys
			}
		default:
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return nil, notValid("Provided object does not match schema. Keys %s are not valid for zone", pyList(bad))
	}
	return in, nil
}

// sameValue compares a shown value with a sent one as JSON.
func sameValue(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func (in *zoneInput) set(k string, v any) error {
	switch k {
	case "name":
		if v == nil {
			return nil
		}
		s, err := stringField("name", v, maxNameLen)
		if err != nil {
			return err
		}
		if err := domainField(s); err != nil {
			return err
		}
		in.name, in.hasName = s, true
	case "type":
		s, _ := v.(string)
		if s != "PRIMARY" && s != "SECONDARY" {
			return valueError("Field value %v is invalid", v)
		}
		in.typ, in.hasType = s, true
	case "email":
		in.hasEmail = true
		if v == nil {
			in.email, in.emailNull = nil, true
			return nil
		}
		s, err := stringField("email", v, 255)
		if err != nil {
			return err
		}
		if err := emailField(s); err != nil {
			return err
		}
		in.email = &s
	case "description":
		in.hasDescr = true
		if v == nil {
			in.description = nil
			return nil
		}
		s, err := stringField("description", v, 160)
		if err != nil {
			return err
		}
		in.description = &s
	case "ttl":
		in.hasTTL = true
		if v == nil {
			in.ttl = nil
			return nil
		}
		n, err := intField("ttl", v, 0, 2147483647)
		if err != nil {
			return err
		}
		t := int(n)
		in.ttl = &t
	case "attributes":
		a, ok := v.(map[string]any)
		if !ok {
			return notValid("Provided object is not valid. Got an AttributeError with message '%s' object has no attribute 'items'", pyType(v))
		}
		in.attributes = a
	}
	return nil
}

func (d *Designate) createZone(w http.ResponseWriter, r *http.Request) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	raw, err := bodyDict(r)
	if err != nil {
		return err
	}
	if m, ok := raw.(map[string]any); ok {
		if _, has := m["type"]; !has {
			m["type"] = "PRIMARY"
		}
	}
	in, err := parseZone(raw, nil)
	if err != nil {
		return err
	}
	// Zone.validate.
	switch in.typ {
	case "PRIMARY":
		var errs []map[string]any
		if len(in.masters) > 0 {
			errs = append(errs, fieldError([]any{"type"}, "maxItems", []string{"masters"}, "'masters' has more items than allowed"))
		}
		if in.email == nil {
			errs = append(errs, fieldError([]any{"type", "email"}, "required", "email", "'email' is a required property"))
		}
		if len(errs) > 0 {
			return invalid(errs...)
		}
	case "SECONDARY":
		var errs []map[string]any
		if len(in.masters) == 0 {
			errs = append(errs, fieldError([]any{"type", "masters"}, "required", []string{"masters"}, "'masters' is a required property"))
		}
		for _, f := range []string{"email", "ttl"} {
			if (f == "email" && in.hasEmail) || (f == "ttl" && in.hasTTL) {
				errs = append(errs, fieldError([]any{"type"}, "not_allowed", f, fmt.Sprintf("'%s' can't be specified when type is SECONDARY", f)))
			}
		}
		if len(errs) > 0 {
			return invalid(errs...)
		}
		e := managedEmail
		in.email = &e
	}
	if !in.hasName {
		return invalid(fieldError([]any{"name"}, "required", "name", "'name' is a required property"))
	}
	now := d.env.Now()
	z := &Zone{ID: core.NewUUID(), ProjectID: c.project, Name: in.name, Email: in.email, Description: in.description,
		TTL: in.ttl, Type: in.typ, Masters: in.masters, Version: 1, Action: "CREATE", Created: now,
		Refresh: 3500 + rand.IntN(101)}
	if z.TTL == nil && z.Type == "PRIMARY" {
		t := defaultTTL
		z.TTL = &t
	}
	if z.Type == "SECONDARY" {
		z.Serial = 1
	} else {
		z.Serial = now.Unix()
	}
	z.Lifecycle = core.Begin(d.env, "PENDING", "ACTIVE")
	err = d.state.Update(func(s *state) error {
		s.purge(now)
		count := 0
		for _, o := range s.Zones {
			if o.ProjectID == c.project {
				count++
			}
		}
		if !s.Quotas.Allows(c.project, "zones", count, 1) {
			return core.Errorf(http.StatusRequestEntityTooLarge, "Quota exceeded for zones.").WithType("over_quota")
		}
		if len(strings.Split(strings.Trim(z.Name, "."), ".")) <= 1 {
			return core.BadRequest("More than one label is required").WithType("invalid_zone_name")
		}
		if err := s.checkOwnership(z); err != nil {
			return err
		}
		for _, o := range s.Zones {
			if o.Name == z.Name && o.ProjectID == z.ProjectID {
				return core.Conflict("Duplicate Zone").WithType("duplicate_zone")
			}
		}
		// Subzones: the nearest parent of the same project is the
		// parent; existing subzones of the new zone get it as parent.
		if parent := s.parentOf(z.Name); parent != nil {
			z.ParentZoneID = parent.ID
		}
		for _, o := range s.Zones {
			if strings.HasSuffix(o.Name, "."+z.Name) && o.ProjectID == z.ProjectID {
				if p := s.Zones[o.ParentZoneID]; p == nil || len(p.Name) < len(z.Name) {
					o.ParentZoneID = z.ID
				}
			}
		}
		s.Zones[z.ID] = z
		if z.Type == "PRIMARY" {
			s.addManaged(z, now, d.env)
		}
		return nil
	})
	if err != nil {
		return err
	}
	body := d.zoneBody(r, z, now)
	body["status"], body["action"] = "PENDING", "CREATE"
	w.Header().Set("Location", body["links"].(map[string]string)["self"])
	core.WriteJSON(w, http.StatusAccepted, body)
	return nil
}

// checkOwnership is _check_zone_ownership_conflicts: a zone name another
// project owns, or one inside or above another project's zone, is refused.
func (s *state) checkOwnership(z *Zone) error {
	for _, o := range s.Zones {
		if o.Name == z.Name && o.ProjectID != z.ProjectID {
			return core.Conflict("Zone already exists, owned by a different tenant").WithType("duplicate_zone")
		}
	}
	labels := strings.Split(z.Name, ".")
	for i := 1; i < len(labels); i++ {
		name := strings.Join(labels[i:], ".")
		found := false
		for _, o := range s.Zones {
			if o.Name == name {
				found = true
				if o.ProjectID != z.ProjectID {
					return core.Forbidden("Unable to create subzone in another tenants zone").WithType("illegal_child")
				}
			}
		}
		if found {
			break
		}
	}
	for _, o := range s.Zones {
		if strings.HasSuffix(o.Name, "."+z.Name) && o.ProjectID != z.ProjectID {
			return core.Forbidden("Unable to create zone because another tenant owns a subzone of the zone").WithType("illegal_parent")
		}
	}
	return nil
}

// parentOf is the nearest zone whose name the name ends with.
func (s *state) parentOf(name string) *Zone {
	labels := strings.Split(name, ".")
	for i := 1; i < len(labels); i++ {
		n := strings.Join(labels[i:], ".")
		for _, o := range s.Zones {
			if o.Name == n {
				return o
			}
		}
	}
	return nil
}

// addManaged creates the zone's SOA and apex NS recordsets.
func (s *state) addManaged(z *Zone, now time.Time, env *core.Env) {
	for _, typ := range []string{"SOA", "NS"} {
		rs := &Recordset{ID: core.NewUUID(), ZoneID: z.ID, ProjectID: z.ProjectID, Name: z.Name, Type: typ, Managed: true,
			Version: 1, Action: "CREATE", Created: now, Lifecycle: core.Begin(env, "PENDING", "ACTIVE")}
		if typ == "SOA" {
			rs.Records = []string{soaRecord(z)}
		} else {
			rs.Records = []string{NameServer}
		}
		s.Recordsets[rs.ID] = rs
	}
}

// soaRecord is central's _build_soa_record.
func soaRecord(z *Zone) string {
	return fmt.Sprintf("%s %s. %d %d %d %d %d", NameServer, strings.ReplaceAll(strOrEmpty(z.Email), "@", "."),
		z.Serial, z.Refresh, soaRetry, soaExpire, soaMinimum)
}

// touch is _update_zone_in_storage with a serial increment: the zone
// goes PENDING (UPDATE), its serial and SOA record follow.
func (s *state) touch(z *Zone, now time.Time, env *core.Env, increment bool) {
	z.Action = "UPDATE"
	z.Lifecycle = core.Begin(env, "PENDING", "ACTIVE")
	z.Version++
	z.Updated = timePtr(now)
	if !increment || z.Type != "PRIMARY" {
		return
	}
	z.Serial = incrementSerial(z.Serial, now)
	for _, rs := range s.Recordsets {
		if rs.ZoneID == z.ID && rs.Type == "SOA" {
			rs.Records = []string{soaRecord(z)}
			rs.Action = "UPDATE"
			rs.Lifecycle = core.Begin(env, "PENDING", "ACTIVE")
			rs.Version++
			rs.Updated = timePtr(now)
		}
	}
}

// ------------------------------------------------------------------ update, delete

func (d *Designate) updateZone(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("zone_id")
	if err := validUUID("zone_id", id); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	var current map[string]any
	if err := d.state.View(func(s *state) error {
		z, err := s.zone(c, id, now)
		if err != nil {
			return err
		}
		if z.action(now) == "DELETE" {
			return core.BadRequest("Can not update a deleting zone")
		}
		current = d.zoneBody(r, z, now)
		return nil
	}); err != nil {
		return err
	}
	raw, err := bodyDict(r)
	if err != nil {
		return err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json-patch+json") {
		return core.BadRequest("json-patch not implemented")
	}
	in, err := parseZone(raw, current)
	if err != nil {
		return err
	}
	var body map[string]any
	err = d.state.Update(func(s *state) error {
		z, err := s.zone(c, id, now)
		if err != nil {
			return err
		}
		if z.Type == "PRIMARY" && in.hasEmail && in.email == nil {
			return invalid(fieldError([]any{"type", "email"}, "required", "email", "'email' is a required property"))
		}
		if z.Type == "SECONDARY" && in.hasEmail && strOrEmpty(in.email) != strOrEmpty(z.Email) {
			return notValid("Changed email is not allowed.")
		}
		if in.hasEmail {
			z.Email = in.email
		}
		if in.hasDescr {
			z.Description = in.description
		}
		if in.hasTTL {
			z.TTL = in.ttl
		}
		s.touch(z, now, d.env, z.Type == "PRIMARY")
		body = d.zoneBody(r, z, now)
		body["status"], body["action"] = "PENDING", "UPDATE"
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, body)
	return nil
}

func (d *Designate) deleteZone(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("zone_id")
	if err := validUUID("zone_id", id); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	var body map[string]any
	err = d.state.Update(func(s *state) error {
		s.purge(now)
		z, err := s.zone(c, id, now)
		if err != nil {
			return err
		}
		for _, o := range s.Zones {
			if o.ParentZoneID == z.ID && !o.gone(now) {
				return core.BadRequest("Please delete any subzones before deleting this zone").WithType("zone_has_sub_zone")
			}
		}
		z.Action = "DELETE"
		z.Lifecycle = core.Begin(d.env, "PENDING", "DELETED")
		z.Version++
		z.Updated = timePtr(now)
		body = d.zoneBody(r, z, now)
		body["status"], body["action"] = "PENDING", "DELETE"
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, body)
	return nil
}

// abandonZone is POST /zones/{id}/tasks/abandon: the zone leaves
// Designate's database at once (admins only).
func (d *Designate) abandonZone(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("zone_id")
	if err := validUUID("zone_id", id); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	if !c.admin {
		return core.Forbidden("")
	}
	now := d.env.Now()
	err = d.state.Update(func(s *state) error {
		z, err := s.zone(c, id, now)
		if err != nil {
			return err
		}
		delete(s.Zones, z.ID)
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Designate) nameservers(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("zone_id")
	if err := validUUID("zone_id", id); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	if err := d.state.View(func(s *state) error { _, err := s.zone(c, id, now); return err }); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"nameservers": []map[string]any{{"hostname": NameServer, "priority": 1}}})
	return nil
}
