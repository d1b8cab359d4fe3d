package osb

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/redact"
	"github.com/prometheus/client_golang/prometheus"
)

// Prefixes the routes are served under: the spec's root, and the two the
// Automation Broker used in different releases.
var Prefixes = []string{"", "/osb", "/ansible-service-broker"}

// Options configure a Server.
type Options struct {
	Broker osbapi.Broker
	// Auth checks every request; nil serves without authentication.
	Auth   Authenticator
	Logger *slog.Logger
	// MaxBodyBytes limits request bodies (default 1 MiB).
	MaxBodyBytes int64
	// BodyTimeout bounds the time to receive a request's body, from the
	// end of its headers (default 30 s): a client that trickles its body
	// is cut off with 408.
	BodyTimeout time.Duration
	Metrics     *Metrics
	// LogRequests logs request bodies, with the values of secret
	// parameters masked: those under secret-looking names, and the plan's
	// password parameters when the Broker says which (SecretParameters).
	LogRequests bool
	// Bootstrap, when set, serves POST /v2/bootstrap: it asks for the
	// catalog to be bootstrapped from the registries and returns at once,
	// as the Automation Broker answered before the registries were read.
	Bootstrap func(ctx context.Context) error
	// Dev, when set (broker.dev_broker), serves the dev broker's routes.
	Dev DevBroker
	// Prefix, when set, is one more prefix the routes are served under
	// (broker.cluster_url of releases before 1.3, e.g. "/my-broker").
	Prefix string
}

// DevBroker is the Automation Broker's dev API, with which bundle
// developers put a spec straight into the catalog.
type DevBroker interface {
	// PushSpec adds the spec of POST /v2/apb, given as sent (the form
	// field apbSpec), and returns its service.
	PushSpec(ctx context.Context, apbSpec string) (*osbapi.Service, error)
	// DeleteSpecs removes specs by id, all of them when none is given.
	DeleteSpecs(ctx context.Context, ids ...string) error
}

// catalogJSON is implemented by brokers that keep the catalog encoded.
type catalogJSON interface {
	CatalogJSON(ctx context.Context, ri osbapi.RequestInfo) ([]byte, error)
}

