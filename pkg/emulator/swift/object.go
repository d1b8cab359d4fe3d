package swift

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (s *Swift) serveObject(w http.ResponseWriter, rq *request) error {
	r := rq.r
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if err := s.authorize(rq, s.acl(rq, "read")); err != nil {
			return err
		}
		return s.getObject(w, rq)
	case http.MethodPut:
		if r.Header.Get("X-Copy-From") != "" {
			return s.copyFrom(w, rq)
		}
		if err := s.authorize(rq, s.acl(rq, "write")); err != nil {
			return err
		}
		if q.Get("multipart-manifest") == "put" {
			return s.putManifest(w, rq)
		}
		return s.putObject(w, rq)
	case http.MethodPost:
		if err := s.authorize(rq, s.acl(rq, "write")); err != nil {
			return err
		}
		return s.postObject(w, rq)
	case http.MethodDelete:
		if err := s.authorize(rq, s.acl(rq, "write")); err != nil {
			return err
		}
		if q.Get("multipart-manifest") == "delete" {
			return s.deleteManifest(w, rq)
		}
		return s.deleteObject(w, rq)
	case "COPY":
		return s.copyVerb(w, rq)
	case http.MethodOptions:
		w.Header().Set("Allow", objectMethods)
		empty(w, r, http.StatusOK)
		return nil
	}
	return allowOnly(objectMethods)
}

// objectView is what a GET or HEAD serves, copied out of the state.
type objectView struct {
	obj     Object
	data    []byte // the bytes to serve (a large object's concatenation)
	etag    string // as sent in Etag (quoted for large objects)
	size    int64
	missing string // a segment that could not be read
}

// view resolves an object for reading: large objects are concatenated
// from their segments (in the same account).
func (st *state) view(account string, c *Container, o *Object, now time.Time, manifestOnly bool) objectView {
	return st.viewDepth(account, c, o, now, manifestOnly, 0)
}

// maxSLODepth is slo's max_slo_recursion_depth.
const maxSLODepth = 10

func (st *state) viewDepth(account string, c *Container, o *Object, now time.Time, manifestOnly bool, depth int) objectView {
	v := objectView{obj: *o, data: o.Data, etag: o.ETag, size: int64(len(o.Data))}
	if manifestOnly {
		return v
	}
	switch {
	case o.Segments != nil:
		var data []byte
		for _, sg := range o.Segments {
			if sg.Data != nil {
				data = append(data, sg.Data...)
				continue
			}
			cn, on, _ := strings.Cut(strings.TrimPrefix(sg.Path, "/"), "/")
			seg := st.container(account, cn).liveObject(on, now)
			if seg == nil {
				v.missing = sg.Path
				break
			}
			if depth >= maxSLODepth {
				v.missing = sg.Path
				break
			}
			sv := st.viewDepth(account, st.container(account, cn), seg, now, false, depth+1)
			if sv.missing != "" {
				v.missing = sv.missing
				break
			}
			part := sv.data
			if sg.Range != "" {
				if rg := parseRange("bytes="+sg.Range, int64(len(part))); len(rg) == 1 {
					part = part[rg[0][0]:rg[0][1]]
				}
			}
			data = append(data, part...)
		}
		v.data, v.size, v.etag = data, int64(len(data)), `"`+sloETag(o.Segments)+`"`
	case o.Headers["X-Object-Manifest"] != "":
		cn, prefix, _ := strings.Cut(unquote(strings.TrimPrefix(o.Headers["X-Object-Manifest"], "/")), "/")
		sc := st.container(account, cn)
		var names []string
		if sc != nil {
			for n, so := range sc.Objects {
				if strings.HasPrefix(n, prefix) && !so.expired(now) && !(sc == c && n == o.Name) {
					names = append(names, n)
				}
			}
		}
		sort.Strings(names)
		h := md5.New()
		var data []byte
		for _, n := range names {
			so := sc.Objects[n]
			data = append(data, so.Data...)
			io.WriteString(h, so.ETag)
		}
		v.data, v.size, v.etag = data, int64(len(data)), `"`+hex.EncodeToString(h.Sum(nil))+`"`
	}
	return v
}

