package zaqar

import (
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// homeDocument is Zaqar's v2 JSON-home document, as zaqar-server renders
// it (json.dumps with indent=4).
//
//go:embed home.json
var homeDocument []byte

// Routes implements core.Service. The root is public (version
// discovery); everything else runs through one handler that authenticates
// (a token, or a pre-signed URL's headers), routes as Falcon does and runs
// Zaqar's before-hooks.
func (z *Zaqar) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", z.versions, core.Public)
	rt.Handle("/{path...}", z.serve, core.OptionalAuth)
}

// writeError renders Falcon's error document: {"title", "description"}
// (and "link" for a 406), application/json.
func writeError(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	title := e.Type
	if title == "" {
		title = strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	}
	doc := core.Obj("title", title)
	if e.Message != "" {
		doc.Set("description", e.Message)
	}
	if e.Status == http.StatusNotAcceptable {
		doc.Set("link", core.Obj("text", "14.1 Accept, Hypertext Transfer Protocol -- HTTP/1.1",
			"href", "http://www.w3.org/Protocols/rfc2616/rfc2616-sec14.html", "rel", "help"))
	}
	body := core.PyJSON(doc, false)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// zerr is a Falcon HTTPError: status, title, description ("" for none).
func zerr(status int, title, description string) *core.APIError {
	return &core.APIError{Status: status, Type: title, Message: description}
}

// Zaqar's wrappers of Falcon's errors (transport/wsgi/errors.py).
func badRequestAPI(desc string) error {
	return zerr(http.StatusBadRequest, "Invalid API request", desc)
}
func badRequestBody(desc string) error {
	return zerr(http.StatusBadRequest, "Invalid request body", desc)
}
func notFound(desc string) error      { return zerr(http.StatusNotFound, "Not found", desc) }
func conflict(desc string) error      { return zerr(http.StatusConflict, "Resource conflict", desc) }
func documentTypeNotSupported() error { return badRequestBody("Document type not supported.") }
func forbidden() error {
	return zerr(http.StatusForbidden, "Not authorized", "You are not authorized to complete this action.")
}

// writeJSON answers a Zaqar document (json.dumps, ensure_ascii=False).
func writeJSON(w http.ResponseWriter, status int, v any) {
	body := core.PyJSON(v, false)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// versions is GET / (300): every API version zaqar-server knows. Zaqar
// links them as /v2/ from its own root; mounted under /messaging here,
// the links carry the mount so keystoneauth's discovery (which resolves
// them against the host) finds v2.
func (z *Zaqar) versions(w http.ResponseWriter, r *http.Request) error {
	pre := core.ServicePrefix(r)
	v := func(id, status, updated, mt, href string) core.Ordered {
		return core.Obj("id", id, "status", status, "updated", updated,
			"media-types", []any{core.Obj("base", "application/json", "type", mt)},
			"links", []any{core.Obj("href", href, "rel", "self")})
	}
	writeJSON(w, http.StatusMultipleChoices, core.Obj("versions", []any{
		v("1", "DEPRECATED", "2014-9-11T17:47:05Z", "application/vnd.openstack.messaging-v1+json", pre+"/v1/"),
		v("1.1", "DEPRECATED", "2016-7-29T02:22:47Z", "application/vnd.openstack.messaging-v1_1+json", pre+"/v1.1/"),
		v("2", "CURRENT", "2014-9-24T04:06:47Z", "application/vnd.openstack.messaging-v2+json", pre+"/v2/"),
	}))
	return nil
}

// call is one routed request with what the before-hooks established.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	id      *core.Identity // nil for a pre-signed URL
	project string
	client  string // Client-ID
	queue   string
	item    string // message, claim or subscription id
}

// route is a Falcon route: its methods and responders.
type route struct {
	re      *regexp.Regexp
	methods map[string]func(*call) error
	queue   bool // has {queue_name}
}

func (z *Zaqar) routes() []route {
	q := `([^/]+)`
	mk := func(pattern string, queue bool, m map[string]func(*call) error) route {
		return route{re: regexp.MustCompile("^/v2" + pattern + "$"), methods: m, queue: queue}
	}
	return []route{
		mk(`/?`, false, map[string]func(*call) error{"GET": z.home}),
		mk(`/queues`, false, map[string]func(*call) error{"GET": z.listQueues}),
		mk(`/queues/`+q, true, map[string]func(*call) error{"GET": z.getQueue, "PUT": z.putQueue, "DELETE": z.deleteQueue, "PATCH": z.patchQueue}),
		mk(`/queues/`+q+`/stats`, true, map[string]func(*call) error{"GET": z.stats}),
		mk(`/queues/`+q+`/purge`, true, map[string]func(*call) error{"POST": z.purge}),
		mk(`/queues/`+q+`/share`, true, map[string]func(*call) error{"POST": z.share}),
		mk(`/queues/`+q+`/messages`, true, map[string]func(*call) error{"GET": z.listMessages, "POST": z.postMessages, "DELETE": z.deleteMessages}),
		mk(`/queues/`+q+`/messages/`+q, true, map[string]func(*call) error{"GET": z.getMessage, "DELETE": z.deleteMessage}),
		mk(`/queues/`+q+`/claims`, true, map[string]func(*call) error{"POST": z.createClaim}),
		mk(`/queues/`+q+`/claims/`+q, true, map[string]func(*call) error{"GET": z.getClaim, "PATCH": z.updateClaim, "DELETE": z.deleteClaim}),
		mk(`/queues/`+q+`/subscriptions`, true, map[string]func(*call) error{"GET": z.listSubscriptions, "POST": z.createSubscription}),
		mk(`/queues/`+q+`/subscriptions/`+q, true, map[string]func(*call) error{"GET": z.getSubscription, "PATCH": z.updateSubscription, "DELETE": z.deleteSubscription}),
		mk(`/queues/`+q+`/subscriptions/`+q+`/confirm`, true, map[string]func(*call) error{"PUT": z.confirmSubscription}),
		mk(`/ping`, false, map[string]func(*call) error{"GET": z.ping, "HEAD": z.ping}),
		mk(`/health`, false, map[string]func(*call) error{"GET": z.health, "HEAD": z.healthHead}),
	}
}

// serve is Zaqar's WSGI app: SignedAndExtraSpecHeadersAuth (a request
// carrying URL-Signature skips Keystone), Falcon's routing (404, 405 with
// Allow, OPTIONS), the before-hooks, then the responder.
func (z *Zaqar) serve(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.Path
	id := core.IdentityOf(r)
	sig := r.Header.Get("URL-Signature")
	if p == "/" {
		// The root needs no token (SignedAndExtraSpecHeadersAuth).
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", "GET, OPTIONS")
			w.WriteHeader(http.StatusOK)
			return nil
		}
		return methodNotAllowed("GET, OPTIONS")
	}
	if id == nil && (sig == "" || strings.HasPrefix(p, "/v1")) {
		core.KeystoneMiddleware401(w, r, nil)
		return nil
	}
	var rt *route
	var m []string
	for _, cand := range z.routes() {
		if mm := cand.re.FindStringSubmatch(p); mm != nil {
			c := cand
			rt, m = &c, mm
			break
		}
	}
	if rt == nil {
		return zerr(http.StatusNotFound, "", "")
	}
	c := &call{w: w, r: r, id: id}
	if sig != "" {
		// A pre-signed request skips Keystone: it acts for X-Project-ID.
		c.id = nil
	}
	for i := 1; i < len(m); i++ {
		seg, err := url.PathUnescape(m[i])
		if err != nil {
			seg = m[i]
		}
		if i == 1 && rt.queue {
			c.queue = seg
		} else {
			c.item = seg
		}
	}
	if err := z.hooks(c, sig != ""); err != nil {
		return err
	}
	h := rt.methods[r.Method]
	if r.Method == http.MethodHead && h == nil {
		h = rt.methods["GET"]
	}
	if h == nil {
		allow := []string{}
		for _, mth := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			if rt.methods[mth] != nil {
				allow = append(allow, mth)
			}
		}
		allow = append(allow, "OPTIONS")
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return nil
		}
		return methodNotAllowed(strings.Join(allow, ", "))
	}
	return h(c)
}