// catalogGzip is implemented by brokers that also keep it compressed.
type catalogGzip interface {
	CatalogGzip(ctx context.Context, ri osbapi.RequestInfo) ([]byte, error)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// Server is the OSB HTTP handler.
type Server struct {
	o        Options
	mux      *http.ServeMux
	log      *slog.Logger
	badPath  http.Handler
	prefixes []string
}

// NewServer mounts every OSB route under each of Prefixes.
func NewServer(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	s := &Server{o: o, mux: http.NewServeMux(), log: o.Logger, prefixes: Prefixes}
	if p := strings.TrimRight(o.Prefix, "/"); p != "" && !slices.Contains(Prefixes, p) {
		s.prefixes = append(slices.Clone(Prefixes), p)
	}
	routes := []struct {
		pattern, name string
		h             func(http.ResponseWriter, *http.Request, osbapi.RequestInfo) error
	}{
		{"GET /v2/catalog", "catalog", s.catalog},
		{"PUT /v2/service_instances/{instance_id}", "provision", s.provision},
		{"PATCH /v2/service_instances/{instance_id}", "update", s.update},
		{"DELETE /v2/service_instances/{instance_id}", "deprovision", s.deprovision},
		{"GET /v2/service_instances/{instance_id}", "get_instance", s.getInstance},
		{"GET /v2/service_instances/{instance_id}/last_operation", "last_operation", s.lastOperation},
		{"PUT /v2/service_instances/{instance_id}/service_bindings/{binding_id}", "bind", s.bind},
		{"DELETE /v2/service_instances/{instance_id}/service_bindings/{binding_id}", "unbind", s.unbind},
		{"GET /v2/service_instances/{instance_id}/service_bindings/{binding_id}", "get_binding", s.getBinding},
		{"GET /v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation", "binding_last_operation", s.bindingLastOperation},
	}
	for _, r := range routes {
		s.handle(r.pattern, r.name, true, r.h)
	}
	// The Automation Broker's own routes: same authentication, identity,
	// logs, metrics and error bodies, but no API-version check.
	if o.Bootstrap != nil {
		s.handle("POST /v2/bootstrap", "post_bootstrap", false, s.bootstrap)
	}
	if o.Dev != nil {
		s.handle("POST /v2/apb", "post_apb", false, s.pushSpec)
		s.handle("DELETE /v2/apb/{id}", "delete_apb_id", false, s.deleteSpecs)
		s.handle("DELETE /v2/apb", "delete_apb", false, s.deleteSpecs)
	}
	for _, p := range s.prefixes {
		s.mux.Handle(p+"/", s.wrap("not_found", false, s.notFound))
		if p != "" {
			// Without it the mux would redirect /osb to /osb/.
			s.mux.Handle(p, s.wrap("not_found", false, s.notFound))
		}
	}
	s.badPath = s.wrap("bad_path", false, func(_ http.ResponseWriter, r *http.Request, _ osbapi.RequestInfo) error {
		return osbapi.BadRequest("request path %q is not canonical: it has \".\", \"..\" or empty segments, "+
			"which this broker neither resolves nor redirects", r.URL.EscapedPath())
	})
	return s
}

// DefaultBodyTimeout is Options.BodyTimeout's default: a 1 MiB body
// arrives in that time at 35 kB/s.
const DefaultBodyTimeout = 30 * time.Second

// Authenticated serves h behind the server's authentication, with its
// logs, metrics (as route) and error bodies, and no API-version check:
// for /metrics when broker.metrics_auth asks for it.
func (s *Server) Authenticated(route string, h http.Handler) http.Handler {
	return s.wrap(route, false, func(w http.ResponseWriter, r *http.Request, _ osbapi.RequestInfo) error {
		h.ServeHTTP(w, r)
		return nil
	})
}

// catchAll reports whether pattern is one of the fallbacks NewServer
// mounts, i.e. no real route matched.
func (s *Server) catchAll(pattern string) bool {
	for _, p := range s.prefixes {
		if pattern == p+"/" || (p != "" && pattern == p) {
			return true
		}
	}
	return false
}

// notFound answers 405 with Allow when the path exists for other methods
// (the mux cannot tell, since the fallback matches every method), else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, _ osbapi.RequestInfo) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost} {
		if m == r.Method {
			continue
		}
		probe := *r
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "" && !s.catchAll(pattern) {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return &osbapi.Error{Status: http.StatusMethodNotAllowed,
			Description: fmt.Sprintf("method %s not allowed on %s; allowed: %s", r.Method, r.URL.EscapedPath(), strings.Join(allow, ", "))}
	}
	return &osbapi.Error{Status: http.StatusNotFound, Description: "no such route: " + r.Method + " " + r.URL.EscapedPath()}
}

func (s *Server) handle(pattern, name string, osbRoute bool, h func(http.ResponseWriter, *http.Request, osbapi.RequestInfo) error) {
	method, path, _ := strings.Cut(pattern, " ")
	for _, p := range s.prefixes {
		s.mux.Handle(method+" "+p+path, s.wrap(name, osbRoute, h))
	}
}

