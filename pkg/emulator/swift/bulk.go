package swift

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// bulkResult is the outcome of a bulk delete (or a manifest delete).
type bulkResult struct {
	status   string // "200 OK", "400 Bad Request", ...
	body     string
	deleted  int
	notFound int
	errors   [][]string // [quoted name, status]
}

// listingTypeAccept is the bulk middleware's out_content_type: the best
// of text/plain, application/json, application/xml, text/xml for Accept.
func listingTypeAccept(r *http.Request) (string, error) {
	r2 := r.Clone(r.Context())
	q := r2.URL.Query()
	q.Del("format")
	r2.URL.RawQuery = q.Encode()
	return listingType(r2)
}

// bulkBody is bulk.get_response_body.
func bulkBody(ctype string, data map[string]any, errs [][]string, root string) []byte {
	if errs == nil {
		errs = [][]string{}
	}
	switch {
	case ctype == "application/json":
		m := core.Obj()
		for _, k := range []string{"Response Status", "Response Body", "Number Deleted", "Number Not Found", "Etag", "Last Modified"} {
			if v, ok := data[k]; ok {
				m.Set(k, v)
			}
		}
		m.Set("Errors", errs)
		return core.PyJSON(m, true)
	case strings.HasSuffix(ctype, "/xml"):
		var b bytes.Buffer
		b.WriteString("<" + root + ">\n")
		for _, k := range sortedKeys(data) {
			xk := strings.ToLower(strings.ReplaceAll(k, " ", "_"))
			b.WriteString("<" + xk + ">" + xmlEscapeText(fmt.Sprint(data[k])) + "</" + xk + ">\n")
		}
		b.WriteString("<errors>\n")
		for _, e := range errs {
			b.WriteString("<object><name>" + xmlEscapeText(e[0]) + "</name><status>" + xmlEscapeText(e[1]) + "</status></object>\n")
		}
		b.WriteString("</errors>\n</" + root + ">\n")
		return b.Bytes()
	}
	var b bytes.Buffer
	for _, k := range sortedKeys(data) {
		fmt.Fprintf(&b, "%s: %v\n", k, data[k])
	}
	b.WriteString("Errors:\n")
	for _, e := range errs {
		fmt.Fprintf(&b, "%s, %s\n", e[0], e[1])
	}
	return b.Bytes()
}

func xmlEscapeText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeBulk answers 200 with the outcome, in the negotiated type (the
// status of the work is in the body, as Swift streams it).
func writeBulk(w http.ResponseWriter, r *http.Request, ctype string, res bulkResult) {
	data := map[string]any{"Response Status": res.status, "Response Body": res.body,
		"Number Deleted": res.deleted, "Number Not Found": res.notFound}
	body := bulkBody(ctype, data, res.errors, "delete")
	if strings.HasSuffix(ctype, "/xml") {
		body = append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), body...)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// bulkDelete is POST/DELETE /v1/<account>?bulk-delete with a text/plain
// body of URL-quoted /container/object and /container lines.
func (s *Swift) bulkDelete(w http.ResponseWriter, rq *request) error {
	r := rq.r
	res := bulkResult{status: "200 OK"}
	ctype, err := listingTypeAccept(r)
	if err != nil {
		ctype = "text/plain"
		res.status = "406 Not Acceptable"
		writeBulk(w, r, ctype, res)
		return nil
	}
	if in := r.Header.Get("Content-Type"); in != "" && !strings.HasPrefix(in, "text/plain") {
		res.status, res.body = "406 Not Acceptable", defaultBody(http.StatusNotAcceptable)
		writeBulk(w, r, ctype, res)
		return nil
	}
	var names []string
	sc := bufio.NewScanner(io.LimitReader(r.Body, int64(MaxDeletesPerRequest)*(MaxObjectNameLength+MaxContainerNameLength+2)))
	sc.Buffer(make([]byte, 4096), 1<<16)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		names = append(names, unquote(line))
		if len(names) > MaxDeletesPerRequest {
			res.status, res.body = "413 Request Entity Too Large", fmt.Sprintf("Maximum Bulk Deletes: %d per request", MaxDeletesPerRequest)
			writeBulk(w, r, ctype, res)
			return nil
		}
	}
	s.deleteNames(rq, names, &res)
	if len(res.errors) == 0 && res.deleted == 0 && res.notFound == 0 {
		res.status, res.body = "400 Bad Request", "Invalid bulk delete."
	}
	writeBulk(w, r, ctype, res)
	return nil
}

// deleteNames deletes "/container/object" and "/container" paths of the
// request's account with the caller's rights, objects first.
func (s *Swift) deleteNames(rq *request, names []string, res *bulkResult) {
	var objs, conts []string
	for _, n := range names {
		if strings.Contains(strings.Trim(n, "/"), "/") {
			objs = append(objs, n)
		} else {
			conts = append(conts, n)
		}
	}
	for _, n := range append(objs, conts...) {
		c, o, _ := strings.Cut(strings.TrimPrefix(n, "/"), "/")
		sub := &request{r: rq.r.Clone(rq.r.Context()), id: rq.id, account: rq.account, container: c, object: o, now: rq.now, temp: rq.temp}
		sub.r.Method = http.MethodDelete
		var err error
		if o != "" {
			if err = s.authorize(sub, s.acl(sub, "write")); err == nil {
				err = s.doDeleteObject(sub)
			}
		} else {
			if err = s.authorize(sub, ""); err == nil {
				err = s.doDeleteContainer(sub)
			}
		}
		switch code := statusOf(err); {
		case err == nil:
			res.deleted++
		case code == http.StatusNotFound:
			res.notFound++
		default:
			res.errors = append(res.errors, []string{pyQuote(n, "/"), statusLine(code)})
		}
		if len(res.errors) >= MaxFailedDeletes {
			res.status, res.body = "400 Bad Request", "Max delete failures exceeded"
			return
		}
	}
	if len(res.errors) > 0 {
		res.status = "400 Bad Request"
	}
}
