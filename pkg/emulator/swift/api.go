package swift

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service. /info is public as on the proxy; every
// other path goes through one handler that splits it as Swift's proxy does
// (/v1/<account>[/<container>[/<object>]]) and runs without a token when
// none is sent (public containers, temp URLs).
func (s *Swift) Routes(rt *core.Router) {
	rt.Handle("GET /info", s.info, core.Public)
	rt.Handle("OPTIONS /info", s.options, core.Public)
	rt.Handle("/{path...}", s.serve, core.OptionalAuth)
}

// request is one Swift request, its path split.
type request struct {
	r         *http.Request
	id        *core.Identity // nil: anonymous (or a temp URL)
	account   string
	container string
	object    string
	now       time.Time
	// owner is keystoneauth's swift_owner: the caller may see and set
	// ACLs, temp URL keys and the like.
	owner bool
	// temp is set when a valid temp URL authorised the request.
	temp *tempGrant
}

// Allowed methods per controller (swob's Allow lists every public method).
var (
	accountMethods   = "DELETE, GET, HEAD, OPTIONS, POST, PUT"
	containerMethods = "DELETE, GET, HEAD, OPTIONS, POST, PUT"
	objectMethods    = "COPY, DELETE, GET, HEAD, OPTIONS, POST, PUT"
)

func (s *Swift) serve(w http.ResponseWriter, r *http.Request) error {
	setTransID(w, r)
	p := r.URL.Path
	if !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
		return fail(http.StatusPreconditionFailed, "Invalid UTF8 or contains NULL")
	}
	if p == "/info" {
		return allowOnly("GET, HEAD, OPTIONS")
	}
	// split_path(path, 1, 4, rest_with_last=True)
	segs := strings.SplitN(p, "/", 5)
	if len(segs) < 2 || segs[1] == "" {
		return fail(http.StatusNotFound, "")
	}
	for len(segs) < 5 {
		segs = append(segs, "")
	}
	rq := &request{r: r, id: core.IdentityOf(r), account: segs[2], container: segs[3], object: segs[4], now: s.env.Now()}
	if rq.account != "" && segs[1] != "v1" && segs[1] != "v1.0" {
		return fail(http.StatusBadRequest, "")
	}
	if rq.account == "" || (rq.container == "" && rq.object != "") {
		return fail(http.StatusPreconditionFailed, "Bad URL")
	}
	if len(rq.account) > MaxAccountNameLength {
		return fail(http.StatusBadRequest, "")
	}
	q := r.URL.Query()
	// Middlewares before the proxy, in Swift's pipeline order: bulk,
	// tempurl, (authtoken, keystoneauth), copy, quotas, slo, dlo,
	// versioned_writes.
	if rq.object == "" && rq.container == "" && q.Has("bulk-delete") && (r.Method == http.MethodPost || r.Method == http.MethodDelete) {
		if err := s.authorize(rq, ""); err != nil {
			return err
		}
		return s.bulkDelete(w, rq)
	}
	if q.Has("temp_url_sig") || q.Has("temp_url_expires") {
		if err := s.checkTempURL(rq); err != nil {
			return err
		}
	}
	switch {
	case rq.object != "":
		return s.serveObject(w, rq)
	case rq.container != "":
		return s.serveContainer(w, rq)
	default:
		return s.serveAccount(w, rq)
	}
}

func allowOnly(methods string) error {
	e := fail(http.StatusMethodNotAllowed, "")
	e.Header = http.Header{"Allow": {methods}}
	return e
}

// options answers OPTIONS without an Origin header as the proxy does:
// 200 with Allow (CORS preflights are not emulated).
func (s *Swift) options(w http.ResponseWriter, r *http.Request) error {
	setTransID(w, r)
	allow := "GET, HEAD, OPTIONS"
	if r.URL.Path != "/info" && r.URL.Path != "/" {
		allow = objectMethods
	}
	w.Header().Set("Allow", allow)
	empty(w, r, http.StatusOK)
	return nil
}

// Roles as keystoneauth is configured on a devstack-like cloud.
var (
	operatorRoles     = []string{"admin", "member", "swiftoperator"}
	projectReaderRole = "reader"
	resellerAdminRole = "resellerAdmin"
)

// authorize is how the proxy runs keystoneauth: first without an ACL
// (the owner is recognised there), then, for the container and object
// methods that delay their denial, again with the container's ACL (read
// ACL for reads, write ACL for object writes, "" where only owners may
// act). nil means allowed; rq.owner tells whether the caller owns the
// account.
func (s *Swift) authorize(rq *request, acl string) error {
	err := s.authorizeACL(rq, "")
	if err == nil || acl == "" {
		return err
	}
	return s.authorizeACL(rq, acl)
}