// ServeHTTP refuses paths that are not canonical with 400 before the mux
// would redirect them (307 with an HTML body): a platform resolves no
// redirect of a PUT, and "..", "." or an empty id segment never name a
// resource of this broker.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		r = collapsePrefixSlashes(r)
		if p := r.URL.EscapedPath(); !canonical(p) {
			s.badPath.ServeHTTP(w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// canonical reports whether p is an absolute path without ".", ".."
// or empty segments (a trailing slash is allowed).
func canonical(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		if seg == "." || seg == ".." || (seg == "" && i != len(segs)-1) {
			return false
		}
	}
	return true
}

// prefixSlashes matches slashes doubled between a prefix and "v2/": what
// a platform registered with a base URL ending in "/" sends.
var prefixSlashes = regexp.MustCompile(`^(/osb|/ansible-service-broker)?//+(v2(?:/|$))`)

// collapsePrefixSlashes serves "//v2/..." as "/v2/...": no route has an
// empty segment there, so nothing else could be meant.
func collapsePrefixSlashes(r *http.Request) *http.Request {
	if !prefixSlashes.MatchString(r.URL.Path) {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = prefixSlashes.ReplaceAllString(u.Path, "$1/$2")
	if u.RawPath != "" {
		u.RawPath = prefixSlashes.ReplaceAllString(u.RawPath, "$1/$2")
	}
	r2.URL = &u
	return r2
}

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) wrap(route string, osbRoute bool, h func(http.ResponseWriter, *http.Request, osbapi.RequestInfo) error) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		reqID := r.Header.Get("X-Broker-API-Request-Identity")
		if reqID != "" {
			w.Header().Set("X-Broker-API-Request-Identity", reqID)
		} else {
			reqID = newRequestID()
		}
		ri := osbapi.RequestInfo{
			APIVersion:      r.Header.Get("X-Broker-API-Version"),
			RequestIdentity: reqID,
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panicked", "route", route, "request_id", reqID, "panic", fmt.Sprint(p))
				if w.status == 0 {
					writeJSON(w, http.StatusInternalServerError, &osbapi.Error{Description: "internal error"})
				}
			}
			status := w.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			if s.o.Metrics != nil {
				s.o.Metrics.observe(route, status, d)
			}
			s.log.Info("request", "method", r.Method, "route", route, "status", status,
				"duration", d, "request_id", reqID, "principal", ri.Principal)
		}()
		if err := s.serve(w, r, &ri, osbRoute, h); err != nil {
			s.writeError(w, route, reqID, err)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, ri *osbapi.RequestInfo, osbRoute bool, h func(http.ResponseWriter, *http.Request, osbapi.RequestInfo) error) error {
	if s.o.Auth != nil {
		p, err := s.o.Auth.Authenticate(r)
		if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) {
			// The reason stays in the log: callers learn only the status.
			s.log.Debug("request refused", "request_id", ri.RequestIdentity, "reason", err.Error())
		}
		switch {
		case errors.Is(err, ErrUnauthorized):
			w.Header().Set("WWW-Authenticate", `Basic realm="osb"`)
			return &osbapi.Error{Status: http.StatusUnauthorized, Description: "missing or invalid credentials"}
		case errors.Is(err, ErrForbidden):
			return &osbapi.Error{Status: http.StatusForbidden, Description: "the credentials do not allow this request"}
		case errors.Is(err, ErrUnavailable):
			// Where the authority is stays in the log.
			s.log.Warn("credentials could not be checked", "request_id", ri.RequestIdentity, "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			return osbapi.Unavailable("the service that checks credentials cannot be reached; retry later")
		case err != nil:
			return fmt.Errorf("authenticating: %w", err)
		}
		ri.Principal = p
	}
	if osbRoute {
		if err := checkVersion(ri.APIVersion); err != nil {
			return err
		}
		if raw := strings.TrimSpace(r.Header.Get("X-Broker-API-Originating-Identity")); raw != "" {
			oi, err := parseIdentity(raw)
			if err != nil {
				return err
			}
			ri.OriginatingIdentity = oi
		}
		if v, ok := r.URL.Query()["accepts_incomplete"]; ok && v[0] != "" {
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return osbapi.BadRequest("accepts_incomplete must be true or false, got %q", v[0])
			}
			ri.AcceptsIncomplete = b
		}
	}
	s.bodyDeadline(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes)
	return h(w, r, *ri)
}

// retryAfter is the Retry-After (seconds) of a 503: a dependency (etcd,
// the cluster checking credentials) did not answer, and a retry soon may
// find it back.
const retryAfter = 5

// bodyDeadline gives the body BodyTimeout to arrive and lifts the
// deadline once it has: a handler may take longer than that, and a read
// deadline left behind would cancel its context (net/http's background
// read fails at the deadline). Without a body there is nothing to wait for.
func (s *Server) bodyDeadline(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if r.Body == nil || r.Body == http.NoBody {
		rc.SetReadDeadline(time.Time{})
		return
	}
	// An error means the writer cannot set deadlines (a test recorder):
	// the server's ReadTimeout still bounds the body.
	if rc.SetReadDeadline(time.Now().Add(s.o.BodyTimeout)) != nil {
		return
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { rc.SetReadDeadline(time.Time{}) }}
}