// objectHeaders sets the object server's headers for GET and HEAD.
func objectHeaders(h http.Header, v objectView) {
	o := v.obj
	h.Set("Content-Type", o.ContentType)
	h.Set("Etag", v.etag)
	h.Set("Last-Modified", lastModified(o.LastModified))
	h.Set("X-Timestamp", xTimestamp(o.LastModified))
	h.Set("Accept-Ranges", "bytes")
	for k, val := range o.Meta {
		h.Set("X-Object-Meta-"+k, val)
	}
	for k, val := range o.Headers {
		h.Set(k, val)
	}
	if o.DeleteAt > 0 {
		h.Set("X-Delete-At", strconv.FormatInt(o.DeleteAt, 10))
	}
	if o.Segments != nil {
		h.Set("X-Static-Large-Object", "True")
	}
}

func (s *Swift) getObject(w http.ResponseWriter, rq *request) error {
	manifestGet := rq.r.URL.Query().Get("multipart-manifest") == "get"
	var v objectView
	found := false
	_ = s.state.View(func(st *state) error {
		c := st.container(rq.account, rq.container)
		o := c.liveObject(rq.object, rq.now)
		if o == nil {
			return nil
		}
		found = true
		v = st.view(rq.account, c, o, rq.now, manifestGet)
		return nil
	})
	if !found {
		return fail(http.StatusNotFound, "")
	}
	if v.missing != "" {
		return fail(http.StatusConflict, "")
	}
	objectHeaders(w.Header(), v)
	if manifestGet && v.obj.Segments != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Etag", v.obj.ETag)
	}
	if rq.temp != nil {
		rq.temp.headers(w.Header(), rq)
	}
	if st := conditional(rq.r, strings.Trim(v.etag, `"`), v.obj.LastModified); st != 0 {
		w.Header().Del("Content-Type")
		if st == http.StatusPreconditionFailed {
			return fail(st, "")
		}
		w.WriteHeader(st)
		return nil
	}
	serveBytes(w, rq.r, v.data)
	return nil
}

// conditional is swob's conditional response for GET/HEAD: 304 or 412,
// or 0 to serve.
func conditional(r *http.Request, etag string, modified time.Time) int {
	if im := r.Header.Get("If-Match"); im != "" && !etagMatch(im, etag) {
		return http.StatusPreconditionFailed
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		return http.StatusNotModified
	}
	mod := time.Unix(int64(ceilSeconds(modified)), 0)
	if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mod.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && r.Header.Get("If-None-Match") == "" {
		if t, err := http.ParseTime(ims); err == nil && !mod.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

func ceilSeconds(t time.Time) float64 {
	s := float64(t.UnixNano()) / 1e9
	if s != float64(int64(s)) {
		return float64(int64(s) + 1)
	}
	return s
}

// etagMatch is swob's Match: "*" or a comma list of (quoted) etags.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == etag {
			return true
		}
	}
	return false
}

