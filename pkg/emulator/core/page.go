package core

import (
	"net/http"
	"net/url"
	"strconv"
)

// Page is a list request's limit/marker.
type Page struct {
	Limit  int    // 0: no limit given
	Marker string // id of the last item of the previous page
}

// ParsePage reads ?limit= and ?marker=. A limit that is not a
// non-negative integer is a 400; a limit above max is cut to max
// (max <= 0: no maximum).
func ParsePage(r *http.Request, max int) (Page, error) {
	q := r.URL.Query()
	p := Page{Marker: q.Get("marker")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Page{}, BadRequest("Invalid limit value %s: limit must be a non-negative integer", s)
		}
		p.Limit = n
	}
	if max > 0 && p.Limit > max {
		p.Limit = max
	}
	return p, nil
}

// Paginate returns the page of items after the marker (items in their
// listing order; key gives an item's id) and whether more follow. An
// unknown marker is a 400 "marker [x] not found" (Nova's and Cinder's
// wording; Glance and Neutron say it differently: wrap it).
func Paginate[T any](items []T, key func(T) string, p Page) ([]T, bool, error) {
	start := 0
	if p.Marker != "" {
		start = -1
		for i, it := range items {
			if key(it) == p.Marker {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, false, BadRequest("marker [%s] not found", p.Marker)
		}
	}
	items = items[start:]
	if p.Limit > 0 && len(items) > p.Limit {
		return items[:p.Limit], true, nil
	}
	return items, false, nil
}

// NextPath returns the request's path and query with marker set to the
// given id, relative to the service's endpoint (Glance's "next":
// "/v2/images?marker=..."); AbsoluteURL makes it absolute.
func NextPath(r *http.Request, marker string) string {
	q := r.URL.Query()
	q.Set("marker", marker)
	return r.URL.Path + "?" + q.Encode()
}

// ServiceURL returns the absolute URL of the service's root as the client
// reached it, e.g. http://127.0.0.1:5000/image.
func ServiceURL(r *http.Request) string {
	return "http://" + r.Host + ServicePrefix(r)
}

// AbsoluteURL joins ServiceURL and a service-relative path.
func AbsoluteURL(r *http.Request, rel string) string { return ServiceURL(r) + rel }

// NextLinks returns Nova/Cinder/Neutron style links ([{"rel": "next",
// "href": ...}]) for a page after which more follow; nil otherwise.
func NextLinks(r *http.Request, more bool, lastID string) []map[string]string {
	if !more {
		return nil
	}
	return []map[string]string{{"rel": "next", "href": AbsoluteURL(r, NextPath(r, lastID))}}
}

// MatchFilters reports whether an item passes the query's filters: for
// every key of fields present in the query, the item's value must equal
// one of the query's values for it. Keys absent from fields are ignored
// (the services ignore unknown filters).
func MatchFilters(q url.Values, fields map[string]string) bool {
	for k, v := range fields {
		want, ok := q[k]
		if !ok {
			continue
		}
		match := false
		for _, w := range want {
			if w == v {
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
