package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Env is what every service gets from the Cloud: the clock, the -delay,
// the logger, change notification for persistence, timers owned by the
// Cloud, and in-process calls to the other services.
type Env struct {
	// Delay is how long BUILD/creating/PENDING_* states last (-delay).
	Delay time.Duration
	// Log is the emulator's logger. Never log secrets (passwords, tokens,
	// application credential secrets).
	Log *slog.Logger

	now       func() time.Time
	onChange  func()
	onProblem func(string)

	mu      sync.Mutex
	handler http.Handler
	host    string
	specs   []Spec
	tokens  TokenValidator
	timers  map[*time.Timer]struct{}
	closed  bool
}

// EnvConfig configures NewEnv. Zero values are fine for unit tests.
type EnvConfig struct {
	Delay     time.Duration
	Log       *slog.Logger
	Now       func() time.Time // default time.Now
	OnChange  func()           // a service's state changed
	OnProblem func(string)     // an internal error (a 500 nobody injected)
}

// NewEnv returns an Env; the Cloud binds it to its handler once every
// service exists.
func NewEnv(c EnvConfig) *Env {
	e := &Env{Delay: c.Delay, Log: c.Log, now: c.Now, onChange: c.OnChange, onProblem: c.OnProblem,
		timers: map[*time.Timer]struct{}{}}
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// Bind connects the Env to the Cloud: the root handler (for Do), the
// host clients reach it at, the registered services (for the catalog)
// and the token validator (Keystone).
func (e *Env) Bind(h http.Handler, host string, specs []Spec, tokens TokenValidator) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handler, e.host, e.specs, e.tokens = h, host, specs, tokens
}

// Now is the emulator's clock (UTC).
func (e *Env) Now() time.Time { return e.now().UTC() }

// Changed marks the state as changed (State.Update calls it).
func (e *Env) Changed() {
	if e.onChange != nil {
		e.onChange()
	}
}

// Problem records an internal error: the tests fail on any.
func (e *Env) Problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.Log.Error("internal error", "problem", msg)
	if e.onProblem != nil {
		e.onProblem(msg)
	}
}

// Specs returns every registered service's Spec (Keystone builds the
// catalog from them).
func (e *Env) Specs() []Spec {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.specs
}

// Tokens returns the token validator.
func (e *Env) Tokens() TokenValidator {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tokens
}

// After runs fn once after d, on a timer the Cloud stops on Close. Prefer
// Lifecycle (computed when read) for statuses; use After for side effects
// that must happen even if nobody reads (fn takes the locks it needs).
func (e *Env) After(d time.Duration, fn func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		e.mu.Lock()
		_, live := e.timers[t]
		delete(e.timers, t)
		e.mu.Unlock()
		if !live {
			return
		}
		defer func() {
			if v := recover(); v != nil {
				e.Problem("panic in a timer: %v", v)
			}
		}()
		fn()
	})
	e.timers[t] = struct{}{}
}

// Close stops every pending timer.
func (e *Env) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for t := range e.timers {
		t.Stop()
	}
	e.timers = map[*time.Timer]struct{}{}
}

// Call is a request from one service to another, sent in-process through
// the whole emulator (faults included) with the caller's token, as real
// services call each other. Access rules are not applied to it (real
// services add a service token, which exempts the request from them).
type Call struct {
	Identity *Identity // whose token to send
	Service  string    // the target's catalog type: "network", "compute", ...
	Method   string
	Path     string // relative to the service's root, e.g. "/v2.0/ports"
	Query    url.Values
	Header   http.Header // names in any case: Do canonicalises them
	Body     any         // JSON-encoded unless []byte; nil for none
}

// CallError is a non-2xx answer to a Call.
type CallError struct {
	Status int
	Body   []byte
}

func (e *CallError) Error() string {
	return fmt.Sprintf("status %d: %s", e.Status, bytes.TrimSpace(e.Body))
}

// Do sends c and decodes a 2xx JSON answer into out (when not nil). A
// non-2xx answer is a *CallError.
func (e *Env) Do(ctx context.Context, c Call, out any) error {
	e.mu.Lock()
	h, host, specs := e.handler, e.host, e.specs
	e.mu.Unlock()
	if h == nil {
		return fmt.Errorf("calling %s: the emulator is not running", c.Service)
	}
	prefix, found := "", false
	for _, s := range specs {
		if s.Type == c.Service {
			prefix, found = s.Prefix, true
			break
		}
	}
	if !found {
		return fmt.Errorf("calling %s: no such service in this emulator", c.Service)
	}
	var body []byte
	switch b := c.Body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return fmt.Errorf("calling %s: %w", c.Service, err)
		}
	}
	u := &url.URL{Scheme: "http", Host: host, Path: prefix + c.Path, RawQuery: c.Query.Encode()}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, serviceCallKey, true), c.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("calling %s: %w", c.Service, err)
	}
	// Header names are canonicalised: a map literal such as
	// http.Header{"OpenStack-API-Version": ...} is not, and Get would
	// never find it (the microversion would silently be the minimum).
	for k, vs := range c.Header {
		ck := http.CanonicalHeaderKey(k)
		req.Header[ck] = append(req.Header[ck], vs...)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Identity != nil {
		req.Header.Set("X-Auth-Token", c.Identity.Token)
	}
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.status < 200 || rec.status > 299 {
		return &CallError{Status: rec.status, Body: rec.body.Bytes()}
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("calling %s %s %s: decoding the answer: %w", c.Service, c.Method, c.Path, err)
		}
	}
	return nil
}

// recorder is the ResponseWriter of an in-process Call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// EndpointURL returns spec's catalog URL for a project, under base
// ("http://127.0.0.1:5000"): "$(project_id)s" in Spec.Endpoint becomes
// the project id, as in Keystone's endpoint templates.
func EndpointURL(base string, spec Spec, projectID string) string {
	ep := spec.Endpoint
	if ep == "" {
		ep = spec.Prefix
	}
	return base + strings.ReplaceAll(ep, "$(project_id)s", projectID)
}