// serveBytes answers a GET/HEAD with data, honouring Range as swob does:
// one satisfiable range is a 206 with Content-Range, several a
// multipart/byteranges 206, none a 416; a malformed Range is ignored.
func serveBytes(w http.ResponseWriter, r *http.Request, data []byte) {
	size := int64(len(data))
	if rh := r.Header.Get("Range"); rh != "" {
		ranges := parseRange(rh, size)
		switch {
		case ranges == nil:
			// malformed: the whole object
		case len(ranges) == 0 && size > 0:
			body := defaultBody(http.StatusRequestedRangeNotSatisfiable)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			if r.Method != http.MethodHead {
				_, _ = io.WriteString(w, body)
			}
			return
		case len(ranges) == 1:
			a, b := ranges[0][0], ranges[0][1]
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b-1, size))
			w.Header().Set("Content-Length", strconv.FormatInt(b-a, 10))
			w.WriteHeader(http.StatusPartialContent)
			if r.Method != http.MethodHead {
				_, _ = w.Write(data[a:b])
			}
			return
		case len(ranges) > 1:
			boundary := strings.ReplaceAll(core.NewUUID(), "-", "")
			ctype := w.Header().Get("Content-Type")
			var body strings.Builder
			for _, rg := range ranges {
				fmt.Fprintf(&body, "--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n", boundary, ctype, rg[0], rg[1]-1, size)
				body.Write(data[rg[0]:rg[1]])
				body.WriteString("\r\n")
			}
			fmt.Fprintf(&body, "--%s--", boundary)
			w.Header().Set("Content-Type", "multipart/byteranges;boundary="+boundary)
			w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
			w.WriteHeader(http.StatusPartialContent)
			if r.Method != http.MethodHead {
				_, _ = io.WriteString(w, body.String())
			}
			return
		}
	}
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// parseRange is swob's Range: nil when the header is malformed (it is
// then ignored), else the satisfiable [start, end) ranges for length.
func parseRange(h string, length int64) [][2]int64 {
	unit, spec, ok := strings.Cut(strings.TrimSpace(h), "=")
	if !ok || strings.TrimSpace(strings.ToLower(unit)) != "bytes" {
		return nil
	}
	out := [][2]int64{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		a, b, ok := strings.Cut(part, "-")
		if !ok || (a == "" && b == "") {
			return nil
		}
		switch {
		case a == "":
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < 0 {
				return nil
			}
			if n == 0 {
				continue
			}
			if n > length {
				n = length
			}
			if length > 0 {
				out = append(out, [2]int64{length - n, length})
			}
		default:
			start, err := strconv.ParseInt(a, 10, 64)
			if err != nil || start < 0 {
				return nil
			}
			end := length
			if b != "" {
				e, err := strconv.ParseInt(b, 10, 64)
				if err != nil || e < start {
					return nil
				}
				if e+1 < end {
					end = e + 1
				}
			}
			if start < length {
				out = append(out, [2]int64{start, end})
			}
		}
	}
	return out
}

// contentType is the type an object PUT stores: the request's, or guessed
// from the name (X-Detect-Content-Type or none given), else
// application/octet-stream.
func contentType(r *http.Request, name string) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" || strings.EqualFold(r.Header.Get("X-Detect-Content-Type"), "true") {
		guess := mime.TypeByExtension(path.Ext(name))
		if guess != "" {
			ct, _, _ = strings.Cut(guess, ";")
		} else if ct == "" {
			ct = "application/octet-stream"
		}
	}
	return ct
}

// newObject builds the object a PUT stores, after Swift's checks
// (check_object_creation, ETag, quotas done by the caller).
func newObject(rq *request, data []byte) (*Object, error) {
	r := rq.r
	mc, err := parseMeta(r.Header, "object")
	if err != nil {
		return nil, err
	}
	at, err := deleteAt(r.Header, rq.now)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(data)
	o := &Object{Name: rq.object, Data: data, ETag: hex.EncodeToString(sum[:]), ContentType: contentType(r, rq.object),
		Meta: mc.apply(nil), Headers: storedHeaders(r.Header), LastModified: rq.now, DeleteAt: at}
	if len(o.Meta) == 0 {
		o.Meta = nil
	}
	if etag := strings.Trim(r.Header.Get("Etag"), `"`); etag != "" && !strings.EqualFold(etag, o.ETag) {
		return nil, fail(http.StatusUnprocessableEntity, "")
	}
	return o, nil
}

// readObjectBody reads a PUT body after check_object_creation's length
// checks (411 without a length or chunking, 413 past MaxFileSize).
func readObjectBody(rq *request) ([]byte, error) {
	r := rq.r
	if r.ContentLength > MaxFileSize {
		return nil, failText(http.StatusRequestEntityTooLarge, "Your request is too large.")
	}
	if r.ContentLength < 0 && !chunked(r) {
		return nil, failText(http.StatusLengthRequired, "Missing Content-Length header.")
	}
	if n := len(rq.object); n > MaxObjectNameLength {
		return nil, failText(http.StatusBadRequest, "Object name length of %d longer than %d", n, MaxObjectNameLength)
	}
	if ct := r.Header.Get("Content-Type"); strings.ContainsRune(ct, 0) {
		return nil, failText(http.StatusBadRequest, "Invalid Content-Type")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxFileSize+1))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "")
	}
	if int64(len(b)) > MaxFileSize {
		return nil, failText(http.StatusRequestEntityTooLarge, "Your request is too large.")
	}
	return b, nil
}

func chunked(r *http.Request) bool {
	for _, te := range r.TransferEncoding {
		if strings.EqualFold(te, "chunked") {
			return true
		}
	}
	return false
}

