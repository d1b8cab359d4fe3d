package neutron

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// caller is who makes a request. service marks an in-process call from
// another service of the emulator (Nova creating a server's ports), which
// real Neutron receives with Nova's service credentials: it may set
// bindings and device owners as an admin may, on the user's resources.
type caller struct {
	*core.Identity
	service bool
}

func callerOf(r *http.Request) *caller {
	return &caller{Identity: core.IdentityOf(r), service: core.IsServiceCall(r)}
}

func (c *caller) admin() bool { return c.Identity.IsAdmin() }

// privileged: admin, or a service acting for the user (advsvc-like).
func (c *caller) privileged() bool { return c.admin() || c.service }

// owns: the caller's project owns it, or the caller is an admin.
func (c *caller) owns(project string) bool { return c.admin() || c.ProjectID == project }

// attr is one attribute of a resource: whether a POST or a PUT may set
// it, and whether a POST must.
type attr struct{ post, put, required bool }

// attrs parses "name:pu network_id:pr id:" (p post, u put, r required;
// the flags follow the last colon, every entry has one).
func attrs(spec string) map[string]attr {
	m := map[string]attr{}
	for _, f := range strings.Fields(spec) {
		i := strings.LastIndex(f, ":")
		name, flags := f[:i], f[i+1:]
		m[name] = attr{post: strings.Contains(flags, "p"), put: strings.Contains(flags, "u"), required: strings.Contains(flags, "r")}
	}
	return m
}

// ftype is how a filter's values compare with an attribute.
type ftype int

const (
	fStr ftype = iota
	fBool
	fInt
	fFixedIPs
	fContains // a list attribute containing one of the values
)

// filters parses "name status admin_state_up:b mtu:i fixed_ips:f
// security_groups:c" (a suffix only when it is a type letter).
func filters(spec string) map[string]ftype {
	m := map[string]ftype{}
	types := map[string]ftype{"b": fBool, "i": fInt, "f": fFixedIPs, "c": fContains}
	for _, f := range strings.Fields(spec) {
		name, t := f, fStr
		if i := strings.LastIndex(f, ":"); i >= 0 {
			if ft, ok := types[f[i+1:]]; ok {
				name, t = f[:i], ft
			}
		}
		m[name] = t
	}
	return m
}

// kind is one resource collection and what the generic handlers need of it.
type kind struct {
	path       string // in the URL: "security-groups"
	collection string // in bodies: "security_groups"
	resource   string // "security_group"
	attrs      map[string]attr
	filters    map[string]ftype
	sorts      []string
	hidden     []string // attributes kept for filtering, never shown
	tagged     bool
	bulk       bool
	// unpaginated: the controller has allow_pagination=False, so limit
	// and marker are ignored.
	unpaginated bool
	// items returns the bodies of what the caller may see (all: every
	// project's, for admins), in creation order.
	items func(n *Neutron, s *state, c *caller) []map[string]any
	// find returns the body of what the caller may see, else the 404.
	find func(n *Neutron, s *state, c *caller, id string) (map[string]any, error)
	// create validates then adds one resource; returns its id.
	create func(n *Neutron, s *state, c *caller, in map[string]any) (string, error)
	update func(n *Neutron, s *state, c *caller, id string, in map[string]any) error
	del    func(n *Neutron, s *state, c *caller, id string) error
	// std returns the standard attributes (for tags) of what the caller
	// may see, else the 404.
	std func(s *state, c *caller, id string) (*Std, error)
}

var kinds []*kind

// newStd starts the standard attributes of a new resource.
func (n *Neutron) newStd(s *state, project string) Std {
	now := n.env.Now()
	s.Seq++
	return Std{ID: core.NewUUID(), ProjectID: project, CreatedAt: now, UpdatedAt: now, Seq: s.Seq, Tags: nil}
}

// touch records a change.
func (n *Neutron) touch(st *Std) {
	st.UpdatedAt = n.env.Now()
	st.Revision++
}

