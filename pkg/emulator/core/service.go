package core

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
)

// Service is one OpenStack service of the emulator. A service package
// exports New(env *core.Env) returning one; pkg/emulator lists it.
type Service interface {
	// Spec says where the service lives and how it answers errors.
	Spec() Spec
	// Routes registers the handlers (patterns relative to Spec.Prefix).
	Routes(r *Router)
	// State is saved and restored by the Cloud; nil when stateless.
	State() Persistent
	// Resources lists every resource of every project, for the admin API.
	Resources() []Resource
}

// Resource is one line of the admin listing.
type Resource struct {
	Service   string `json:"service"` // filled in by the Cloud
	Type      string `json:"type"`    // e.g. "image", "server", "network"
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	Status    string `json:"status,omitempty"`
}

// Spec describes a service to the Cloud and to Keystone's catalog.
type Spec struct {
	Name   string // catalog name and state key: "glance"
	Type   string // catalog type and access-rule service: "image"
	Prefix string // path the service is mounted at: "/image" ("" = root, Keystone only)
	// Endpoint is the catalog URL's path, "$(project_id)s" standing for
	// the token's project: "/volume/v3/$(project_id)s". Default: Prefix.
	Endpoint string
	// Errors renders every error of the service (FaultErrors,
	// NeutronErrors, KeystoneErrors, WebObErrors, SwiftErrors or your own).
	Errors ErrorWriter
	// AuthErrors renders the 401 of a missing, invalid, expired or revoked
	// token or one outside its access rules. Default KeystoneMiddleware401.
	AuthErrors ErrorWriter
	// Microversions, when set, are negotiated on every authenticated route.
	Microversions *Microversions
	// RequestIDHeaders are extra headers carrying the request id besides
	// X-Openstack-Request-Id (Nova: X-Compute-Request-Id).
	RequestIDHeaders []string
	// OwnPolicy: the service checks roles and scope itself (Keystone); the
	// router then only authenticates and applies access rules.
	OwnPolicy bool
	// Hidden: not in the catalog (the emulator's admin API).
	Hidden bool
}

// HandlerFunc is a route handler. Returning an *APIError answers it in the
// service's error shape; any other error is an internal error (logged,
// 500, and a test failure). A handler that returns an error must not have
// written anything.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// RouteOption changes what the router checks before a handler.
type RouteOption int

const (
	// Public routes need no token (version discovery).
	Public RouteOption = iota + 1
	// AdminOnly routes need the admin role (403 otherwise).
	AdminOnly
	// OptionalAuth routes run without an identity when the request has no
	// X-Auth-Token (Swift's public containers and temp URLs); a token that
	// is present is checked as on any route. IdentityOf may return nil.
	OptionalAuth
)

// Router dispatches a service's requests (path relative to its Prefix) and
// applies, before every non-Public handler: token validation (401),
// application credential access rules (401, as keystonemiddleware), a
// project scope and roles (403: reads need reader, member or admin; writes
// member or admin), AdminOnly (403) and microversion negotiation (400/406).
type Router struct {
	env  *Env
	spec Spec
	mux  *http.ServeMux
	pats map[string]bool
}

// NewRouter returns the router of one service.
func NewRouter(env *Env, spec Spec) *Router {
	if spec.Errors == nil {
		spec.Errors = FaultErrors
	}
	if spec.AuthErrors == nil {
		spec.AuthErrors = KeystoneMiddleware401
	}
	return &Router{env: env, spec: spec, mux: http.NewServeMux(), pats: map[string]bool{}}
}

// Spec returns the service's Spec (with defaults filled in).
func (rt *Router) Spec() Spec { return rt.spec }

// Handle registers h for a net/http pattern relative to the service's
// prefix: "GET /v2/images/{image_id}" (GET also answers HEAD). Read path
// parameters with r.PathValue.
func (rt *Router) Handle(pattern string, h HandlerFunc, opts ...RouteOption) {
	var public, admin, optional bool
	for _, o := range opts {
		switch o {
		case Public:
			public = true
		case AdminOnly:
			admin = true
		case OptionalAuth:
			optional = true
		}
	}
	rt.pats[pattern] = true
	rt.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !public && !(optional && r.Header.Get("X-Auth-Token") == "") {
			var ok bool
			if r, ok = rt.authorize(w, r, admin); !ok {
				return
			}
		}
		rt.run(w, r, h)
	}))
}

