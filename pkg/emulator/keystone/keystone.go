package keystone

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Region is the emulator's only region.
const Region = "RegionOne"

// DefaultDomainID is the id (and "Default" the name) of the domain every
// user and project lives in unless told otherwise.
const DefaultDomainID = "default"

// Options configures Keystone.
type Options struct {
	// TokenTTL is how long a token lives (default 1 h, Keystone's default).
	TokenTTL time.Duration
}

// Keystone is the Identity service.
type Keystone struct {
	env   *core.Env
	ttl   time.Duration
	state *core.State[state]
}

// New returns Keystone with the start state: the Default domain; roles
// admin > member > reader; projects admin, demo, alt; users admin (admin
// on admin), demo (member on demo), alt (member on alt) with random
// passwords; and an application credential of demo ("emulator-appcred").
func New(env *core.Env, opts Options) *Keystone {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	k := &Keystone{env: env, ttl: opts.TokenTTL}
	k.state = core.NewState(env, seed(Clouds{}, Builtin{}))
	return k
}

type state struct {
	Domains     map[string]*Domain     `json:"domains"`
	Projects    map[string]*Project    `json:"projects"`
	Users       map[string]*User       `json:"users"`
	Roles       map[string]*Role       `json:"roles"`
	Implied     map[string][]string    `json:"implied_roles"` // prior role id -> implied role ids
	Assignments []Assignment           `json:"assignments"`
	AppCreds    map[string]*AppCred    `json:"application_credentials"`
	AccessRules map[string]*AccessRule `json:"access_rules"`
	Tokens      map[string]*Token      `json:"tokens"`
	// Clouds holds the built-in users' credentials, which clouds.yaml
	// carries; created once, kept across restarts with -state.
	Clouds Clouds `json:"clouds"`
	// Builtin holds the built-in identities' ids, kept by a reset.
	Builtin Builtin `json:"builtin"`
}

// Clouds are the credentials clouds.yaml is written from.
type Clouds struct {
	AdminPassword string `json:"admin_password"`
	DemoPassword  string `json:"demo_password"`
	AltPassword   string `json:"alt_password"`
	AppCredID     string `json:"appcred_id"`
	AppCredName   string `json:"appcred_name"`
	AppCredSecret string `json:"appcred_secret"`
}

type Domain struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
}

type Project struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    string         `json:"domain_id"`
	Description string         `json:"description"`
	Enabled     bool           `json:"enabled"`
	ParentID    string         `json:"parent_id"`
	Tags        []string       `json:"tags"`
	Extra       map[string]any `json:"extra,omitempty"`
	Options     map[string]any `json:"options,omitempty"`
}

type User struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	DomainID         string         `json:"domain_id"`
	Enabled          bool           `json:"enabled"`
	DefaultProjectID string         `json:"default_project_id,omitempty"`
	Email            string         `json:"email,omitempty"`
	Description      string         `json:"description,omitempty"`
	PasswordHash     string         `json:"password_hash"`
	Extra            map[string]any `json:"extra,omitempty"`
}

type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DomainID    string `json:"domain_id,omitempty"`
	Description string `json:"description,omitempty"`
}

// Assignment is a role of a user on a project.
type Assignment struct {
	UserID    string `json:"user_id"`
	ProjectID string `json:"project_id"`
	RoleID    string `json:"role_id"`
}

type AppCred struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	UserID       string    `json:"user_id"`
	ProjectID    string    `json:"project_id"`
	SecretHash   string    `json:"secret_hash"`
	RoleIDs      []string  `json:"role_ids"`
	Unrestricted bool      `json:"unrestricted"`
	ExpiresAt    time.Time `json:"expires_at,omitempty"`
	// AccessRuleIDs nil: no access rules (unrestricted by rules).
	AccessRuleIDs []string `json:"access_rule_ids"`
}

type AccessRule struct {
	ID      string `json:"id"`
	UserID  string `json:"user_id"`
	Service string `json:"service"`
	Method  string `json:"method"`
	Path    string `json:"path"`
}

