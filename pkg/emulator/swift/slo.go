package swift

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// sloETag is the large object's ETag: md5 of its segments' etags
// ("etag:range;" for ranged ones, md5 of inline data).
func sloETag(segs []Segment) string {
	h := md5.New()
	for _, sg := range segs {
		switch {
		case sg.Data != nil:
			s := md5.Sum(sg.Data)
			io.WriteString(h, hex.EncodeToString(s[:]))
		case sg.Range != "":
			fmt.Fprintf(h, "%s:%s;", sg.ETag, sg.Range)
		default:
			io.WriteString(h, sg.ETag)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// manifestJSON is the manifest as Swift stores it and serves it with
// ?multipart-manifest=get.
func manifestJSON(segs []Segment) []byte {
	items := make([]any, 0, len(segs))
	for _, sg := range segs {
		if sg.Data != nil {
			items = append(items, core.Obj("data", base64.StdEncoding.EncodeToString(sg.Data)))
			continue
		}
		m := core.Obj("name", sg.Path, "bytes", sg.Bytes, "hash", sg.ETag, "content_type", sg.Type, "last_modified", sg.LastModified)
		if sg.Range != "" {
			m.Set("range", sg.Range)
		}
		items = append(items, m)
	}
	return core.PyJSON(items, true)
}

// putManifest is slo's handle_multipart_put: the segments are checked
// (they must exist, be readable by the caller, match the etag and size
// given), then the manifest is stored.
func (s *Swift) putManifest(w http.ResponseWriter, rq *request) error {
	r := rq.r
	if r.ContentLength < 0 && !chunked(r) {
		return fail(http.StatusLengthRequired, "")
	}
	if r.ContentLength > MaxManifestSize {
		return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("Manifest File > %d bytes", MaxManifestSize))
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxManifestSize+1))
	if err != nil {
		return fail(http.StatusBadRequest, "")
	}
	var parsed []any
	var top any
	if err := json.Unmarshal(raw, &top); err != nil {
		return fail(http.StatusBadRequest, "Manifest must be valid JSON.\n")
	}
	parsed, ok := top.([]any)
	if !ok {
		return fail(http.StatusBadRequest, "Manifest must be a list.\n")
	}
	segs, errs := parseSegments(parsed, rq)
	if len(errs) > 0 {
		return failText(http.StatusBadRequest, "%s", strings.Join(errs, ""))
	}
	paths := 0
	for _, sg := range segs {
		if sg.Data == nil {
			paths++
		}
	}
	if paths > MaxManifestSegments {
		return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("Number of object-backed segments must be <= %d", MaxManifestSegments))
	}
	// HEAD every segment with the caller's rights.
	var problems [][]string
	for i := range segs {
		sg := &segs[i]
		if sg.Data != nil {
			continue
		}
		cn, on, _ := strings.Cut(strings.TrimPrefix(sg.Path, "/"), "/")
		sub := &request{r: r.Clone(r.Context()), id: rq.id, account: rq.account, container: cn, object: on, now: rq.now, temp: rq.temp}
		sub.r.Method = http.MethodHead
		if err := s.authorize(sub, s.acl(sub, "read")); err != nil {
			problems = append(problems, []string{pyQuote(sg.Path, "/"), statusLine(statusOf(err))})
			continue
		}
		var seg *Object
		var size int64
		var etag string
		_ = s.state.View(func(st *state) error {
			c := st.container(rq.account, cn)
			if o := c.liveObject(on, rq.now); o != nil {
				cp := *o
				seg = &cp
				v := st.view(rq.account, c, o, rq.now, false)
				size, etag = v.size, strings.Trim(v.etag, `"`)
			}
			return nil
		})
		if seg == nil {
			problems = append(problems, []string{pyQuote(sg.Path, "/"), "404 Not Found"})
			continue
		}
		length := size
		if sg.Range != "" {
			rg := parseRange("bytes="+sg.Range, size)
			if len(rg) != 1 {
				problems = append(problems, []string{pyQuote(sg.Path, "/"), "Unsatisfiable Range"})
			} else if rg[0][0] == 0 && rg[0][1] == size {
				sg.Range = ""
			} else {
				sg.Range = fmt.Sprintf("%d-%d", rg[0][0], rg[0][1]-1)
				length = rg[0][1] - rg[0][0]
			}
		}
		if length < 1 && i != len(segs)-1 {
			problems = append(problems, []string{pyQuote(sg.Path, "/"), "Too small; each segment must be at least 1 byte."})
		}
		if sg.Bytes >= 0 && sg.Bytes != size {
			problems = append(problems, []string{pyQuote(sg.Path, "/"), "Size Mismatch"})
		}
		if sg.ETag != "" && sg.ETag != etag {
			problems = append(problems, []string{pyQuote(sg.Path, "/"), "Etag Mismatch"})
		}
		sg.Path = "/" + strings.TrimPrefix(sg.Path, "/")
		sg.Bytes, sg.ETag, sg.Type, sg.LastModified = size, etag, seg.ContentType, isoformat(seg.LastModified)
	}
	if len(problems) > 0 {
		ctype, err := listingTypeAccept(r)
		if err != nil {
			ctype = "text/plain"
		}
		return &core.APIError{Status: http.StatusBadRequest, Message: string(bulkBody(ctype, nil, problems, "upload")), Type: ctype}
	}
	etag := sloETag(segs)
	if ce := strings.Trim(r.Header.Get("Etag"), `"`); ce != "" && ce != etag {
		return fail(http.StatusUnprocessableEntity, "")
	}
	manifest := manifestJSON(segs)
	r.Header.Del("Etag")
	o, err := newObject(rq, manifest)
	if err != nil {
		return err
	}
	o.Segments = segs
	if err := s.store(rq, o, r.Header.Get("If-None-Match") != ""); err != nil {
		return err
	}
	w.Header().Set("Etag", `"`+etag+`"`)
	w.Header().Set("Last-Modified", lastModified(o.LastModified))
	empty(w, r, http.StatusCreated)
	return nil
}