// ServeHTTP serves a request whose path has the prefix stripped.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, h := range rt.spec.RequestIDHeaders {
		w.Header().Set(h, RequestID(r))
	}
	if _, pattern := rt.mux.Handler(r); pattern != "" {
		rt.mux.ServeHTTP(w, r)
		return
	}
	// No route: like keystonemiddleware in front of the service, an
	// unauthenticated request gets 401 before anything says 404.
	r, ok := rt.authenticate(w, r)
	if !ok {
		return
	}
	if allowed := rt.allowedMethods(r); len(allowed) > 0 {
		e := Errorf(http.StatusMethodNotAllowed, "The method %s is not allowed for this resource.", r.Method)
		e.Header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
		rt.spec.Errors(w, r, e)
		return
	}
	rt.spec.Errors(w, r, NotFound("The resource could not be found."))
}

func (rt *Router) allowedMethods(r *http.Request) []string {
	var allowed []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := rt.mux.Handler(probe); p != "" && rt.pats[p] {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// authenticate validates X-Auth-Token and the access rules.
func (rt *Router) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	token := r.Header.Get("X-Auth-Token")
	tokens := rt.env.Tokens()
	if token == "" || tokens == nil {
		rt.spec.AuthErrors(w, r, &APIError{Status: http.StatusUnauthorized})
		return r, false
	}
	id, err := tokens.ValidateToken(r.Context(), token)
	if err != nil {
		rt.spec.AuthErrors(w, r, &APIError{Status: http.StatusUnauthorized})
		return r, false
	}
	if !IsServiceCall(r) && !AccessAllowed(id, rt.spec.Type, r.Method, r.URL.Path, FullPath(r)) {
		rt.env.Log.Info("access rules refuse the request", "service", rt.spec.Type, "method", r.Method, "path", r.URL.Path)
		rt.spec.AuthErrors(w, r, &APIError{Status: http.StatusUnauthorized})
		return r, false
	}
	return r.WithContext(WithIdentity(r.Context(), id)), true
}

// authorize authenticates, then checks scope, roles and the microversion.
func (rt *Router) authorize(w http.ResponseWriter, r *http.Request, admin bool) (*http.Request, bool) {
	r, ok := rt.authenticate(w, r)
	if !ok {
		return r, false
	}
	id := IdentityOf(r)
	if !rt.spec.OwnPolicy {
		var e *APIError
		switch {
		case id.ProjectID == "":
			e = Forbidden("Policy doesn't allow this operation to be performed: a project-scoped token is required.")
		case admin && !id.IsAdmin():
			e = Forbidden("Policy doesn't allow %s %s to be performed.", r.Method, r.URL.Path)
		case !rolesAllow(id, r.Method):
			e = Forbidden("Policy doesn't allow %s %s to be performed.", r.Method, r.URL.Path)
		}
		if e != nil {
			rt.spec.Errors(w, r, e)
			return r, false
		}
	}
	if mv := rt.spec.Microversions; mv != nil {
		v, e := mv.Negotiate(w, r)
		if e != nil {
			rt.spec.Errors(w, r, e)
			return r, false
		}
		r = r.WithContext(WithMicroversion(r.Context(), v))
	}
	return r, true
}

// rolesAllow is the secure-RBAC default of the services: reads need any of
// reader, member, admin; writes need member or admin.
func rolesAllow(id *Identity, method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return id.HasRole("reader") || id.HasRole("member") || id.HasRole("admin")
	}
	return id.HasRole("member") || id.HasRole("admin")
}

// run calls h and renders its error.
func (rt *Router) run(w http.ResponseWriter, r *http.Request, h HandlerFunc) {
	err := h(w, r)
	if err == nil {
		return
	}
	if e, ok := AsAPIError(err); ok {
		rt.spec.Errors(w, r, e)
		return
	}
	rt.env.Problem("%s %s: %v", r.Method, FullPath(r), err)
	rt.spec.Errors(w, r, Errorf(http.StatusInternalServerError, "An unexpected error occurred: %s", RequestID(r)))
}

// Recover turns a panic in next into a logged 500 and an Env problem.
func Recover(env *Env, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				env.Problem("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
				http.Error(w, fmt.Sprintf("internal error (request %s)", RequestID(r)), http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