func methodNotAllowed(allow string) error {
	e := zerr(http.StatusMethodNotAllowed, "", "")
	e.Header = http.Header{"Allow": {allow}}
	return e
}

// hooks are the driver's before_hooks, in order.
func (z *Zaqar) hooks(c *call, signed bool) error {
	r := c.r
	if signed {
		if err := z.verifySigned(c); err != nil {
			return err
		}
	}
	if r.ContentLength > 0 && strings.EqualFold(mediaType(r.Header.Get("Content-Type")), "application/x-www-form-urlencoded") {
		return zerr(http.StatusBadRequest, "Invalid Content-Type", "Endpoint does not accept `application/x-www-form-urlencoded` content; currently supported media type is `application/json`; specify proper client-side media type with the \"Content-Type\" header.")
	}
	if !acceptsJSON(r.Header.Get("Accept")) {
		return zerr(http.StatusNotAcceptable, "", "\nEndpoint only serves `application/json`; specify client-side\nmedia type support with the \"Accept\" header.")
	}
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		vals, present := r.Header["Client-Id"]
		if !present {
			return zerr(http.StatusBadRequest, "Missing header value", "The Client-ID header is required.")
		}
		cid := strings.Join(vals, ",")
		if !validUUID(cid) {
			return zerr(http.StatusBadRequest, "Wrong UUID value", "Malformed hexadecimal UUID.")
		}
		c.client = normalizeUUID(cid)
	}
	if c.id != nil {
		c.project = c.id.ProjectID
	} else {
		vals, present := r.Header["X-Project-Id"]
		if present && strings.Join(vals, ",") == "" {
			return zerr(http.StatusBadRequest, "Empty project header not allowed", "X-PROJECT-ID cannot be an empty string. Specify the right header X-PROJECT-ID and retry.")
		}
		c.project = r.Header.Get("X-Project-Id")
	}
	if c.project == "" {
		return zerr(http.StatusBadRequest, "Project-Id Missing", "The header X-PROJECT-ID was missing")
	}
	if c.queue != "" {
		if err := validateQueueName(c.queue, c.project); err != nil {
			return zerr(http.StatusBadRequest, "Invalid queue identification", "The format of the submitted queue name or project id is not valid.")
		}
	}
	return nil
}

