package octavia

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// listItem is one object of a list answer: its body, and the filters
// Octavia accepts on it that the body does not show (loadbalancer_id on
// a listener, pool_id on a health monitor).
type listItem struct {
	body    map[string]any
	hidden  map[string]string
	id      string
	created time.Time
}

// auxiliary are the list parameters that are not filters
// (api/common/pagination.py).
var auxiliary = map[string]bool{"limit": true, "marker": true, "sort": true, "sort_key": true,
	"sort_dir": true, "fields": true, "page_reverse": true}

type sortKey struct{ key, dir string }

// listProject is _auth_get_all: an admin lists every project (or the one
// asked for); others their own project, and asking for another is a 403.
func listProject(r *http.Request) (string, error) {
	id := core.IdentityOf(r)
	pid := r.URL.Query().Get("project_id")
	if id.IsAdmin() {
		return pid, nil
	}
	if pid == "" {
		return id.ProjectID, nil
	}
	if pid != id.ProjectID {
		return "", policyForbidden()
	}
	return pid, nil
}

// writeList filters, sorts and pages items as Octavia's PaginationHelper
// does and answers {key: [...], key_links: [...]}.
func writeList(w http.ResponseWriter, r *http.Request, key string, items []listItem, sample listItem) error {
	q := r.URL.Query()
	limit := maxPageLimit
	if q.Has("limit") {
		l := q.Get("limit")
		n, err := strconv.Atoi(strings.TrimSpace(l))
		switch {
		case l == "infinite":
			limit = 0
		case err != nil:
			return core.BadRequest("Supplied pagination limit '%s' is not valid.", l)
		case n < 1:
			limit = 0
		default:
			limit = min(n, maxPageLimit)
		}
	}
	keys, err := parseSort(q)
	if err != nil {
		return err
	}
	// Filters.
	filters := map[string][]string{}
	tags := map[string][]string{}
	for k, vs := range q {
		if auxiliary[k] {
			continue
		}
		switch k {
		case "tags", "tags-any", "not-tags", "not-tags-any":
			for _, v := range vs {
				tags[k] = append(tags[k], strings.Split(v, ",")...)
			}
			continue
		}
		filters[k] = vs
	}
	for k := range filters {
		if _, ok := sample.body[k]; !ok {
			if _, ok := sample.hidden[k]; !ok {
				return core.BadRequest("One or more arguments are either duplicate or invalid")
			}
		}
	}
	all := items
	var kept []listItem
	for _, it := range items {
		if matchFilters(it, filters) && matchTags(it.body, tags) {
			kept = append(kept, it)
		}
	}
	// Sort: the asked keys, then created_at and id.
	for _, d := range []string{"created_at", "id"} {
		if _, ok := sample.body[d]; !ok {
			continue
		}
		found := false
		for _, k := range keys {
			found = found || k.key == d
		}
		if !found {
			keys = append(keys, sortKey{d, "asc"})
		}
	}
	for _, k := range keys {
		if _, ok := sample.body[k.key]; !ok {
			return core.BadRequest("Supplied sort key '%s' is not valid.", k.key)
		}
	}
	less := func(a, b map[string]any) int {
		for _, k := range keys {
			c := compareValues(a[k.key], b[k.key])
			if k.dir == "desc" {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
	sort.SliceStable(kept, func(i, j int) bool { return less(kept[i].body, kept[j].body) < 0 })
	marker := q.Get("marker")
	if marker != "" {
		var mb map[string]any
		for _, it := range all {
			if it.id == marker {
				mb = it.body
			}
		}
		if mb == nil {
			return core.BadRequest("Supplied pagination marker '%s' is not valid.", marker)
		}
		reverse := q.Get("page_reverse") == "True"
		var after []listItem
		for _, it := range kept {
			c := less(it.body, mb)
			if (!reverse && c > 0) || (reverse && c < 0) {
				after = append(after, it)
			}
		}
		kept = after
	}
	if limit > 0 && len(kept) > limit {
		kept = kept[:limit]
	}
	fields := listFields(q)
	out := make([]map[string]any, 0, len(kept))
	for _, it := range kept {
		out = append(out, selectFields(it.body, fields))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{key: out, key + "_links": pageLinks(r, kept, limit, marker)})
	return nil
}

func parseSort(q url.Values) ([]sortKey, error) {
	var keys []sortKey
	dir := func(d string) (string, error) {
		d = strings.ToLower(d)
		if d != "asc" && d != "desc" {
			return "", core.BadRequest("Supplied sort direction '%s' is not valid.", d)
		}
		return d, nil
	}
	if s := q.Get("sort"); s != "" {
		for _, part := range strings.Split(s, ",") {
			comps := strings.Split(part, ":")
			switch len(comps) {
			case 1:
				keys = append(keys, sortKey{comps[0], "asc"})
			case 2:
				d, err := dir(comps[1])
				if err != nil {
					return nil, err
				}
				keys = append(keys, sortKey{comps[0], d})
			default:
				quoted := make([]string, len(comps))
				for i, c := range comps {
					quoted[i] = "'" + c + "'"
				}
				return nil, core.BadRequest("Supplied sort key '[%s]' is not valid.", strings.Join(quoted, ", "))
			}
		}
		return keys, nil
	}
	if s := q.Get("sort_key"); s != "" {
		sk := strings.Split(s, ",")
		var sd []string
		if d := q.Get("sort_dir"); d != "" {
			sd = strings.Split(d, ",")
		}
		for i, k := range sk {
			d := "asc"
			if i < len(sd) {
				d = sd[i]
			}
			dd, err := dir(d)
			if err != nil {
				return nil, err
			}
			keys = append(keys, sortKey{k, dd})
		}
	}
	return keys, nil
}

func matchFilters(it listItem, filters map[string][]string) bool {
	for k, want := range filters {
		var have any
		if v, ok := it.body[k]; ok {
			have = v
		} else {
			have = it.hidden[k]
		}
		match := false
		for _, w := range want {
			if valueEquals(have, w) {
				match = true
				break
			}
		}
		if !match {
			return false
		}
	}
	return true
}

// valueEquals compares a body value with a query string.
func valueEquals(v any, s string) bool {
	switch x := v.(type) {
	case nil:
		return s == "" || s == "None" || s == "null"
	case bool:
		l := strings.ToLower(s)
		if x {
			return enumTrue[l]
		}
		return enumFalse[l]
	case string:
		return x == s
	case int:
		return strconv.Itoa(x) == s
	case []map[string]string:
		for _, e := range x {
			if e["id"] == s {
				return true
			}
		}
		return false
	}
	return fmt.Sprint(v) == s
}

func matchTags(b map[string]any, q map[string][]string) bool {
	if len(q) == 0 {
		return true
	}
	tags, _ := b["tags"].([]string)
	has := map[string]bool{}
	for _, t := range tags {
		has[t] = true
	}
	allOf := func(l []string) bool {
		for _, t := range l {
			if !has[t] {
				return false
			}
		}
		return true
	}
	anyOf := func(l []string) bool {
		for _, t := range l {
			if has[t] {
				return true
			}
		}
		return false
	}
	if l, ok := q["tags"]; ok && !allOf(l) {
		return false
	}
	if l, ok := q["tags-any"]; ok && !anyOf(l) {
		return false
	}
	if l, ok := q["not-tags"]; ok && allOf(l) {
		return false
	}
	if l, ok := q["not-tags-any"]; ok && anyOf(l) {
		return false
	}
	return true
}

// compareValues orders body values: nil first, numbers numerically,
// everything else as strings.
func compareValues(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	if x, ok := a.(int); ok {
		if y, ok := b.(int); ok {
			return x - y
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func listFields(q url.Values) []string {
	var out []string
	for _, f := range q["fields"] {
		for _, p := range strings.Split(f, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// selectFields is _filter_fields: only the asked attributes (none asked:
// all of them).
func selectFields(b map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return b
	}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := b[f]; ok {
			out[f] = v
		}
	}
	return out
}

// pageLinks is PaginationHelper._make_links.
func pageLinks(r *http.Request, page []listItem, limit int, marker string) []map[string]string {
	links := []map[string]string{}
	if len(page) == 0 || limit == 0 {
		return links
	}
	base := "http://" + r.Host + core.FullPath(r)
	attrs := []string{fmt.Sprintf("limit=%d", limit)}
	q := r.URL.Query()
	if s := q.Get("sort"); s != "" {
		attrs = append(attrs, "sort="+s)
	}
	if s := q.Get("sort_key"); s != "" {
		attrs = append(attrs, "sort_key="+s)
	}
	if marker != "" {
		prev := append(append([]string{}, attrs...), "marker="+page[0].id, "page_reverse=True")
		links = append(links, map[string]string{"rel": "previous", "href": base + "?" + strings.Join(prev, "&")})
	}
	if len(page) >= limit {
		next := append(append([]string{}, attrs...), "marker="+page[len(page)-1].id)
		links = append(links, map[string]string{"rel": "next", "href": base + "?" + strings.Join(next, "&")})
	}
	return links
}

// showFields applies ?fields= to a single object's answer.
func showFields(r *http.Request, b map[string]any) map[string]any {
	return selectFields(b, listFields(r.URL.Query()))
}