// deadlineBody calls clear once the body has been read to its end. A body
// cut off by the deadline keeps it, so the rest is not waited for either.
type deadlineBody struct {
	io.ReadCloser
	clear func()
	once  sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.clear)
	}
	return n, err
}

// bodyError words an error reading the body: 413 over the limit, 408 past
// the deadline (the connection is closed after it), else 400.
func (s *Server) bodyError(w http.ResponseWriter, what string, err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		return &osbapi.Error{Status: http.StatusRequestTimeout,
			Description: fmt.Sprintf("the request body did not arrive within %s", s.o.BodyTimeout)}
	}
	return osbapi.BadRequest("reading the %s: %v", what, err)
}

// checkVersion accepts any 2.x from 2.13: minor versions are backward
// compatible, so a newer platform still speaks to this broker.
func checkVersion(v string) error {
	want := fmt.Sprintf("supported versions are %d.%d through %s (any %d.x with x >= %d)",
		osbapi.MinAPIMajor, osbapi.MinAPIMinor, osbapi.APIVersion, osbapi.MinAPIMajor, osbapi.MinAPIMinor)
	v = strings.TrimSpace(v)
	if v == "" {
		return &osbapi.Error{Status: http.StatusPreconditionFailed, Description: "missing X-Broker-API-Version header; " + want}
	}
	major, minor, ok := strings.Cut(v, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || ma != osbapi.MinAPIMajor || mi < osbapi.MinAPIMinor {
		return &osbapi.Error{Status: http.StatusPreconditionFailed, Description: fmt.Sprintf("unsupported X-Broker-API-Version %q; %s", v, want)}
	}
	return nil
}

// parseIdentity decodes "<platform> <base64 JSON object>", the format the
// spec says the header MUST have. Anything else is 400, as the Automation
// Broker answered: the identity is what the bundle is told
// (_apb_last_requesting_user) and what the audit log names, so a broker
// that ignored a garbled one would act for nobody without saying so.
// Padded or unpadded, standard or URL-safe base64 are all taken.
func parseIdentity(raw string) (*osbapi.OriginatingIdentity, error) {
	bad := func(why string) error {
		return osbapi.BadRequest("X-Broker-API-Originating-Identity must be \"<platform> <base64 of a JSON object>\": %s", why)
	}
	platform, enc, ok := strings.Cut(raw, " ")
	if !ok || platform == "" || enc == "" {
		return nil, bad("it has no value after the platform")
	}
	if strings.ContainsAny(enc, " \t") {
		return nil, bad("the value has spaces in it")
	}
	var data []byte
	var err error
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if data, err = e.DecodeString(enc); err == nil {
			break
		}
	}
	if err != nil {
		return nil, bad("the value is not base64")
	}
	var v map[string]any
	if json.Unmarshal(data, &v) != nil || v == nil {
		return nil, bad("the value does not decode to a JSON object")
	}
	return &osbapi.OriginatingIdentity{Raw: raw, Platform: platform, Value: v}, nil
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"description":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) writeError(w http.ResponseWriter, route, reqID string, err error) {
	if e, ok := osbapi.AsError(err); ok {
		if e.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		writeJSON(w, e.Status, e)
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeJSON(w, http.StatusRequestEntityTooLarge, &osbapi.Error{Status: http.StatusRequestEntityTooLarge,
			Description: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)})
		return
	}
	s.log.Error("request failed", "route", route, "request_id", reqID, "err", err)
	writeJSON(w, http.StatusInternalServerError, &osbapi.Error{Description: "internal error"})
}