func (s *Swift) putObject(w http.ResponseWriter, rq *request) error {
	r := rq.r
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.TrimSpace(inm) != "*" {
		return fail(http.StatusBadRequest, "If-None-Match only supports *")
	}
	if r.Header.Get("X-Static-Large-Object") != "" {
		return failText(http.StatusBadRequest, "X-Static-Large-Object is a reserved header. To create a static large object add query param multipart-manifest=put.")
	}
	data, err := readObjectBody(rq)
	if err != nil {
		return err
	}
	o, err := newObject(rq, data)
	if err != nil {
		return err
	}
	if err := s.store(rq, o, r.Header.Get("If-None-Match") != ""); err != nil {
		return err
	}
	w.Header().Set("Etag", o.ETag)
	w.Header().Set("Last-Modified", lastModified(o.LastModified))
	empty(w, r, http.StatusCreated)
	return nil
}

// store writes o into the request's container: 404 without the
// container, 412 for If-None-Match: * over an existing object, 413 past a
// container or account quota; the previous version goes to the versions
// container when the container has one.
func (s *Swift) store(rq *request, o *Object, ifNoneMatch bool) error {
	return s.state.Update(func(st *state) error {
		a := st.Accounts[rq.account]
		c := st.container(rq.account, rq.container)
		if c == nil {
			return fail(http.StatusNotFound, "")
		}
		old := c.liveObject(rq.object, rq.now)
		if ifNoneMatch && old != nil {
			return fail(http.StatusPreconditionFailed, "")
		}
		count, bytes := c.usage(rq.now)
		if q, ok := c.Meta["quota-bytes"]; ok && isDigits(q) {
			if lim, _ := strconv.ParseInt(q, 10, 64); bytes+int64(len(o.Data)) > lim {
				return fail(http.StatusRequestEntityTooLarge, "Upload exceeds quota.")
			}
		}
		if q, ok := c.Meta["quota-count"]; ok && isDigits(q) {
			if lim, _ := strconv.ParseInt(q, 10, 64); count+1 > lim {
				return fail(http.StatusRequestEntityTooLarge, "Upload exceeds quota.")
			}
		}
		if q, ok := a.Meta["quota-bytes"]; ok && isDigits(q) && !isReseller(rq) {
			if lim, _ := strconv.ParseInt(q, 10, 64); a.bytesUsed(rq.now)+int64(len(o.Data)) > lim {
				return fail(http.StatusRequestEntityTooLarge, "Upload exceeds quota.")
			}
		}
		if old != nil {
			st.archive(rq.account, c, old, rq.now)
		}
		c.Objects[rq.object] = o
		return nil
	})
}

func (s *Swift) postObject(w http.ResponseWriter, rq *request) error {
	r := rq.r
	mc, err := parseMeta(r.Header, "object")
	if err != nil {
		return err
	}
	at, err := deleteAt(r.Header, rq.now)
	if err != nil {
		return err
	}
	if r.Header.Get("X-Static-Large-Object") != "" {
		return failText(http.StatusBadRequest, "X-Static-Large-Object is a reserved header. To create a static large object add query param multipart-manifest=put.")
	}
	err = s.state.Update(func(st *state) error {
		o := st.container(rq.account, rq.container).liveObject(rq.object, rq.now)
		if o == nil {
			return fail(http.StatusNotFound, "")
		}
		// A POST replaces the user metadata and the allowed headers
		// (fast-post), keeps the data and, unless given, the type.
		o.Meta = mc.apply(nil)
		if len(o.Meta) == 0 {
			o.Meta = nil
		}
		manifest := o.Headers["X-Object-Manifest"]
		o.Headers = storedHeaders(r.Header)
		if manifest != "" && r.Header.Get("X-Object-Manifest") == "" && o.Headers == nil {
			o.Headers = map[string]string{}
		}
		if manifest != "" && r.Header.Get("X-Object-Manifest") == "" {
			o.Headers["X-Object-Manifest"] = manifest
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			o.ContentType = ct
		}
		o.DeleteAt = at
		o.LastModified = rq.now
		return nil
	})
	if err != nil {
		return err
	}
	accepted(w, r)
	return nil
}

func (s *Swift) deleteObject(w http.ResponseWriter, rq *request) error {
	if err := s.doDeleteObject(rq); err != nil {
		return err
	}
	empty(w, rq.r, http.StatusNoContent)
	return nil
}