// authorizeACL is keystoneauth's authorize / authorize_anonymous.
func (s *Swift) authorizeACL(rq *request, acl string) error {
	rq.owner = false
	if rq.temp != nil {
		if rq.temp.account == rq.account && (rq.temp.container == "" || rq.temp.container == rq.container) {
			return nil
		}
		return fail(http.StatusUnauthorized, "")
	}
	r := rq.r
	referrers, groups := parseACL(acl)
	if r.Method == http.MethodOptions {
		return nil
	}
	id := rq.id
	if id == nil {
		if !strings.HasPrefix(rq.account, ResellerPrefix) {
			return fail(http.StatusUnauthorized, "")
		}
		if referrerAllowed(r.Referer(), referrers) && (rq.object != "" || contains(groups, ".rlistings")) {
			return nil
		}
		return fail(http.StatusUnauthorized, "")
	}
	for _, role := range id.Roles {
		if strings.EqualFold(role, resellerAdminRole) {
			rq.owner = true
			return nil
		}
	}
	if rq.container == "" && rq.object == "" && r.Method == http.MethodDelete {
		return fail(http.StatusForbidden, "")
	}
	if len(groups) > 0 && crossTenantMatch(id, groups) {
		return nil
	}
	var aclAuthorized *bool
	if referrerAllowed(r.Referer(), referrers) {
		ok := rq.object != "" || contains(groups, ".rlistings")
		if ok {
			return nil
		}
		aclAuthorized = &ok
	}
	if rq.account != ResellerPrefix+id.ProjectID {
		return fail(http.StatusForbidden, "")
	}
	for _, role := range operatorRoles {
		if hasRoleFold(id, role) {
			rq.owner = true
			return nil
		}
	}
	if hasRoleFold(id, projectReaderRole) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return nil
	}
	if aclAuthorized != nil {
		return fail(http.StatusForbidden, "")
	}
	for _, role := range id.Roles {
		for _, g := range groups {
			if strings.EqualFold(role, g) {
				return nil
			}
		}
	}
	return fail(http.StatusForbidden, "")
}

func hasRoleFold(id *core.Identity, role string) bool {
	for _, r := range id.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}

// crossTenantMatch is keystoneauth's _authorize_cross_tenant: an ACL
// entry project:user where each side is the id, the name (default domain)
// or *.
func crossTenantMatch(id *core.Identity, groups []string) bool {
	tenants := []string{id.ProjectID, "*"}
	users := []string{id.UserID, "*"}
	if (id.UserDomainID == "" || id.UserDomainID == "default") && (id.ProjectDomainID == "" || id.ProjectDomainID == "default") {
		tenants = append(tenants, id.ProjectName)
		users = append(users, id.UserName)
	}
	for _, t := range tenants {
		for _, u := range users {
			if contains(groups, t+":"+u) {
				return true
			}
		}
	}
	return false
}

// parseACL is acl.parse_acl (v1): referrers (without .r:) and groups.
func parseACL(acl string) (referrers, groups []string) {
	if acl == "" {
		return nil, nil
	}
	for _, v := range strings.Split(acl, ",") {
		if strings.HasPrefix(v, ".r:") {
			referrers = append(referrers, v[3:])
		} else if g, err := url.PathUnescape(v); err == nil {
			groups = append(groups, g)
		} else {
			groups = append(groups, v)
		}
	}
	return referrers, groups
}

// cleanACL is acl.clean_acl: it normalises an X-Container-Read/Write
// value or says what is wrong with it (400).
func cleanACL(name, value string) (string, error) {
	var out []string
	for _, raw := range strings.Split(value, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		first, second, ok := strings.Cut(raw, ":")
		if !ok {
			out = append(out, raw)
			continue
		}
		first, second = strings.TrimSpace(first), strings.TrimSpace(second)
		if first == "" || !strings.HasPrefix(first, ".") {
			out = append(out, raw)
			continue
		}
		switch first {
		case ".r", ".ref", ".referer", ".referrer":
			if strings.Contains(strings.ToLower(name), "write") {
				return "", fail(http.StatusBadRequest, "Referrers not allowed in write ACL: "+pyRepr(raw))
			}
			negate := false
			if strings.HasPrefix(second, "-") {
				negate = true
				second = strings.TrimSpace(second[1:])
			}
			if second != "" && second != "*" && strings.HasPrefix(second, "*") {
				second = strings.TrimSpace(second[1:])
			}
			if second == "" || second == "." {
				return "", fail(http.StatusBadRequest, "No host/domain value after referrer designation in ACL: "+pyRepr(raw))
			}
			if negate {
				second = "-" + second
			}
			out = append(out, ".r:"+second)
		default:
			return "", fail(http.StatusBadRequest, "Unknown designator "+pyRepr(first)+" in ACL: "+pyRepr(raw))
		}
	}
	return strings.Join(out, ","), nil
}

// referrerAllowed is acl.referrer_allowed.
func referrerAllowed(referrer string, acl []string) bool {
	allow := false
	if len(acl) == 0 {
		return false
	}
	rhost := "unknown"
	if u, err := url.Parse(referrer); err == nil && u.Hostname() != "" {
		rhost = strings.ToLower(u.Hostname())
	}
	for _, m := range acl {
		if strings.HasPrefix(m, "-") {
			m = m[1:]
			if m == rhost || (strings.HasPrefix(m, ".") && strings.HasSuffix(rhost, m)) {
				allow = false
			}
		} else if m == "*" || m == rhost || (strings.HasPrefix(m, ".") && strings.HasSuffix(rhost, m)) {
			allow = true
		}
	}
	return allow
}

// pyRepr quotes like Python's repr of a str.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// empty answers a status without a body, with swob's headers.
func empty(w http.ResponseWriter, r *http.Request, status int) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	if status != http.StatusNoContent {
		w.Header().Set("Content-Length", "0")
	}
	w.WriteHeader(status)
}

// accepted answers 202 with swob's default page (container PUT of an
// existing container, object POST).
func accepted(w http.ResponseWriter, r *http.Request) {
	body := defaultBody(http.StatusAccepted)
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(http.StatusAccepted)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}