// decode reads a JSON body: required, application/json in UTF-8 (RFC
// 8259; a UTF-8 byte order mark is ignored, any other charset is 415),
// unknown fields ignored.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return osbapi.BadRequest("Content-Type must be application/json, got %q", ct)
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			return &osbapi.Error{Status: http.StatusUnsupportedMediaType,
				Description: fmt.Sprintf("charset %q is not supported: JSON bodies must be UTF-8", cs)}
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return s.bodyError(w, "body", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return osbapi.BadRequest("the body is not valid UTF-8: JSON bodies must be UTF-8")
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return osbapi.BadRequest("the request body is empty; a JSON object is required")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return osbapi.BadRequest("the body is not valid JSON for this request: %v", err)
	}
	if s.o.LogRequests {
		s.log.Info("request body", "method", r.Method, "path", r.URL.EscapedPath(), "request_id", ri.RequestIdentity, "body", s.redactBody(data))
	}
	return nil
}

// secretParams is implemented by brokers that know which parameters a
// plan declares secret (password fields), beyond the names that look it.
type secretParams interface {
	SecretParameters(serviceID, planID string) []string
}

// redactBody decodes a logged body with the values of secret parameters
// masked: the plan's password parameters and secret-looking names, at
// any depth.
func (s *Server) redactBody(data []byte) any {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return "<undecodable>"
	}
	var declared map[string]bool
	if sp, ok := s.o.Broker.(secretParams); ok {
		m, _ := v.(map[string]any)
		sid, _ := m["service_id"].(string)
		pid, _ := m["plan_id"].(string)
		declared = redact.Names(sp.SecretParameters(sid, pid)...)
	}
	return redact.Value(v, declared)
}

func required(field, value string) error {
	if value == "" {
		return osbapi.BadRequest("%s is required", field)
	}
	return nil
}

func (s *Server) catalog(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	w.Header().Set("Vary", "Accept-Encoding")
	if cg, ok := s.o.Broker.(catalogGzip); ok && acceptsGzip(r) {
		body, err := cg.CatalogGzip(r.Context(), ri)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return nil
	}
	if cj, ok := s.o.Broker.(catalogJSON); ok {
		body, err := cj.CatalogJSON(r.Context(), ri)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return nil
	}
	c, err := s.o.Broker.Catalog(r.Context(), ri)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) provision(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	var req osbapi.ProvisionRequest
	if err := s.decode(w, r, ri, &req); err != nil {
		return err
	}
	req.MaintenanceInfo = req.MaintenanceInfo.OrNone()
	for _, f := range [][2]string{{"service_id", req.ServiceID}, {"plan_id", req.PlanID},
		{"organization_guid", req.OrganizationGUID}, {"space_guid", req.SpaceGUID}} {
		if err := required(f[0], f[1]); err != nil {
			return err
		}
	}
	resp, err := s.o.Broker.Provision(r.Context(), ri, r.PathValue("instance_id"), &req)
	if err != nil {
		return err
	}
	writeJSON(w, statusOf(resp.Async, resp.Exists, http.StatusCreated), resp)
	return nil
}

func statusOf(async, exists bool, created int) int {
	switch {
	case async:
		return http.StatusAccepted
	case exists:
		return http.StatusOK
	}
	return created
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	var req osbapi.UpdateRequest
	if err := s.decode(w, r, ri, &req); err != nil {
		return err
	}
	req.MaintenanceInfo = req.MaintenanceInfo.OrNone()
	if req.PreviousValues != nil {
		req.PreviousValues.MaintenanceInfo = req.PreviousValues.MaintenanceInfo.OrNone()
	}
	if err := required("service_id", req.ServiceID); err != nil {
		return err
	}
	resp, err := s.o.Broker.Update(r.Context(), ri, r.PathValue("instance_id"), &req)
	if err != nil {
		return err
	}
	writeJSON(w, statusOf(resp.Async, false, http.StatusOK), resp)
	return nil
}

func queryIDs(r *http.Request) (string, string, error) {
	q := r.URL.Query()
	sid, pid := q.Get("service_id"), q.Get("plan_id")
	if err := required("service_id", sid); err != nil {
		return "", "", err
	}
	if err := required("plan_id", pid); err != nil {
		return "", "", err
	}
	return sid, pid, nil
}

func (s *Server) deprovision(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	sid, pid, err := queryIDs(r)
	if err != nil {
		return err
	}
	resp, err := s.o.Broker.Deprovision(r.Context(), ri, r.PathValue("instance_id"), &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid})
	if err != nil {
		return err
	}
	writeJSON(w, statusOf(resp.Async, false, http.StatusOK), resp)
	return nil
}