// doDeleteObject deletes the request's object (404 when missing), going
// through the container's versioning.
func (s *Swift) doDeleteObject(rq *request) error {
	return s.state.Update(func(st *state) error {
		c := st.container(rq.account, rq.container)
		o := c.liveObject(rq.object, rq.now)
		if c != nil && c.Sysmeta["versions-location"] != "" {
			return st.deleteVersioned(rq, c, o)
		}
		if o == nil {
			return fail(http.StatusNotFound, "")
		}
		delete(c.Objects, rq.object)
		return nil
	})
}

// versionName is versioned_writes' archive name: the object name's length
// in three hex digits, the name, then the version's timestamp.
func versionPrefix(name string) string { return fmt.Sprintf("%03x%s/", len(name), name) }

// archive copies the object being overwritten or deleted into the
// container's versions container (when it has one that exists).
func (st *state) archive(account string, c *Container, old *Object, now time.Time) {
	loc := c.Sysmeta["versions-location"]
	if loc == "" {
		return
	}
	vc := st.container(account, loc)
	if vc == nil {
		return
	}
	cp := *old
	cp.Name = versionPrefix(old.Name) + internalTimestamp(old.LastModified)
	vc.Objects[cp.Name] = &cp
}

// deleteVersioned is a DELETE in a versioned container: in history mode
// the object is archived then deleted; in stack mode the newest archived
// version, if any, replaces it.
func (st *state) deleteVersioned(rq *request, c *Container, o *Object) error {
	vc := st.container(rq.account, c.Sysmeta["versions-location"])
	if c.Sysmeta["versions-mode"] == "history" {
		if o == nil {
			return fail(http.StatusNotFound, "")
		}
		st.archive(rq.account, c, o, rq.now)
		delete(c.Objects, rq.object)
		return nil
	}
	if vc != nil {
		prefix := versionPrefix(rq.object)
		var names []string
		for n, vo := range vc.Objects {
			if strings.HasPrefix(n, prefix) && !vo.expired(rq.now) {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			newest := vc.Objects[names[len(names)-1]]
			restored := *newest
			restored.Name = rq.object
			c.Objects[rq.object] = &restored
			delete(vc.Objects, newest.Name)
			return nil
		}
	}
	if o == nil {
		return fail(http.StatusNotFound, "")
	}
	delete(c.Objects, rq.object)
	return nil
}

// copyVerb is COPY with a Destination header: the copy middleware turns
// it into a PUT of the destination with X-Copy-From the request's object.
func (s *Swift) copyVerb(w http.ResponseWriter, rq *request) error {
	r := rq.r
	dest := r.Header.Get("Destination")
	if dest == "" {
		return fail(http.StatusPreconditionFailed, "You must provide a Destination header for COPY")
	}
	dc, do, ok := splitContainerObject(dest)
	if !ok {
		return fail(http.StatusPreconditionFailed, "Destination header must be of the form <container name>/<object name>")
	}
	account := rq.account
	if da := r.Header.Get("Destination-Account"); da != "" {
		account = unquote(da)
	}
	src := rq.container + "/" + rq.object
	dst := &request{r: r, id: rq.id, account: account, container: dc, object: do, now: rq.now, temp: rq.temp}
	return s.copyObject(w, dst, rq.account, src)
}

// copyFrom is a PUT with X-Copy-From.
func (s *Swift) copyFrom(w http.ResponseWriter, rq *request) error {
	r := rq.r
	if r.ContentLength > 0 {
		return fail(http.StatusBadRequest, "Copy requests require a zero byte body")
	}
	if r.URL.Query().Get("multipart-manifest") == "put" {
		return fail(http.StatusMethodNotAllowed, "Multipart Manifest PUTs cannot be COPY requests")
	}
	srcAccount := rq.account
	if a := r.Header.Get("X-Copy-From-Account"); a != "" {
		srcAccount = unquote(a)
	}
	return s.copyObject(w, rq, srcAccount, r.Header.Get("X-Copy-From"))
}

func splitContainerObject(v string) (string, string, bool) {
	v = strings.TrimPrefix(unquote(v), "/")
	c, o, ok := strings.Cut(v, "/")
	if !ok || c == "" || o == "" {
		return "", "", false
	}
	return c, o, true
}

func unquote(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// copyObject copies srcAccount/src ("container/object") to the request's
// object: the source must be readable (its container's read ACL) and the
// destination writable; metadata is the source's merged with the
// request's unless X-Fresh-Metadata. A large object is copied as its
// content.
func (s *Swift) copyObject(w http.ResponseWriter, dst *request, srcAccount, src string) error {
	r := dst.r
	sc, so, ok := splitContainerObject(src)
	if !ok {
		return fail(http.StatusPreconditionFailed, "X-Copy-From header must be of the form <container name>/<object name>")
	}
	srcReq := &request{r: r, id: dst.id, account: srcAccount, container: sc, object: so, now: dst.now, temp: dst.temp}
	srcReq.r = r.Clone(r.Context())
	srcReq.r.Method = http.MethodGet
	if err := s.authorize(srcReq, s.acl(srcReq, "read")); err != nil {
		return err
	}
	if err := s.authorize(dst, s.acl(dst, "write")); err != nil {
		return err
	}
	manifestCopy := r.URL.Query().Get("multipart-manifest") == "get"
	var v objectView
	found := false
	_ = s.state.View(func(st *state) error {
		c := st.container(srcAccount, sc)
		o := c.liveObject(so, dst.now)
		if o == nil {
			return nil
		}
		found = true
		v = st.view(srcAccount, c, o, dst.now, manifestCopy)
		v.obj.Data = append([]byte(nil), v.data...)
		return nil
	})
	if !found {
		return fail(http.StatusNotFound, "")
	}
	if v.missing != "" {
		return fail(http.StatusConflict, "")
	}
	if int64(len(v.data)) > MaxFileSize {
		return failText(http.StatusRequestEntityTooLarge, "Your request is too large.")
	}
	mc, err := parseMeta(r.Header, "object")
	if err != nil {
		return err
	}
	at, err := deleteAt(r.Header, dst.now)
	if err != nil {
		return err
	}
	sum := md5.Sum(v.data)
	o := &Object{Name: dst.object, Data: v.data, ETag: hex.EncodeToString(sum[:]), ContentType: v.obj.ContentType,
		LastModified: dst.now, DeleteAt: at}
	if manifestCopy && v.obj.Segments != nil {
		o.Segments, o.ETag = v.obj.Segments, v.obj.ETag
	}
	fresh := strings.EqualFold(r.Header.Get("X-Fresh-Metadata"), "true")
	if !fresh {
		o.Meta = map[string]string{}
		for k, val := range v.obj.Meta {
			o.Meta[k] = val
		}
		o.Headers = map[string]string{}
		for k, val := range v.obj.Headers {
			if k != "X-Object-Manifest" {
				o.Headers[k] = val
			}
		}
	}
	o.Meta = mc.apply(o.Meta)
	if len(o.Meta) == 0 {
		o.Meta = nil
	}
	for k, val := range storedHeaders(r.Header) {
		if o.Headers == nil {
			o.Headers = map[string]string{}
		}
		o.Headers[k] = val
	}
	if len(o.Headers) == 0 {
		o.Headers = nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && r.Method == http.MethodPut {
		o.ContentType = ct
	}
	if n := len(dst.object); n > MaxObjectNameLength {
		return failText(http.StatusBadRequest, "Object name length of %d longer than %d", n, MaxObjectNameLength)
	}
	if err := s.store(dst, o, false); err != nil {
		return err
	}
	w.Header().Set("X-Copied-From", url.PathEscape(sc)+"/"+escapePath(so))
	w.Header().Set("X-Copied-From-Last-Modified", lastModified(v.obj.LastModified))
	if srcAccount != dst.account {
		w.Header().Set("X-Copied-From-Account", srcAccount)
	}
	w.Header().Set("Etag", o.ETag)
	w.Header().Set("Last-Modified", lastModified(o.LastModified))
	empty(w, r, http.StatusCreated)
	return nil
}

// escapePath quotes like Python's urllib.parse.quote (safe "/").
func escapePath(s string) string { return pyQuote(s, "/") }

// pyQuote is urllib.parse.quote with the given safe characters.
func pyQuote(s, safe string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strings.IndexByte("_.-~", c) >= 0 || strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}