// put adds the standard attributes to a body.
func (st *Std) put(b map[string]any, named bool) map[string]any {
	b["id"] = st.ID
	b["tenant_id"] = st.ProjectID
	b["project_id"] = st.ProjectID
	b["description"] = st.Description
	b["created_at"] = core.FormatTime(st.CreatedAt, core.TimeSeconds)
	b["updated_at"] = core.FormatTime(st.UpdatedAt, core.TimeSeconds)
	b["revision_number"] = st.Revision
	tags := st.Tags
	if tags == nil {
		tags = []string{}
	}
	b["tags"] = tags
	if named {
		b["name"] = st.Name
	}
	return b
}

// Request bodies.

// readBody returns the request's JSON object (Neutron's messages for a
// missing or malformed one).
func readBody(r *http.Request) (map[string]any, error) {
	b, err := core.ReadBody(r, core.MaxJSONBody)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, badRequest("Resource body required")
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, badRequest("Body contains invalid data")
	}
	m, ok := normalize(v).(map[string]any)
	if !ok {
		return nil, badRequest("Body contains invalid data")
	}
	return m, nil
}

// normalize turns json.Number into float64 (int-valued numbers stay exact
// enough for ports, MTUs and quotas).
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// resourceBody extracts body[resource] as an object.
func resourceBody(body map[string]any, resource string) (map[string]any, error) {
	v, ok := body[resource]
	if !ok || v == nil {
		return nil, badRequest("Unable to find '%s' in request body", resource)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("Object '%s' contains invalid data", resource)
	}
	return m, nil
}