func fetchReq(r *http.Request) *osbapi.FetchRequest {
	q := r.URL.Query()
	return &osbapi.FetchRequest{ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id")}
}

func lastOpReq(r *http.Request) *osbapi.LastOperationRequest {
	q := r.URL.Query()
	return &osbapi.LastOperationRequest{ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id"), Operation: q.Get("operation")}
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	resp, err := s.o.Broker.GetInstance(r.Context(), ri, r.PathValue("instance_id"), fetchReq(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func writeLastOp(w http.ResponseWriter, resp *osbapi.LastOperationResponse) {
	if resp.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(resp.RetryAfter))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) lastOperation(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	resp, err := s.o.Broker.LastOperation(r.Context(), ri, r.PathValue("instance_id"), lastOpReq(r))
	if err != nil {
		return err
	}
	writeLastOp(w, resp)
	return nil
}

func (s *Server) bind(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	var req osbapi.BindRequest
	if err := s.decode(w, r, ri, &req); err != nil {
		return err
	}
	if err := required("service_id", req.ServiceID); err != nil {
		return err
	}
	if err := required("plan_id", req.PlanID); err != nil {
		return err
	}
	resp, err := s.o.Broker.Bind(r.Context(), ri, r.PathValue("instance_id"), r.PathValue("binding_id"), &req)
	if err != nil {
		return err
	}
	if resp.Async {
		// A 202 MUST NOT carry credentials.
		resp = &osbapi.BindResponse{Async: true, Operation: resp.Operation}
	}
	writeJSON(w, statusOf(resp.Async, resp.Exists, http.StatusCreated), resp)
	return nil
}

func (s *Server) unbind(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	sid, pid, err := queryIDs(r)
	if err != nil {
		return err
	}
	resp, err := s.o.Broker.Unbind(r.Context(), ri, r.PathValue("instance_id"), r.PathValue("binding_id"), &osbapi.UnbindRequest{ServiceID: sid, PlanID: pid})
	if err != nil {
		return err
	}
	writeJSON(w, statusOf(resp.Async, false, http.StatusOK), resp)
	return nil
}

func (s *Server) getBinding(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	resp, err := s.o.Broker.GetBinding(r.Context(), ri, r.PathValue("instance_id"), r.PathValue("binding_id"), fetchReq(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) bindingLastOperation(w http.ResponseWriter, r *http.Request, ri osbapi.RequestInfo) error {
	resp, err := s.o.Broker.BindingLastOperation(r.Context(), ri, r.PathValue("instance_id"), r.PathValue("binding_id"), lastOpReq(r))
	if err != nil {
		return err
	}
	writeLastOp(w, resp)
	return nil
}

// Metrics are the HTTP layer's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the request metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osb_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "osb_http_request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

func (m *Metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// bootstrap answers at once; the bootstrap runs in the background.
func (s *Server) bootstrap(w http.ResponseWriter, r *http.Request, _ osbapi.RequestInfo) error {
	if err := s.o.Bootstrap(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"msg": "Bootstrap job started"})
	return nil
}

func (s *Server) pushSpec(w http.ResponseWriter, r *http.Request, _ osbapi.RequestInfo) error {
	if err := r.ParseMultipartForm(s.o.MaxBodyBytes); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return s.bodyError(w, "form", err)
	}
	enc := r.FormValue("apbSpec")
	if enc == "" {
		// asbd's words.
		return osbapi.BadRequest("Could not parameter apbSpec")
	}
	svc, err := s.o.Dev.PushSpec(r.Context(), enc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, osbapi.Catalog{Services: []osbapi.Service{*svc}})
	return nil
}

func (s *Server) deleteSpecs(w http.ResponseWriter, r *http.Request, _ osbapi.RequestInfo) error {
	var ids []string
	if id := r.PathValue("id"); id != "" {
		ids = append(ids, id)
	}
	if err := s.o.Dev.DeleteSpecs(r.Context(), ids...); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
