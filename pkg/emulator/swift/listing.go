package swift

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// listingType is listing_formats.get_listing_content_type: ?format= wins
// (json, xml, anything else plain), else the best match of Accept among
// text/plain, application/json, application/xml, text/xml; 406 when
// nothing matches.
func listingType(r *http.Request) (string, error) {
	if f := r.URL.Query().Get("format"); f != "" {
		switch strings.ToLower(f) {
		case "json":
			return "application/json", nil
		case "xml":
			return "application/xml", nil
		}
		return "text/plain", nil
	}
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return "text/plain", nil
	}
	offers := []string{"text/plain", "application/json", "application/xml", "text/xml"}
	best, bestQ, bestSpec := "", 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.TrimSpace(k) == "q" {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return "", fail(http.StatusBadRequest, "Invalid Accept header")
				}
				q = f
			}
		}
		for _, o := range offers {
			spec := -1
			switch {
			case mt == o:
				spec = 2
			case strings.HasSuffix(mt, "/*") && strings.HasPrefix(o, strings.TrimSuffix(mt, "*")):
				spec = 1
			case mt == "*/*" || mt == "*":
				spec = 0
			}
			if spec < 0 || q <= 0 {
				continue
			}
			if q > bestQ || (q == bestQ && spec > bestSpec) {
				best, bestQ, bestSpec = o, q, spec
			}
		}
	}
	if best == "" {
		return "", fail(http.StatusNotAcceptable, "")
	}
	return best, nil
}

// listParams are a listing's query parameters.
type listParams struct {
	prefix, delimiter, marker, endMarker, path string
	limit                                      int
	reverse                                    bool
	hasPath                                    bool
}

func parseListParams(r *http.Request, max int) (listParams, error) {
	q := r.URL.Query()
	lp := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), marker: q.Get("marker"),
		endMarker: q.Get("end_marker"), path: q.Get("path"), limit: max, hasPath: q.Has("path")}
	if s := q.Get("limit"); s != "" && isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n > max {
			return lp, fail(http.StatusPreconditionFailed, "Maximum limit is "+strconv.Itoa(max))
		}
		lp.limit = n
	}
	switch strings.ToLower(q.Get("reverse")) {
	case "true", "1", "yes", "on", "t", "y":
		lp.reverse = true
	}
	if lp.delimiter != "" && len(lp.delimiter) > 1 {
		// The container broker only splits on one character.
		return lp, fail(http.StatusPreconditionFailed, "Bad delimiter")
	}
	return lp, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// entry is one line of a listing: an item or a subdir.
type entry struct {
	name   string
	subdir bool
	item   any
}

// list applies prefix, delimiter, marker, end_marker, reverse and limit
// to sorted names, as the account and container brokers do.
func list(names []string, lp listParams, item func(string) any) []entry {
	sort.Strings(names)
	if lp.reverse {
		for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
			names[i], names[j] = names[j], names[i]
		}
	}
	prefix, delim := lp.prefix, lp.delimiter
	if lp.hasPath {
		prefix, delim = lp.path, "/"
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
	}
	var out []entry
	lastSub := ""
	for _, n := range names {
		if len(out) >= lp.limit {
			break
		}
		if lp.marker != "" && ((!lp.reverse && n <= lp.marker) || (lp.reverse && n >= lp.marker)) {
			continue
		}
		if lp.endMarker != "" && ((!lp.reverse && n >= lp.endMarker) || (lp.reverse && n <= lp.endMarker)) {
			break
		}
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(n[len(prefix):], delim); i >= 0 {
				sub := n[:len(prefix)+i+len(delim)]
				if lp.hasPath {
					continue // path= lists the objects directly under it only
				}
				if sub == lastSub || (lp.marker != "" && !lp.reverse && sub <= lp.marker) {
					continue
				}
				lastSub = sub
				out = append(out, entry{name: sub, subdir: true})
				continue
			}
		}
		out = append(out, entry{name: n, item: item(n)})
	}
	return out
}

// renderListing writes a listing in the negotiated type: an empty plain
// listing is a 204, JSON and XML always have a body (listing_formats).
func renderListing(w http.ResponseWriter, r *http.Request, ctype string, entries []entry, xmlRoot, xmlItem, baseName string, xmlFields []string) {
	var body []byte
	switch ctype {
	case "application/json":
		items := make([]any, 0, len(entries))
		for _, e := range entries {
			if e.subdir {
				items = append(items, map[string]string{"subdir": e.name})
			} else {
				items = append(items, e.item)
			}
		}
		body = core.PyJSON(items, true)
	case "application/xml", "text/xml":
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		b.WriteString("<" + xmlRoot + ` name="` + xmlEscape(baseName) + `">`)
		if xmlRoot == "account" {
			b.WriteString("\n")
		}
		for _, e := range entries {
			if e.subdir {
				b.WriteString(`<subdir name="` + xmlEscape(e.name) + `">`)
				if xmlRoot == "container" {
					b.WriteString("<name>" + xmlEscape(e.name) + "</name>")
				}
				b.WriteString("</subdir>")
			} else {
				m := e.item.(core.Ordered)
				b.WriteString("<" + xmlItem + ">")
				for _, f := range xmlFields {
					b.WriteString("<" + f + ">" + xmlEscape(pyStr(m.Vals[f])) + "</" + f + ">")
				}
				b.WriteString("</" + xmlItem + ">")
			}
			if xmlRoot == "account" {
				b.WriteString("\n")
			}
		}
		b.WriteString("</" + xmlRoot + ">")
		body = b.Bytes()
	default:
		var b bytes.Buffer
		for _, e := range entries {
			b.WriteString(e.name + "\n")
		}
		body = b.Bytes()
	}
	if !r.URL.Query().Has("format") {
		w.Header().Set("Vary", "Accept")
	}
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	if len(body) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