// prepare is Neutron's prepare_request_body: owner fields, unknown
// attributes, attributes a POST or PUT may not set, required ones. On a
// POST it sets "project_id" to the owner.
func (k *kind) prepare(c *caller, in map[string]any, create bool) error {
	tid, hasT := in["tenant_id"]
	pid, hasP := in["project_id"]
	if hasT && !hasP {
		pid, hasP = tid, true
	} else if hasP && !hasT {
		tid, hasT = pid, true
	}
	if hasT && !equalJSON(tid, pid) {
		return badRequest("'project_id' and 'tenant_id' do not match")
	}
	if hasP {
		if s, ok := pid.(string); !ok || (s != c.ProjectID && !c.privileged()) {
			if !ok {
				return badRequest("Invalid input for tenant_id. Reason: '%s' is not a valid string.", pyStr(pid))
			}
			return badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin or advsvc privileges")
		}
	}
	var unknown []string
	for key := range in {
		if _, ok := k.attrs[key]; !ok {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badRequest("Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
	}
	names := sortedKeys(k.attrs)
	for _, name := range names {
		a := k.attrs[name]
		_, present := in[name]
		if name == "tenant_id" || name == "project_id" {
			continue
		}
		if create {
			if !a.post && present {
				return badRequest("Attribute '%s' not allowed in POST", name)
			}
			if a.post && a.required && !present {
				return badRequest("Failed to parse request. Required attribute '%s' not specified", name)
			}
		} else if present && !a.put {
			return badRequest("Cannot update read-only attribute %s", name)
		}
	}
	if create {
		delete(in, "tenant_id")
		if hasP {
			in["project_id"] = pid
		} else {
			in["project_id"] = c.ProjectID
		}
	} else if hasT || hasP {
		return badRequest("Cannot update read-only attribute tenant_id")
	}
	return nil
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// The generic handlers.

func (n *Neutron) show(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	var b map[string]any
	err := n.state.View(func(s *state) error {
		var err error
		b, err = k.find(n, s, c, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{k.resource: k.view(b, c, r.URL.Query()["fields"])})
	return nil
}

// view strips hidden and admin-only attributes, then keeps only the
// asked-for fields (all when none).
func (k *kind) view(b map[string]any, c *caller, fields []string) map[string]any {
	out := make(map[string]any, len(b))
	for key, v := range b {
		if slices.Contains(k.hidden, key) || (!c.admin() && adminOnlyAttrs[key]) {
			continue
		}
		out[key] = v
	}
	var keep []string
	for _, f := range fields {
		if f != "" {
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		return out
	}
	sel := map[string]any{}
	for _, f := range keep {
		if v, ok := out[f]; ok {
			sel[f] = v
		}
	}
	return sel
}

// adminOnlyAttrs are shown to admins only (Neutron's get_<resource>:<attr>
// policies).
var adminOnlyAttrs = map[string]bool{
	"provider:network_type": true, "provider:physical_network": true, "provider:segmentation_id": true,
	"binding:host_id": true, "binding:profile": true, "binding:vif_type": true, "binding:vif_details": true,
	"distributed": true, "ha": true, "segment_id": true,
}

func (n *Neutron) create(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var items []map[string]any
	bulk := false
	if raw, ok := body[k.collection]; ok && k.bulk && body[k.resource] == nil {
		bulk = true
		list, ok := raw.([]any)
		if !ok || len(list) == 0 {
			return badRequest("Resources required")
		}
		for _, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				return badRequest("Body contains invalid data")
			}
			if inner, ok := m[k.resource]; ok {
				if m, ok = inner.(map[string]any); !ok {
					return badRequest("Object '%s' contains invalid data", k.resource)
				}
			}
			items = append(items, m)
		}
	} else {
		if _, ok := body[k.collection]; ok && body[k.resource] == nil {
			return badRequest("Bulk operation not supported")
		}
		m, err := resourceBody(body, k.resource)
		if err != nil {
			return err
		}
		items = []map[string]any{m}
	}
	for _, it := range items {
		if err := k.prepare(c, it, true); err != nil {
			return err
		}
	}
	var bodies []map[string]any
	err = n.state.Update(func(s *state) error {
		var saved []byte
		if len(items) > 1 {
			saved, _ = json.Marshal(s)
		}
		var ids []string
		for _, it := range items {
			id, err := k.create(n, s, c, it)
			if err != nil {
				if saved != nil {
					var fresh state
					if uerr := json.Unmarshal(saved, &fresh); uerr == nil {
						*s = fresh
					}
				}
				return err
			}
			ids = append(ids, id)
		}
		admin := &caller{Identity: &core.Identity{ProjectID: c.ProjectID, Roles: []string{"admin"}}}
		for _, id := range ids {
			b, err := k.find(n, s, admin, id)
			if err != nil {
				return err
			}
			bodies = append(bodies, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if bulk {
		out := make([]map[string]any, len(bodies))
		for i, b := range bodies {
			out[i] = k.view(b, c, nil)
		}
		core.WriteJSON(w, http.StatusCreated, map[string]any{k.collection: out})
		return nil
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{k.resource: k.view(bodies[0], c, nil)})
	return nil
}

func (n *Neutron) update(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	in, err := resourceBody(body, k.resource)
	if err != nil {
		return err
	}
	if err := k.prepare(c, in, false); err != nil {
		return err
	}
	id := r.PathValue("id")
	var b map[string]any
	err = n.state.Update(func(s *state) error {
		if err := k.update(n, s, c, id, in); err != nil {
			return err
		}
		admin := &caller{Identity: &core.Identity{ProjectID: c.ProjectID, Roles: []string{"admin"}}}
		var err error
		b, err = k.find(n, s, admin, id)
		return err
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{k.resource: k.view(b, c, nil)})
	return nil
}

func (n *Neutron) delete(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	err := n.state.Update(func(s *state) error { return k.del(n, s, c, r.PathValue("id")) })
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Lists: filters, sorting, pagination and fields as Neutron's API layer
// does them.

// queryPair is one key=value of the query string, in order.
type queryPair struct{ key, value string }

func orderedQuery(raw string) []queryPair {
	var out []queryPair
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		ku, err1 := url.QueryUnescape(k)
		vu, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, queryPair{ku, vu})
	}
	return out
}

var listSkips = map[string]bool{"fields": true, "sort_key": true, "sort_dir": true, "limit": true, "marker": true, "page_reverse": true}

var tagFilters = []string{"tags", "tags-any", "not-tags", "not-tags-any"}

// filterSet is the parsed filters of a list request.
type filterSet struct {
	keys   []string
	values map[string][]string
	types  map[string]ftype
	tags   map[string][]string
}

func (k *kind) parseFilters(pairs []queryPair) (*filterSet, error) {
	fs := &filterSet{values: map[string][]string{}, types: k.filters, tags: map[string][]string{}}
	var invalid []string
	seen := map[string]bool{}
	for _, p := range pairs {
		if listSkips[p.key] {
			continue
		}
		if k.tagged && slices.Contains(tagFilters, p.key) {
			for _, t := range strings.Split(p.value, ",") {
				if t != "" {
					fs.tags[p.key] = append(fs.tags[p.key], t)
				}
			}
			continue
		}
		if _, ok := k.filters[p.key]; !ok {
			if !seen[p.key] {
				invalid = append(invalid, p.key)
				seen[p.key] = true
			}
			continue
		}
		if !seen[p.key] {
			fs.keys = append(fs.keys, p.key)
			seen[p.key] = true
		}
		fs.values[p.key] = append(fs.values[p.key], p.value)
	}
	if len(invalid) > 0 {
		return nil, badRequest("%s is invalid attribute for filtering", pyStr(invalid))
	}
	if len(fs.values["tenant_id"]) > 0 && len(fs.values["project_id"]) > 0 {
		return nil, errf(http.StatusBadRequest, "TenantIdProjectIdFilterConflict", "Both tenant_id and project_id passed as filters.")
	}
	// Values are converted as the attributes' converters do (400 on a bad one).
	for key, vs := range fs.values {
		switch k.filters[key] {
		case fBool:
			for _, v := range vs {
				if _, err := toBool(v); err != nil {
					return nil, err
				}
			}
		case fInt:
			for _, v := range vs {
				if _, err := strconv.Atoi(v); err != nil {
					return nil, invalidInput("'%s' is not an integer", v)
				}
			}
		case fFixedIPs:
			for _, v := range vs {
				if !strings.Contains(v, "=") {
					return nil, invalidInput("'%s' is not of the form <key>=[value]", v)
				}
			}
		}
	}
	return fs, nil
}

func (fs *filterSet) match(b map[string]any) bool {
	for _, key := range fs.keys {
		want := fs.values[key]
		got := b[key]
		if key == "project_id" {
			got = b["tenant_id"]
		}
		ok := false
		switch fs.types[key] {
		case fBool:
			bv, isBool := got.(bool)
			for _, w := range want {
				if x, _ := toBool(w); isBool && x == bv {
					ok = true
				}
			}
		case fInt:
			for _, w := range want {
				x, _ := strconv.Atoi(w)
				if iv, isInt := got.(int); isInt && iv == x {
					ok = true
				}
			}
		case fFixedIPs:
			ok = matchFixedIPs(got, want)
		case fContains:
			list, _ := got.([]string)
			for _, w := range want {
				if slices.Contains(list, w) {
					ok = true
				}
			}
		default:
			s, isStr := got.(string)
			ok = isStr && slices.Contains(want, s)
		}
		if !ok {
			return false
		}
	}
	tags, _ := b["tags"].([]string)
	if all := fs.tags["tags"]; len(all) > 0 {
		for _, t := range all {
			if !slices.Contains(tags, t) {
				return false
			}
		}
	}
	if anyOf := fs.tags["tags-any"]; len(anyOf) > 0 && !containsAny(tags, anyOf) {
		return false
	}
	if all := fs.tags["not-tags"]; len(all) > 0 {
		hasAll := true
		for _, t := range all {
			if !slices.Contains(tags, t) {
				hasAll = false
			}
		}
		if hasAll {
			return false
		}
	}
	if anyOf := fs.tags["not-tags-any"]; len(anyOf) > 0 && containsAny(tags, anyOf) {
		return false
	}
	return true
}

func containsAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// matchFixedIPs: some fixed IP of the port matches every given key
// (ip_address, subnet_id, ip_address_substr).
func matchFixedIPs(got any, want []string) bool {
	ips, _ := got.([]map[string]any)
	crit := map[string][]string{}
	for _, w := range want {
		k, v, _ := strings.Cut(w, "=")
		crit[k] = append(crit[k], v)
	}
	for _, ip := range ips {
		addr, _ := ip["ip_address"].(string)
		sub, _ := ip["subnet_id"].(string)
		ok := true
		if vs := crit["ip_address"]; len(vs) > 0 && !slices.Contains(vs, addr) {
			ok = false
		}
		if vs := crit["subnet_id"]; len(vs) > 0 && !slices.Contains(vs, sub) {
			ok = false
		}
		for _, v := range crit["ip_address_substr"] {
			if !strings.Contains(addr, v) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

type sortKey struct {
	key string
	asc bool
}

func (k *kind) parseSorts(q url.Values) ([]sortKey, error) {
	var keys, dirs []string
	for _, v := range q["sort_key"] {
		if v != "" {
			keys = append(keys, v)
		}
	}
	for _, v := range q["sort_dir"] {
		if v != "" {
			dirs = append(dirs, v)
		}
	}
	if len(keys) != len(dirs) {
		return nil, badRequest("The number of sort_keys and sort_dirs must be same")
	}
	var absent, badDirs []string
	for _, key := range keys {
		if !slices.Contains(k.sorts, key) {
			absent = append(absent, key)
		}
	}
	if len(absent) > 0 {
		return nil, badRequest("%s is invalid attribute for sort_keys", pyStr(absent))
	}
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			badDirs = append(badDirs, d)
		}
	}
	if len(badDirs) > 0 {
		return nil, badRequest("%s is invalid value for sort_dirs, valid value is 'asc' and 'desc'", pyStr(badDirs))
	}
	out := make([]sortKey, len(keys))
	for i := range keys {
		out[i] = sortKey{keys[i], dirs[i] == "asc"}
	}
	return out, nil
}

// compareValues orders JSON-ish values: nil first, then by type.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case int:
		if y, ok := b.(int); ok {
			return cmpInt(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmpInt(boolInt(x), boolInt(y))
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (n *Neutron) list(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	q := r.URL.Query()
	pairs := orderedQuery(r.URL.RawQuery)
	fs, err := k.parseFilters(pairs)
	if err != nil {
		return err
	}
	sorts, err := k.parseSorts(q)
	if err != nil {
		return err
	}
	limit := 0
	if v := q.Get("limit"); v != "" && !k.unpaginated {
		l, err := strconv.Atoi(v)
		if err != nil || l < 0 {
			return badResource("limit", "Limit must be an integer 0 or greater and not '%s'", v)
		}
		limit = l
	}
	marker := q.Get("marker")
	if k.unpaginated {
		marker = ""
	}
	reverse := strings.EqualFold(q.Get("page_reverse"), "true")
	if k.resource == "security_group" {
		// Neutron makes a project's default group when it first lists them.
		n.ensureDefaultSGOnce(c.ProjectID)
	}
	var items []map[string]any
	var markerErr error
	_ = n.state.View(func(s *state) error {
		for _, b := range k.items(n, s, c) {
			if fs.match(b) {
				items = append(items, b)
			}
		}
		if limit > 0 && marker != "" {
			_, markerErr = k.find(n, s, c, marker)
		}
		return nil
	})
	if markerErr != nil {
		return markerErr
	}
	// Native pagination sorts by the primary key last.
	if limit > 0 && !slices.ContainsFunc(sorts, func(s sortKey) bool { return s.key == "id" }) {
		sorts = append(sorts, sortKey{"id", true})
	}
	if len(sorts) > 0 {
		sort.SliceStable(items, func(i, j int) bool {
			for _, sk := range sorts {
				c := compareValues(items[i][sk.key], items[j][sk.key])
				if c != 0 {
					return (c < 0) == sk.asc
				}
			}
			return false
		})
	}
	var links []map[string]string
	if limit > 0 {
		items = paginate(items, limit, marker, reverse)
		links = pageLinks(r, pairs, items, limit, reverse)
	}
	fields := q["fields"]
	out := make([]map[string]any, len(items))
	for i, b := range items {
		out[i] = k.view(b, c, fields)
	}
	resp := map[string]any{k.collection: out}
	if len(links) > 0 {
		resp[k.collection+"_links"] = links
	}
	core.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// paginate is PaginationEmulatedHelper.paginate on the sorted list.
func paginate(items []map[string]any, limit int, marker string, reverse bool) []map[string]any {
	i := 0
	if marker != "" {
		i = slices.IndexFunc(items, func(b map[string]any) bool { return b["id"] == marker })
		if i < 0 {
			return nil
		}
	} else if reverse {
		i = len(items)
	}
	if reverse {
		return items[max(i-limit, 0):i]
	}
	if marker != "" {
		i++
	}
	return items[i:min(i+limit, len(items))]
}

// pageLinks is get_pagination_links: "next" unless a short forward page,
// "previous" unless a short backward one.
func pageLinks(r *http.Request, pairs []queryPair, items []map[string]any, limit int, reverse bool) []map[string]string {
	var links []map[string]string
	base := core.ServiceURL(r) + r.URL.Path
	build := func(marker string, prev bool) string {
		var parts []string
		for _, p := range pairs {
			if p.key == "marker" || p.key == "page_reverse" {
				continue
			}
			parts = append(parts, url.QueryEscape(p.key)+"="+url.QueryEscape(p.value))
		}
		if marker != "" {
			parts = append(parts, "marker="+url.QueryEscape(marker))
		}
		if prev {
			parts = append(parts, "page_reverse=True")
		}
		return base + "?" + strings.Join(parts, "&")
	}
	if !(len(items) < limit && !reverse) {
		m := ""
		if len(items) > 0 {
			m = items[len(items)-1]["id"].(string)
		}
		links = append(links, map[string]string{"rel": "next", "href": build(m, false)})
	}
	if !(len(items) < limit && reverse) {
		m := ""
		if len(items) > 0 {
			m = items[0]["id"].(string)
		}
		links = append(links, map[string]string{"rel": "previous", "href": build(m, true)})
	}
	return links
}

// Value conversion and validation, with Neutron's messages.

// toBool is neutron-lib's convert_to_boolean.
func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case string:
		switch strings.ToLower(x) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
	}
	return false, invalidInput("'%s' cannot be converted to boolean", pyStr(v))
}

// toInt is convert_to_int.
func toInt(v any) (int, error) {
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) {
			return int(x), nil
		}
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return i, nil
		}
	case bool:
		return boolInt(x), nil
	}
	return 0, invalidInput("'%s' is not an integer", pyStr(v))
}

// str validates type:string with a maximum length.
func str(attrName string, v any, maxLen int) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", badRequest("Invalid input for %s. Reason: '%s' is not a valid string.", attrName, pyStr(v))
	}
	if maxLen > 0 && len([]rune(s)) > maxLen {
		return "", badRequest("Invalid input for %s. Reason: '%s' exceeds maximum length of %d.", attrName, s, maxLen)
	}
	return s, nil
}

// uuid validates type:uuid.
func uuid(attrName string, v any) (string, error) {
	s, ok := v.(string)
	if !ok || !isUUID(s) {
		return "", badRequest("Invalid input for %s. Reason: '%s' is not a valid UUID.", attrName, pyStr(v))
	}
	return s, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, ch := range s {
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", ch) {
				return false
			}
		}
	}
	return true
}

// stringList validates a list of strings.
func stringList(attrName string, v any) ([]string, error) {
	if v == nil {
		return []string{}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("Invalid input for %s. Reason: '%s' is not a list.", attrName, pyStr(v))
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, badRequest("Invalid input for %s. Reason: '%s' is not a valid string.", attrName, pyStr(e))
		}
		out = append(out, s)
	}
	return out, nil
}

// setStdFields applies name and description.
func setStdFields(st *Std, in map[string]any, named bool) error {
	if v, ok := in["name"]; ok && named {
		s, err := str("name", v, 255)
		if err != nil {
			return err
		}
		st.Name = s
	}
	if v, ok := in["description"]; ok {
		s, err := str("description", v, 255)
		if err != nil {
			return err
		}
		st.Description = s
	}
	return nil
}

// formatTime is Neutron's timestamp.
func formatTime(t time.Time) string { return core.FormatTime(t, core.TimeSeconds) }
