package keystone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

var errInvalidToken = errors.New("invalid token")

func unauthorized() *core.APIError {
	return &core.APIError{Status: http.StatusUnauthorized, Message: "The request you have made requires authentication."}
}

// ValidateToken implements core.TokenValidator.
func (k *Keystone) ValidateToken(_ context.Context, token string) (*core.Identity, error) {
	var id *core.Identity
	err := k.state.View(func(s *state) error {
		t, ok := s.Tokens[token]
		if !ok {
			return errInvalidToken
		}
		var err error
		id, _, err = s.identity(t, k.env.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	id.Token = token
	return id, nil
}

// identity recomputes what a token stands for from the current state.
func (s *state) identity(t *Token, now time.Time) (*core.Identity, []*Role, error) {
	if !now.Before(t.ExpiresAt) {
		return nil, nil, errInvalidToken
	}
	u := s.Users[t.UserID]
	if u == nil || !u.Enabled {
		return nil, nil, errInvalidToken
	}
	id := &core.Identity{UserID: u.ID, UserName: u.Name, UserDomainID: u.DomainID, ExpiresAt: t.ExpiresAt, Roles: []string{}}
	var roleIDs []string
	switch {
	case t.ProjectID != "":
		p := s.Projects[t.ProjectID]
		if p == nil || !p.Enabled {
			return nil, nil, errInvalidToken
		}
		id.ProjectID, id.ProjectName, id.ProjectDomainID = p.ID, p.Name, p.DomainID
		roleIDs = s.effectiveRoles(u.ID, p.ID)
		if t.AppCredID != "" {
			ac := s.AppCreds[t.AppCredID]
			if ac == nil || (!ac.ExpiresAt.IsZero() && !now.Before(ac.ExpiresAt)) {
				return nil, nil, errInvalidToken
			}
			for _, r := range ac.RoleIDs {
				if !slices.Contains(roleIDs, r) {
					return nil, nil, errInvalidToken
				}
			}
			roleIDs = s.expand(ac.RoleIDs)
			id.AppCred = &core.AppCred{ID: ac.ID, Name: ac.Name, Unrestricted: ac.Unrestricted, AccessRules: s.rulesOf(ac)}
		}
		if len(roleIDs) == 0 {
			return nil, nil, errInvalidToken
		}
	case t.DomainID != "":
		d := s.Domains[t.DomainID]
		if d == nil || !d.Enabled || !s.isAdmin(u.ID) {
			return nil, nil, errInvalidToken
		}
		id.DomainID = d.ID
		roleIDs = s.expand([]string{s.roleByName("admin")})
	}
	var roles []*Role
	for _, r := range roleIDs {
		if role := s.Roles[r]; role != nil {
			roles = append(roles, role)
			id.Roles = append(id.Roles, role.Name)
		}
	}
	return id, roles, nil
}

func (s *state) rulesOf(ac *AppCred) []core.AccessRule {
	if ac.AccessRuleIDs == nil {
		return nil
	}
	rules := []core.AccessRule{}
	for _, rid := range ac.AccessRuleIDs {
		if r := s.AccessRules[rid]; r != nil {
			rules = append(rules, core.AccessRule{ID: r.ID, Service: r.Service, Method: r.Method, Path: r.Path})
		}
	}
	return rules
}

// effectiveRoles returns the role ids of a user on a project, implied
// roles included, sorted by name.
func (s *state) effectiveRoles(userID, projectID string) []string {
	var direct []string
	for _, a := range s.Assignments {
		if a.UserID == userID && a.ProjectID == projectID {
			direct = append(direct, a.RoleID)
		}
	}
	return s.expand(direct)
}

func (s *state) expand(roleIDs []string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(r string) {
		if seen[r] || s.Roles[r] == nil {
			return
		}
		seen[r] = true
		for _, i := range s.Implied[r] {
			walk(i)
		}
	}
	for _, r := range roleIDs {
		walk(r)
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return s.Roles[out[i]].Name < s.Roles[out[j]].Name })
	return out
}

func (s *state) roleByName(name string) string {
	for _, r := range s.Roles {
		if r.Name == name {
			return r.ID
		}
	}
	return ""
}

func (s *state) isAdmin(userID string) bool {
	admin := s.roleByName("admin")
	for _, a := range s.Assignments {
		if a.UserID == userID && a.RoleID == admin {
			return true
		}
	}
	return false
}

// authRequest is the body of POST /v3/auth/tokens.
type authRequest struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *userRef `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
			AppCred *struct {
				ID     string   `json:"id"`
				Name   string   `json:"name"`
				Secret string   `json:"secret"`
				User   *userRef `json:"user"`
			} `json:"application_credential"`
		} `json:"identity"`
		Scope any `json:"scope"`
	} `json:"auth"`
}

type userRef struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Password string  `json:"password"`
	Domain   *nameID `json:"domain"`
}

type nameID struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Domain *nameID `json:"domain"`
}

type scope struct {
	Project *nameID `json:"project"`
	Domain  *nameID `json:"domain"`
	System  any     `json:"system"`
}

func (s *state) findDomain(ref *nameID) *Domain {
	if ref == nil {
		return nil
	}
	if ref.ID != "" {
		return s.Domains[ref.ID]
	}
	for _, d := range s.Domains {
		if d.Name == ref.Name {
			return d
		}
	}
	return nil
}

func (s *state) findUser(ref *userRef) *User {
	if ref == nil {
		return nil
	}
	if ref.ID != "" {
		return s.Users[ref.ID]
	}
	d := s.findDomain(ref.Domain)
	if d == nil {
		return nil
	}
	for _, u := range s.Users {
		if u.Name == ref.Name && u.DomainID == d.ID {
			return u
		}
	}
	return nil
}

func (s *state) findProject(ref *nameID) *Project {
	if ref.ID != "" {
		return s.Projects[ref.ID]
	}
	d := s.findDomain(ref.Domain)
	if d == nil {
		return nil
	}
	for _, p := range s.Projects {
		if p.Name == ref.Name && p.DomainID == d.ID {
			return p
		}
	}
	return nil
}

// issue handles POST /v3/auth/tokens.
func (k *Keystone) issue(w http.ResponseWriter, r *http.Request) error {
	var req authRequest
	if err := core.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Auth == nil {
		return core.BadRequest("'auth' is a required property")
	}
	if req.Auth.Identity == nil {
		return core.BadRequest("'identity' is a required property")
	}
	ident := req.Auth.Identity
	if len(ident.Methods) == 0 {
		return core.BadRequest("'methods' is a required property")
	}
	var sc scope
	switch v := req.Auth.Scope.(type) {
	case nil:
	case string:
		if v != "unscoped" {
			return core.BadRequest("Invalid input for field 'scope': %q is not of type 'object'", v)
		}
	case map[string]any:
		b, _ := json.Marshal(v)
		if err := json.Unmarshal(b, &sc); err != nil {
			return core.BadRequest("Invalid input for field 'scope'")
		}
	default:
		return core.BadRequest("Invalid input for field 'scope'")
	}
	if sc.System != nil {
		// System scope is not emulated: no user has a system role.
		return unauthorized()
	}
	now := k.env.Now()
	var (
		body map[string]any
		sub  string
	)
	err := k.state.Update(func(s *state) error {
		t := &Token{IssuedAt: now, ExpiresAt: now.Add(k.ttl), Methods: ident.Methods, AuditIDs: []string{core.NewSecret(16)}}
		method := ident.Methods[0]
		switch method {
		case "password":
			if ident.Password == nil || ident.Password.User == nil {
				return core.BadRequest("Expecting to find user in password. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
			}
			u := s.findUser(ident.Password.User)
			if u == nil || !u.Enabled || !checkSecret(u.PasswordHash, ident.Password.User.Password) {
				k.env.Log.Info("keystone: password authentication failed", "user", ident.Password.User.Name+ident.Password.User.ID)
				return unauthorized()
			}
			t.UserID = u.ID
		case "application_credential":
			ac := ident.AppCred
			if ac == nil {
				return core.BadRequest("Expecting to find application_credential in identity.")
			}
			if sc.Project != nil || sc.Domain != nil {
				return unauthorized()
			}
			var cred *AppCred
			if ac.ID != "" {
				cred = s.AppCreds[ac.ID]
			} else if u := s.findUser(ac.User); u != nil {
				for _, c := range s.AppCreds {
					if c.UserID == u.ID && c.Name == ac.Name {
						cred = c
					}
				}
			}
			if cred == nil || !checkSecret(cred.SecretHash, ac.Secret) ||
				(!cred.ExpiresAt.IsZero() && !now.Before(cred.ExpiresAt)) {
				return unauthorized()
			}
			if !cred.ExpiresAt.IsZero() && cred.ExpiresAt.Before(t.ExpiresAt) {
				t.ExpiresAt = cred.ExpiresAt
			}
			t.UserID, t.ProjectID, t.AppCredID = cred.UserID, cred.ProjectID, cred.ID
		case "token":
			if ident.Token == nil || ident.Token.ID == "" {
				return core.BadRequest("Expecting to find id in token.")
			}
			old := s.Tokens[ident.Token.ID]
			if old == nil {
				return unauthorized()
			}
			if _, _, err := s.identity(old, now); err != nil {
				return unauthorized()
			}
			if old.AppCredID != "" {
				// Keystone refuses to rescope application credential tokens.
				return core.Forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.")
			}
			t.UserID, t.ExpiresAt = old.UserID, old.ExpiresAt
			t.Methods = old.Methods
			t.AuditIDs = append(t.AuditIDs, old.AuditIDs[0])
		default:
			return unauthorized()
		}
		if t.AppCredID == "" {
			switch {
			case sc.Project != nil:
				p := s.findProject(sc.Project)
				if p == nil {
					return unauthorized()
				}
				t.ProjectID = p.ID
			case sc.Domain != nil:
				d := s.findDomain(sc.Domain)
				if d == nil {
					return unauthorized()
				}
				t.DomainID = d.ID
			}
		}
		if _, _, err := s.identity(t, now); err != nil {
			// e.g. no role on the requested project
			return unauthorized()
		}
		for id, old := range s.Tokens {
			if !now.Before(old.ExpiresAt) {
				delete(s.Tokens, id)
			}
		}
		sub = "gAAAAA" + core.NewSecret(132)
		s.Tokens[sub] = t
		body = s.render(t, now, k.env, r.Host, !r.URL.Query().Has("nocatalog"))
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", sub)
	core.WriteJSON(w, http.StatusCreated, body)
	return nil
}

// render builds the token body as Keystone's render_token does.
func (s *state) render(t *Token, now time.Time, env *core.Env, host string, withCatalog bool) map[string]any {
	id, roles, err := s.identity(t, now)
	if err != nil {
		return nil
	}
	u := s.Users[t.UserID]
	tk := map[string]any{
		"methods": t.Methods,
		"user": map[string]any{
			"domain":              map[string]any{"id": u.DomainID, "name": s.Domains[u.DomainID].Name},
			"id":                  u.ID,
			"name":                u.Name,
			"password_expires_at": nil,
		},
		"audit_ids":  t.AuditIDs,
		"expires_at": core.FormatTime(t.ExpiresAt, core.TimeMicroZ),
		"issued_at":  core.FormatTime(t.IssuedAt, core.TimeMicroZ),
	}
	roleList := []map[string]any{}
	for _, r := range roles {
		roleList = append(roleList, map[string]any{"id": r.ID, "name": r.Name})
	}
	switch {
	case id.ProjectID != "":
		p := s.Projects[id.ProjectID]
		tk["project"] = map[string]any{"domain": map[string]any{"id": p.DomainID, "name": s.Domains[p.DomainID].Name}, "id": p.ID, "name": p.Name}
		tk["is_domain"] = false
		tk["roles"] = roleList
		tk["is_admin_project"] = p.Name == "admin"
	case id.DomainID != "":
		tk["domain"] = map[string]any{"id": id.DomainID, "name": s.Domains[id.DomainID].Name}
		tk["roles"] = roleList
	}
	if withCatalog && (id.ProjectID != "" || id.DomainID != "") {
		tk["catalog"] = catalog(env.Specs(), "http://"+host, id.ProjectID)
	}
	if id.AppCred != nil {
		ac := map[string]any{"id": id.AppCred.ID, "name": id.AppCred.Name, "restricted": !id.AppCred.Unrestricted}
		if len(id.AppCred.AccessRules) > 0 {
			ac["access_rules"] = id.AppCred.AccessRules
		}
		tk["application_credential"] = ac
	}
	return map[string]any{"token": tk}
}

func stableID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return hex.EncodeToString(sum[:16])
}

// catalog is the v3 catalog of every registered service.
func catalog(specs []core.Spec, base, projectID string) []map[string]any {
	out := []map[string]any{}
	for _, sp := range specs {
		if sp.Hidden {
			continue
		}
		url := core.EndpointURL(base, sp, projectID)
		var eps []map[string]any
		for _, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]any{"id": stableID(sp.Name, iface), "interface": iface,
				"region": Region, "region_id": Region, "url": url})
		}
		out = append(out, map[string]any{"endpoints": eps, "id": stableID(sp.Name), "type": sp.Type, "name": sp.Name})
	}
	return out
}

// subject finds the X-Subject-Token for GET/HEAD/DELETE /v3/auth/tokens:
// the caller may inspect its own tokens, an admin any.
func (k *Keystone) subject(r *http.Request, s *state) (string, *Token, error) {
	sub := r.Header.Get("X-Subject-Token")
	if sub == "" {
		return "", nil, core.BadRequest("Expecting to find X-Subject-Token in headers.")
	}
	caller := core.IdentityOf(r)
	t := s.Tokens[sub]
	now := k.env.Now()
	if t == nil {
		return "", nil, core.NotFound("Could not find token: %s.", sub)
	}
	if _, _, err := s.identity(t, now); err != nil {
		allowExpired := r.URL.Query().Get("allow_expired") == "1" || strings.EqualFold(r.URL.Query().Get("allow_expired"), "true")
		if !(allowExpired && !now.Before(t.ExpiresAt)) {
			return "", nil, core.NotFound("Could not find token: %s.", sub)
		}
	}
	if caller.UserID != t.UserID && !caller.IsAdmin() {
		return "", nil, forbidden()
	}
	return sub, t, nil
}

func forbidden() *core.APIError {
	return core.Forbidden("You are not authorized to perform the requested action.")
}

func (k *Keystone) validate(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	var sub string
	err := k.state.View(func(s *state) error {
		var t *Token
		var err error
		if sub, t, err = k.subject(r, s); err != nil {
			return err
		}
		now := k.env.Now()
		if now.After(t.ExpiresAt) {
			// allow_expired: render as if at issue time
			now = t.IssuedAt
		}
		body = s.render(t, now, k.env, r.Host, !r.URL.Query().Has("nocatalog"))
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", sub)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	core.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (k *Keystone) revoke(w http.ResponseWriter, r *http.Request) error {
	err := k.state.Update(func(s *state) error {
		sub, _, err := k.subject(r, s)
		if err != nil {
			return err
		}
		delete(s.Tokens, sub)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (k *Keystone) authCatalog(w http.ResponseWriter, r *http.Request) error {
	id := core.IdentityOf(r)
	if id.ProjectID == "" && id.DomainID == "" {
		return core.Forbidden("You are not authorized to perform the requested action: get_auth_catalog.")
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"catalog": catalog(k.env.Specs(), "http://"+r.Host, id.ProjectID),
		"links":   links(r, "/v3/auth/catalog"),
	})
	return nil
}

func (k *Keystone) authProjects(w http.ResponseWriter, r *http.Request) error {
	id := core.IdentityOf(r)
	var out []map[string]any
	_ = k.state.View(func(s *state) error {
		for _, p := range s.sortedProjects() {
			if p.Enabled && len(s.effectiveRoles(id.UserID, p.ID)) > 0 {
				out = append(out, projectBody(r, p))
			}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"projects": nonNil(out), "links": links(r, "/v3/auth/projects")})
	return nil
}

func (k *Keystone) authDomains(w http.ResponseWriter, r *http.Request) error {
	id := core.IdentityOf(r)
	out := []map[string]any{}
	_ = k.state.View(func(s *state) error {
		if s.isAdmin(id.UserID) {
			for _, d := range s.Domains {
				out = append(out, domainBody(r, d))
			}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"domains": out, "links": links(r, "/v3/auth/domains")})
	return nil
}

func (k *Keystone) authSystem(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"system": []any{}, "links": links(r, "/v3/auth/system")})
	return nil
}