var queueNameRE = regexp.MustCompile(`^[a-zA-Z0-9_\-.]+$`)

// validateQueueName is validation.queue_identification.
func validateQueueName(name, project string) error {
	switch {
	case len(project) > ProjectIDMaxLen:
		return badRequestAPI("Project ids may not be more than 256 characters long.")
	case len(name) > QueueNameMaxLen:
		return badRequestAPI("Queue names may not be more than 64 characters long.")
	case !queueNameRE.MatchString(name):
		return badRequestAPI("Queue names may only contain ASCII letters, digits, underscores, and dashes.")
	}
	return nil
}

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(mt)
}

// acceptsJSON is Falcon's client_accepts('application/json').
func acceptsJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 && (mt == "application/json" || mt == "application/*" || mt == "*/*" || mt == "*") {
			return true
		}
	}
	return false
}

// validUUID is what Python's uuid.UUID accepts.
func validUUID(s string) bool { return len(normalizeUUID(s)) == 32 }

func normalizeUUID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return ""
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return ""
		}
	}
	return strings.ToLower(s)
}

// readDocument is wsgi_utils.deserialize: the body as JSON (400s as
// Zaqar words them). A missing body is "Request body can not be empty".
func readDocument(r *http.Request, limit int64) (any, error) {
	if _, sent := r.Header["Content-Length"]; r.ContentLength < 0 || (r.ContentLength == 0 && !sent) {
		// Falcon's content_length is None without the header (chunked
		// bodies included).
		return nil, badRequestBody("Request body can not be empty")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, zerr(http.StatusServiceUnavailable, "Service temporarily unavailable", "Request body could not be read. Please try again in a few seconds.")
	}
	v, err := core.ParsePyJSON(b)
	if err != nil {
		return nil, badRequestBody("Request body could not be parsed.")
	}
	return v, nil
}

// Falcon's query parameter getters (auto_parse_qs_csv: "a,b" is a list).

func invalidParam(name, why string) error {
	return zerr(http.StatusBadRequest, "Invalid parameter", `The "`+name+`" parameter is invalid. `+why)
}

func paramInt(r *http.Request, name string) (int, bool, error) {
	q := r.URL.Query()
	v := q.Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, invalidParam(name, "The value must be an integer.")
	}
	return n, true, nil
}

func paramBool(r *http.Request, name string) (bool, bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, false, nil
	}
	switch strings.ToLower(v) {
	case "true", "t", "yes", "y", "1", "on":
		return true, true, nil
	case "false", "f", "no", "n", "0", "off":
		return false, true, nil
	}
	return false, false, invalidParam(name, `The value of the parameter must be "true" or "false".`)
}

func paramList(r *http.Request, name string) ([]string, bool) {
	vals, ok := r.URL.Query()[name]
	if !ok {
		return nil, false
	}
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, false
	}
	return out, true
}

// listQuery is a listing's query parameters, read as Falcon's getters
// read them (400 for a malformed int or bool), the ones given kept in
// order for the "next" link: marker, limit, then the extra ones named
// "bool:x" or "str:x".
type listQuery struct {
	params   core.Ordered
	marker   string
	limit    int
	hasLimit bool
	bools    map[string]bool
	strs     map[string]string
}