// parseSegments is parse_and_validate_input: the errors are its
// "Index N: ..." lines.
func parseSegments(parsed []any, rq *request) ([]Segment, []string) {
	var segs []Segment
	var errs []string
	self := "/" + rq.container + "/" + rq.object
	for i, raw := range parsed {
		d, ok := raw.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("Index %d: not a JSON object\n", i))
			continue
		}
		_, isPath := d["path"]
		_, isData := d["data"]
		if !isPath && !isData {
			errs = append(errs, fmt.Sprintf("Index %d: expected keys to include one of 'data' or 'path'\n", i))
			continue
		}
		allowed := map[string]bool{"data": true}
		if isPath {
			allowed = map[string]bool{"path": true, "etag": true, "size_bytes": true, "range": true}
		}
		var extra []string
		for k := range d {
			if !allowed[k] {
				extra = append(extra, strconv.Quote(k))
			}
		}
		if len(extra) > 0 {
			errs = append(errs, fmt.Sprintf("Index %d: extraneous keys %s\n", i, strings.Join(extra, ", ")))
			continue
		}
		if isData {
			str, _ := d["data"].(string)
			b, err := base64.StdEncoding.DecodeString(str)
			if err != nil {
				errs = append(errs, fmt.Sprintf("Index %d: data must be valid base64\n", i))
				continue
			}
			if len(b) < 1 {
				errs = append(errs, fmt.Sprintf("Index %d: too small; each segment must be at least 1 byte.\n", i))
				continue
			}
			segs = append(segs, Segment{Data: b, Bytes: int64(len(b))})
			continue
		}
		p, ok := d["path"].(string)
		if !ok {
			errs = append(errs, fmt.Sprintf("Index %d: \"path\" must be a string\n", i))
			continue
		}
		sg := Segment{Path: p, Bytes: -1}
		if e, present := d["etag"]; present && e != nil {
			es, ok := e.(string)
			if !ok {
				errs = append(errs, fmt.Sprintf("Index %d: \"etag\" must be a string or null (if provided)\n", i))
				continue
			}
			sg.ETag = strings.Trim(es, `"`)
		}
		if !strings.Contains(strings.Trim(p, "/"), "/") {
			errs = append(errs, fmt.Sprintf("Index %d: path does not refer to an object. Path must be of the form /container/object.\n", i))
			continue
		}
		if v, present := d["size_bytes"]; present && v != nil {
			var n int64
			switch x := v.(type) {
			case float64:
				n = int64(x)
			case string:
				var err error
				if n, err = strconv.ParseInt(x, 10, 64); err != nil {
					errs = append(errs, fmt.Sprintf("Index %d: invalid size_bytes\n", i))
					continue
				}
			default:
				errs = append(errs, fmt.Sprintf("Index %d: invalid size_bytes\n", i))
				continue
			}
			if n < 1 && i != len(parsed)-1 {
				errs = append(errs, fmt.Sprintf("Index %d: too small; each segment must be at least 1 byte.\n", i))
				continue
			}
			sg.Bytes = n
		}
		if "/"+strings.TrimPrefix(p, "/") == self {
			errs = append(errs, fmt.Sprintf("Index %d: manifest must not include itself as a segment\n", i))
			continue
		}
		if rg, present := d["range"]; present && rg != nil {
			rs, _ := rg.(string)
			parts := parseRange("bytes="+rs, 1<<62)
			if parts == nil {
				errs = append(errs, fmt.Sprintf("Index %d: invalid range\n", i))
				continue
			}
			if strings.Contains(rs, ",") {
				errs = append(errs, fmt.Sprintf("Index %d: multiple ranges (only one allowed)\n", i))
				continue
			}
			sg.Range = rs
		}
		segs = append(segs, sg)
	}
	if len(parsed) > 0 && len(segs) > 0 {
		allData := true
		for _, sg := range segs {
			if sg.Data == nil {
				allData = false
			}
		}
		if allData && len(errs) == 0 {
			errs = append(errs, "Inline data segments require at least one object-backed segment.\n")
		}
	}
	return segs, errs
}

