package core

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Identity is who made a request, from the X-Auth-Token Keystone issued.
type Identity struct {
	Token        string `json:"-"`
	UserID       string `json:"user_id"`
	UserName     string `json:"user_name"`
	UserDomainID string `json:"user_domain_id"`
	// ProjectID is empty for unscoped and domain-scoped tokens.
	ProjectID       string `json:"project_id,omitempty"`
	ProjectName     string `json:"project_name,omitempty"`
	ProjectDomainID string `json:"project_domain_id,omitempty"`
	// DomainID is set for domain-scoped tokens only.
	DomainID string `json:"domain_id,omitempty"`
	// Roles holds the role names of the token, implied roles included
	// (admin implies member implies reader).
	Roles     []string  `json:"roles"`
	ExpiresAt time.Time `json:"expires_at"`
	// AppCred is set when the token came from an application credential.
	AppCred *AppCred `json:"application_credential,omitempty"`
}

// AppCred is the application credential a token was issued for.
type AppCred struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Unrestricted bool   `json:"unrestricted"`
	// AccessRules nil means unrestricted by rules; an empty non-nil list
	// cannot happen (Keystone stores none then).
	AccessRules []AccessRule `json:"access_rules,omitempty"`
}

// AccessRule is one entry of an application credential's access_rules.
type AccessRule struct {
	ID      string `json:"id,omitempty"`
	Service string `json:"service"`
	Method  string `json:"method"`
	Path    string `json:"path"`
}

// HasRole reports whether the token carries the role (by name).
func (id *Identity) HasRole(name string) bool { return slices.Contains(id.Roles, name) }

// IsAdmin reports whether the token carries the admin role.
func (id *Identity) IsAdmin() bool { return id.HasRole("admin") }

// Owns reports whether a resource of projectID belongs to the caller's
// project. Use CanSee for reads an admin may make across projects.
func (id *Identity) Owns(projectID string) bool {
	return id.ProjectID != "" && id.ProjectID == projectID
}

// CanSee reports whether the caller may see a resource of projectID by its
// id: its own project's, or any with the admin role (as the real services'
// default policies allow admins).
func (id *Identity) CanSee(projectID string) bool { return id.Owns(projectID) || id.IsAdmin() }

// AllProjects reports whether a list request asks for every project's
// resources (all_tenants / all_projects, as Nova, Cinder, Manila, Trove
// spell it) and the caller may have them (admin).
func AllProjects(r *http.Request) bool {
	id := IdentityOf(r)
	if id == nil || !id.IsAdmin() {
		return false
	}
	q := r.URL.Query()
	for _, k := range []string{"all_tenants", "all_projects"} {
		if q.Has(k) {
			v := strings.ToLower(q.Get(k))
			return v == "" || v == "1" || v == "true" || v == "yes" || v == "on"
		}
	}
	return false
}

// TokenValidator turns an X-Auth-Token into an Identity; Keystone is the
// one implementation. An error means the token is unknown, expired or
// revoked (401).
type TokenValidator interface {
	ValidateToken(ctx context.Context, token string) (*Identity, error)
}

type ctxKey int

const (
	identityKey ctxKey = iota
	requestIDKey
	fullPathKey
	prefixKey
	microversionKey
	serviceCallKey
)

// IdentityOf returns the caller of an authenticated route (nil on Public
// routes).
func IdentityOf(r *http.Request) *Identity {
	id, _ := r.Context().Value(identityKey).(*Identity)
	return id
}

// WithIdentity returns a context carrying id (used by the router and by
// tests of a single handler).
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// RequestID returns the request's req-<uuid>, as sent in
// X-Openstack-Request-Id.
func RequestID(r *http.Request) string {
	s, _ := r.Context().Value(requestIDKey).(string)
	return s
}

// WithRequestID returns a context carrying the request id.
func WithRequestID(ctx context.Context, rid string) context.Context {
	return context.WithValue(ctx, requestIDKey, rid)
}

// FullPath returns the path as the client sent it, with the service's
// prefix (r.URL.Path inside a service has it stripped).
func FullPath(r *http.Request) string {
	if s, ok := r.Context().Value(fullPathKey).(string); ok {
		return s
	}
	return r.URL.Path
}

// ServicePrefix returns the path prefix the service is mounted at
// ("/image"; "" for Keystone at the root).
func ServicePrefix(r *http.Request) string {
	s, _ := r.Context().Value(prefixKey).(string)
	return s
}

// WithPaths returns a context carrying the unstripped path and the
// service's prefix.
func WithPaths(ctx context.Context, full, prefix string) context.Context {
	return context.WithValue(context.WithValue(ctx, fullPathKey, full), prefixKey, prefix)
}

// IsServiceCall reports whether the request came from another service of
// this emulator (Env.Call), which real OpenStack marks with a service token.
func IsServiceCall(r *http.Request) bool {
	v, _ := r.Context().Value(serviceCallKey).(bool)
	return v
}

// AccessAllowed applies an application credential's access rules the way
// keystonemiddleware's validate_allowed_request does: no application
// credential or no rules allows everything; a token can always validate
// tokens (GET .../v3/auth/tokens on identity); otherwise one rule must
// match the method exactly, the service type exactly and the path with
// PathMatches. The path matched is the one relative to the service's
// endpoint root (e.g. /v2.1/servers for /compute/v2.1/servers); the full
// path is tried too, so rules written either way work.
func AccessAllowed(id *Identity, serviceType, method, relPath, fullPath string) bool {
	if id == nil || id.AppCred == nil || id.AppCred.AccessRules == nil {
		return true
	}
	if serviceType == "identity" && method == http.MethodGet && strings.HasSuffix(relPath, "/v3/auth/tokens") {
		return true
	}
	for _, ar := range id.AppCred.AccessRules {
		if ar.Method == method && ar.Service == serviceType &&
			(PathMatches(relPath, ar.Path) || PathMatches(fullPath, ar.Path)) {
			return true
		}
	}
	return false
}

var pathTokenRE = regexp.MustCompile(`(?P<tag>{[^}]*})|(?P<rec>\*\*)|(?P<wild>\*)|(?P<lit>[^{}*])`)

// PathMatches is keystonemiddleware's _path_matches: in the pattern,
// `*` and `{name}` match one path segment (no slash), `**` matches
// anything (slashes included, also nothing), all else is literal; the
// whole path must match.
func PathMatches(path, pattern string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, m := range pathTokenRE.FindAllStringSubmatch(pattern, -1) {
		switch {
		case m[1] != "" || m[3] != "":
			b.WriteString(`[^/]+`)
		case m[2] != "":
			b.WriteString(`.*`)
		default:
			b.WriteString(regexp.QuoteMeta(m[4]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return false
	}
	return re.MatchString(path)
}