func readListQuery(r *http.Request, extra ...string) (listQuery, error) {
	lq := listQuery{params: core.Obj(), bools: map[string]bool{}, strs: map[string]string{}}
	q := r.URL.Query()
	if lq.marker = q.Get("marker"); lq.marker != "" {
		lq.params.Set("marker", lq.marker)
	}
	var err error
	if lq.limit, lq.hasLimit, err = paramInt(r, "limit"); err != nil {
		return lq, err
	}
	if lq.hasLimit {
		lq.params.Set("limit", lq.limit)
	}
	for _, e := range extra {
		kind, name, _ := strings.Cut(e, ":")
		if kind == "str" {
			if v := q.Get(name); v != "" {
				lq.strs[name] = v
				lq.params.Set(name, v)
			}
			continue
		}
		v, has, err := paramBool(r, name)
		if err != nil {
			return lq, err
		}
		if has {
			lq.bools[name] = v
			lq.params.Set(name, v)
		}
	}
	return lq, nil
}

// pageLimit checks the limit (1 to max, 400 with Zaqar's message, whose
// wording differs per listing) and returns it, or def when none was given.
func (lq listQuery) pageLimit(max, def int, format string) (int, error) {
	if !lq.hasLimit {
		return def, nil
	}
	if lq.limit < 1 || lq.limit > max {
		return 0, badRequestAPI(fmt.Sprintf(format, max))
	}
	return lq.limit, nil
}

// nextLinks is the "links" of a listing page: a next link with the last
// item as marker, none for an empty page.
func (lq listQuery) nextLinks(path string, n int, last string) []any {
	if n == 0 {
		return []any{}
	}
	lq.params.Set("marker", last)
	return []any{core.Obj("rel", "next", "href", path+toQueryStr(lq.params))}
}

// optionalDocument reads a JSON body when one is sent, else an empty
// object.
func optionalDocument(r *http.Request) (any, error) {
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		return readDocument(r, MaxQueueMetadata)
	}
	return core.Obj(), nil
}

// toQueryStr is falcon.to_query_str for the links Zaqar builds.
func toQueryStr(params core.Ordered) string {
	if len(params.Keys) == 0 {
		return ""
	}
	var parts []string
	for _, k := range params.Keys {
		v := params.Vals[k]
		var s string
		switch x := v.(type) {
		case bool:
			s = "false"
			if x {
				s = "true"
			}
		case []string:
			s = strings.Join(x, ",")
		default:
			s = strings.TrimSpace(strings.Trim(string(core.PyJSON(x, false)), `"`))
		}
		parts = append(parts, k+"="+s)
	}
	return "?" + strings.Join(parts, "&")
}

// home is the v2 JSON-home document.
func (z *Zaqar) home(c *call) error {
	c.w.Header().Set("Content-Type", "application/json-home")
	c.w.Header().Set("Cache-Control", "max-age=86400")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(homeDocument)))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(homeDocument)
	}
	return nil
}

// ping answers 204 (the storage is always alive here).
func (z *Zaqar) ping(c *call) error {
	noContent(c.w)
	return nil
}

// health is GET /v2/health (admin): the storage's state and the message
// volume of every queue.
func (z *Zaqar) health(c *call) error {
	if c.id == nil || !c.id.IsAdmin() {
		return forbidden()
	}
	now := z.env.Now()
	var free, claimed int
	_ = z.state.View(func(s *state) error {
		for _, qs := range s.Queues {
			for _, q := range qs {
				for _, m := range q.Messages {
					if !m.live(now) {
						continue
					}
					if m.claimed(now) {
						claimed++
					} else {
						free++
					}
				}
			}
		}
		return nil
	})
	op := func() core.Ordered { return core.Obj("succeeded", true, "seconds", 0.0, "ref", nil) }
	writeJSON(c.w, http.StatusOK, core.Obj(
		"storage_reachable", true,
		"operation_status", core.Obj("create_queue", op(), "post_messages", op(), "list_messages", op(),
			"claim_messages", op(), "delete_messages", op(), "delete_queue", op()),
		"message_volume", core.Obj("free", free, "claimed", claimed, "total", free+claimed),
	))
	return nil
}

func (z *Zaqar) healthHead(c *call) error {
	if c.id == nil || !c.id.IsAdmin() {
		return forbidden()
	}
	noContent(c.w)
	return nil
}

// setLocation sets the location header as Falcon sends it: lower-case
// (openstacksdk's Queue and Claim read the "location" header by that
// exact name, and Claim takes its id from it).
func setLocation(w http.ResponseWriter, v string) {
	w.Header()["location"] = []string{v}
}