// deleteManifest is DELETE ?multipart-manifest=delete: the segments and
// the manifest are deleted, answered as a bulk delete (200 with the
// outcome in the body).
func (s *Swift) deleteManifest(w http.ResponseWriter, rq *request) error {
	ctype, err := listingTypeAccept(rq.r)
	res := bulkResult{status: "200 OK"}
	if err != nil {
		res.status = "406 Not Acceptable"
		ctype = "text/plain"
	} else {
		var segs []Segment
		isSLO, found := false, false
		_ = s.state.View(func(st *state) error {
			if o := st.container(rq.account, rq.container).liveObject(rq.object, rq.now); o != nil {
				found = true
				if o.Segments != nil {
					isSLO = true
					segs = append(segs, o.Segments...)
				}
			}
			return nil
		})
		switch {
		case !found:
			res.status, res.body = "404 Not Found", defaultBody(http.StatusNotFound)
		case !isSLO:
			res.status, res.body = "400 Bad Request", "Not an SLO manifest"
		default:
			var names []string
			for _, sg := range segs {
				if sg.Data == nil {
					names = append(names, sg.Path)
				}
			}
			names = append(names, "/"+rq.container+"/"+rq.object)
			s.deleteNames(rq, names, &res)
		}
	}
	writeBulk(w, rq.r, ctype, res)
	return nil
}

func statusOf(err error) int {
	if ae, ok := core.AsAPIError(err); ok {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// statusLine is swob's "404 Not Found".
func statusLine(code int) string {
	if r, ok := reasons[code]; ok {
		return strconv.Itoa(code) + " " + r[0]
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}