// Token is an issued token; its identity is recomputed from the current
// state at every validation, so deleting a user, project, assignment or
// application credential revokes the tokens that depend on it.
type Token struct {
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id,omitempty"`
	DomainID  string    `json:"domain_id,omitempty"`
	AppCredID string    `json:"appcred_id,omitempty"`
	Methods   []string  `json:"methods"`
	AuditIDs  []string  `json:"audit_ids"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func hashSecret(secret string) string {
	salt := core.NewSecret(12)
	sum := sha256.Sum256([]byte(salt + secret))
	return salt + "$" + hex.EncodeToString(sum[:])
}

func checkSecret(hash, secret string) bool {
	for i := 0; i < len(hash); i++ {
		if hash[i] == '$' {
			sum := sha256.Sum256([]byte(hash[:i] + secret))
			return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(hash[i+1:])) == 1
		}
	}
	return false
}

// Builtin records the ids of the start state's roles, projects and users
// (by name), so a reset rebuilds them with the ids a -state file restored:
// tokens, clouds.yaml and the other services' start state (Neutron's
// private networks) keep naming them.
type Builtin struct {
	Roles    map[string]string `json:"roles"`
	Projects map[string]string `json:"projects"`
	Users    map[string]string `json:"users"`
}

var (
	builtinRoles    = []string{"admin", "member", "reader"}
	builtinProjects = []string{"admin", "demo", "alt"}
	builtinUsers    = []string{"admin", "demo", "alt"}
)

// builtin returns the built-in ids, found by name in the Default domain
// when the state was saved before they were recorded.
func (s *state) builtin() Builtin {
	b := Builtin{Roles: map[string]string{}, Projects: map[string]string{}, Users: map[string]string{}}
	for _, name := range builtinRoles {
		if id := s.Builtin.Roles[name]; id != "" {
			b.Roles[name] = id
			continue
		}
		for _, r := range s.Roles {
			if r.Name == name && r.DomainID == "" {
				b.Roles[name] = r.ID
			}
		}
	}
	for _, name := range builtinProjects {
		if id := s.Builtin.Projects[name]; id != "" {
			b.Projects[name] = id
			continue
		}
		for _, p := range s.Projects {
			if p.Name == name && p.DomainID == DefaultDomainID {
				b.Projects[name] = p.ID
			}
		}
	}
	for _, name := range builtinUsers {
		if id := s.Builtin.Users[name]; id != "" {
			b.Users[name] = id
			continue
		}
		for _, u := range s.Users {
			if u.Name == name && u.DomainID == DefaultDomainID {
				b.Users[name] = u.ID
			}
		}
	}
	return b
}

// seed builds the start state: the built-in credentials and ids given
// (a reset keeps them), new ones for those missing.
func seed(clouds Clouds, ids Builtin) state {
	s := state{
		Domains:     map[string]*Domain{DefaultDomainID: {ID: DefaultDomainID, Name: "Default", Description: "The default domain", Enabled: true}},
		Projects:    map[string]*Project{},
		Users:       map[string]*User{},
		Roles:       map[string]*Role{},
		Implied:     map[string][]string{},
		AppCreds:    map[string]*AppCred{},
		AccessRules: map[string]*AccessRule{},
		Tokens:      map[string]*Token{},
		Builtin:     Builtin{Roles: map[string]string{}, Projects: map[string]string{}, Users: map[string]string{}},
	}
	idFor := func(known map[string]string, name string) string {
		if id := known[name]; id != "" {
			return id
		}
		return core.NewHexID()
	}
	role := func(name string) string {
		r := &Role{ID: idFor(ids.Roles, name), Name: name}
		s.Roles[r.ID] = r
		s.Builtin.Roles[name] = r.ID
		return r.ID
	}
	admin, member, reader := role("admin"), role("member"), role("reader")
	s.Implied[admin] = []string{member}
	s.Implied[member] = []string{reader}
	project := func(name, desc string) string {
		p := &Project{ID: idFor(ids.Projects, name), Name: name, DomainID: DefaultDomainID, Description: desc, Enabled: true,
			ParentID: DefaultDomainID, Tags: []string{}}
		s.Projects[p.ID] = p
		s.Builtin.Projects[name] = p.ID
		return p.ID
	}
	user := func(name, password, project, role string) string {
		u := &User{ID: idFor(ids.Users, name), Name: name, DomainID: DefaultDomainID, Enabled: true,
			DefaultProjectID: project, PasswordHash: hashSecret(password)}
		s.Users[u.ID] = u
		s.Builtin.Users[name] = u.ID
		s.Assignments = append(s.Assignments, Assignment{UserID: u.ID, ProjectID: project, RoleID: role})
		return u.ID
	}
	if clouds.AdminPassword == "" || clouds.DemoPassword == "" || clouds.AltPassword == "" || clouds.AppCredSecret == "" {
		clouds = Clouds{AdminPassword: core.NewSecret(18), DemoPassword: core.NewSecret(18), AltPassword: core.NewSecret(18),
			AppCredName: "emulator-appcred", AppCredSecret: core.NewSecret(48)}
	}
	s.Clouds = clouds
	if s.Clouds.AppCredName == "" {
		s.Clouds.AppCredName = "emulator-appcred"
	}
	user("admin", s.Clouds.AdminPassword, project("admin", "Bootstrap project for initializing the cloud."), admin)
	demo := project("demo", "The demo project")
	demoUser := user("demo", s.Clouds.DemoPassword, demo, member)
	user("alt", s.Clouds.AltPassword, project("alt", "A second project, to prove isolation"), member)
	acID := s.Clouds.AppCredID
	if acID == "" {
		acID = core.NewHexID()
	}
	ac := &AppCred{ID: acID, Name: s.Clouds.AppCredName, Description: "created by the emulator at start",
		UserID: demoUser, ProjectID: demo, SecretHash: hashSecret(s.Clouds.AppCredSecret), RoleIDs: []string{member, reader}}
	s.AppCreds[ac.ID] = ac
	s.Clouds.AppCredID = ac.ID
	return s
}

// Clouds returns the built-in credentials for clouds.yaml.
func (k *Keystone) Clouds() Clouds {
	var c Clouds
	_ = k.state.View(func(s *state) error { c = s.Clouds; return nil })
	return c
}

// ProjectID returns the id of the project with that name in the Default
// domain ("" when there is none): the services' start state (Neutron's
// private networks) is built for the built-in projects.
func (k *Keystone) ProjectID(name string) string {
	var id string
	_ = k.state.View(func(s *state) error {
		for _, p := range s.Projects {
			if p.Name == name && p.DomainID == DefaultDomainID {
				id = p.ID
			}
		}
		return nil
	})
	return id
}

// Spec implements core.Service.
func (k *Keystone) Spec() core.Spec {
	return core.Spec{Name: "keystone", Type: "identity", Prefix: "", Endpoint: "/v3",
		Errors: core.KeystoneErrors, AuthErrors: keystoneUnauthorized, OwnPolicy: true}
}

// keystoneUnauthorized is Keystone's own 401, which has the same body and
// header as keystonemiddleware's.
func keystoneUnauthorized(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	core.KeystoneMiddleware401(w, r, e)
}

// State implements core.Service.
func (k *Keystone) State() core.Persistent { return k.state }

// Resources implements core.Service: projects, users and application
// credentials (tokens are not resources).
func (k *Keystone) Resources() []core.Resource {
	var out []core.Resource
	_ = k.state.View(func(s *state) error {
		for _, p := range s.Projects {
			out = append(out, core.Resource{Type: "project", ID: p.ID, Name: p.Name, ProjectID: p.ID})
		}
		for _, u := range s.Users {
			out = append(out, core.Resource{Type: "user", ID: u.ID, Name: u.Name, ProjectID: u.DefaultProjectID})
		}
		for _, a := range s.AppCreds {
			out = append(out, core.Resource{Type: "application_credential", ID: a.ID, Name: a.Name, ProjectID: a.ProjectID})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

// Reset puts Keystone back to its start state with the built-in
// identities of the current state: the same ids, passwords and
// application credential secret (what clouds.yaml carries, restored from
// -state after a restart), and the tokens issued so far, which stay valid
// for the built-in users. Everything else (projects, users, roles,
// credentials made since) is gone. initial (the state at construction,
// before any -state file was restored) is not used.
func (k *Keystone) Reset(initial json.RawMessage) error {
	return k.state.Update(func(s *state) error {
		fresh := seed(s.Clouds, s.builtin())
		fresh.Tokens = s.Tokens
		*s = fresh
		return nil
	})
}
