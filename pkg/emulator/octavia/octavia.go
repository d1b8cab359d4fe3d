package octavia

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Octavia is the load-balancer service.
type Octavia struct {
	env   *core.Env
	state *core.State[state]
}

type state struct {
	LBs            map[string]*LoadBalancer  `json:"loadbalancers"`
	Listeners      map[string]*Listener      `json:"listeners"`
	Pools          map[string]*Pool          `json:"pools"`
	Members        map[string]*Member        `json:"members"`
	HMs            map[string]*HealthMonitor `json:"healthmonitors"`
	L7Policies     map[string]*L7Policy      `json:"l7policies"`
	L7Rules        map[string]*L7Rule        `json:"l7rules"`
	Flavors        map[string]*Flavor        `json:"flavors"`
	FlavorProfiles map[string]*FlavorProfile `json:"flavorprofiles"`
	Quotas         core.Quotas               `json:"quotas"`
}

// common is what every Octavia object has.
type common struct {
	ID           string     `json:"id"`
	ProjectID    string     `json:"project_id"`
	Name         string     `json:"name"`
	Description  string     `json:"description,omitempty"`
	AdminStateUp bool       `json:"admin_state_up"`
	Tags         []string   `json:"tags"`
	Created      time.Time  `json:"created_at"`
	Updated      *time.Time `json:"updated_at,omitempty"`
	// Lifecycle is the provisioning status: PENDING_* -> ACTIVE or DELETED.
	core.Lifecycle
}

// LoadBalancer is a load balancer and its VIP.
type LoadBalancer struct {
	common
	VIPAddress   string  `json:"vip_address"`
	VIPPortID    string  `json:"vip_port_id"`
	VIPSubnetID  string  `json:"vip_subnet_id"`
	VIPNetworkID string  `json:"vip_network_id"`
	VIPQoS       *string `json:"vip_qos_policy_id,omitempty"`
	// VIPOwned: Octavia made the port (and deletes it with the LB).
	VIPOwned bool    `json:"vip_owned"`
	Provider string  `json:"provider"`
	FlavorID *string `json:"flavor_id,omitempty"`
	AZ       *string `json:"availability_zone,omitempty"`
}

// Listener is a protocol port of a load balancer.
type Listener struct {
	common
	LBID                 string            `json:"loadbalancer_id"`
	Protocol             string            `json:"protocol"`
	ProtocolPort         int               `json:"protocol_port"`
	ConnectionLimit      int               `json:"connection_limit"`
	DefaultPoolID        string            `json:"default_pool_id,omitempty"`
	DefaultTLSRef        *string           `json:"default_tls_container_ref,omitempty"`
	SNIRefs              []string          `json:"sni_container_refs"`
	InsertHeaders        map[string]string `json:"insert_headers"`
	TimeoutClientData    int               `json:"timeout_client_data"`
	TimeoutMemberConnect int               `json:"timeout_member_connect"`
	TimeoutMemberData    int               `json:"timeout_member_data"`
	TimeoutTCPInspect    int               `json:"timeout_tcp_inspect"`
	ClientCARef          *string           `json:"client_ca_tls_container_ref,omitempty"`
	ClientAuth           string            `json:"client_authentication"`
	ClientCRLRef         *string           `json:"client_crl_container_ref,omitempty"`
	AllowedCIDRs         []string          `json:"allowed_cidrs,omitempty"`
	TLSCiphers           *string           `json:"tls_ciphers,omitempty"`
	TLSVersions          []string          `json:"tls_versions,omitempty"`
	ALPN                 []string          `json:"alpn_protocols,omitempty"`
}

// SessionPersistence is a pool's stickiness.
type SessionPersistence struct {
	Type        string  `json:"type"`
	CookieName  *string `json:"cookie_name"`
	Timeout     *int    `json:"persistence_timeout"`
	Granularity *string `json:"persistence_granularity"`
}

// Pool is a group of members.
type Pool struct {
	common
	LBID        string              `json:"loadbalancer_id"`
	Protocol    string              `json:"protocol"`
	LBAlgorithm string              `json:"lb_algorithm"`
	Persistence *SessionPersistence `json:"session_persistence,omitempty"`
	TLSEnabled  bool                `json:"tls_enabled"`
	TLSRef      *string             `json:"tls_container_ref,omitempty"`
	CARef       *string             `json:"ca_tls_container_ref,omitempty"`
	CRLRef      *string             `json:"crl_container_ref,omitempty"`
	TLSCiphers  *string             `json:"tls_ciphers,omitempty"`
	TLSVersions []string            `json:"tls_versions,omitempty"`
	ALPN        []string            `json:"alpn_protocols,omitempty"`
}

// Member is a back-end server of a pool.
type Member struct {
	common
	PoolID         string  `json:"pool_id"`
	Address        string  `json:"address"`
	ProtocolPort   int     `json:"protocol_port"`
	Weight         int     `json:"weight"`
	Backup         bool    `json:"backup"`
	SubnetID       *string `json:"subnet_id,omitempty"`
	MonitorAddress *string `json:"monitor_address,omitempty"`
	MonitorPort    *int    `json:"monitor_port,omitempty"`
}

// HealthMonitor checks a pool's members.
type HealthMonitor struct {
	common
	PoolID         string   `json:"pool_id"`
	Type           string   `json:"type"`
	Delay          int      `json:"delay"`
	Timeout        int      `json:"timeout"`
	MaxRetries     int      `json:"max_retries"`
	MaxRetriesDown int      `json:"max_retries_down"`
	HTTPMethod     *string  `json:"http_method,omitempty"`
	URLPath        *string  `json:"url_path,omitempty"`
	ExpectedCodes  *string  `json:"expected_codes,omitempty"`
	HTTPVersion    *float64 `json:"http_version,omitempty"`
	DomainName     *string  `json:"domain_name,omitempty"`
}

// L7Policy routes a listener's requests.
type L7Policy struct {
	common
	ListenerID       string  `json:"listener_id"`
	Action           string  `json:"action"`
	Position         int     `json:"position"`
	RedirectPoolID   *string `json:"redirect_pool_id,omitempty"`
	RedirectURL      *string `json:"redirect_url,omitempty"`
	RedirectPrefix   *string `json:"redirect_prefix,omitempty"`
	RedirectHTTPCode *int    `json:"redirect_http_code,omitempty"`
}

// L7Rule is one condition of an L7 policy.
type L7Rule struct {
	common
	PolicyID    string  `json:"l7policy_id"`
	Type        string  `json:"type"`
	CompareType string  `json:"compare_type"`
	Key         *string `json:"key,omitempty"`
	Value       string  `json:"value"`
	Invert      bool    `json:"invert"`
}

// Flavor is a load-balancer flavor (admin-made).
type Flavor struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	ProfileID   string `json:"flavor_profile_id"`
	Enabled     bool   `json:"enabled"`
}

// FlavorProfile is a provider's flavor metadata.
type FlavorProfile struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Provider string `json:"provider_name"`
	Data     string `json:"flavor_data"`
}

// Octavia's defaults (octavia/common/constants.py, config.py).
const (
	defaultProvider = "amphora"
	maxPageLimit    = 1000
	timeLayout      = "2006-01-02T15:04:05"
)

// providers are the enabled provider drivers (devstack's default).
var providers = []struct{ Name, Description string }{
	{"amphora", "The Octavia Amphora driver."},
	{"octavia", "Deprecated alias of the Octavia Amphora driver."},
}

// quotaKeys are the quota resources in the order Octavia answers them.
var quotaKeys = []string{"load_balancer", "listener", "member", "pool", "health_monitor", "l7policy", "l7rule"}

// New returns Octavia with no load balancers and unlimited quotas.
func New(env *core.Env) *Octavia {
	defaults := map[string]int{}
	for _, k := range quotaKeys {
		defaults[k] = -1
	}
	return &Octavia{env: env, state: core.NewState(env, state{
		LBs: map[string]*LoadBalancer{}, Listeners: map[string]*Listener{}, Pools: map[string]*Pool{},
		Members: map[string]*Member{}, HMs: map[string]*HealthMonitor{}, L7Policies: map[string]*L7Policy{},
		L7Rules: map[string]*L7Rule{}, Flavors: map[string]*Flavor{}, FlavorProfiles: map[string]*FlavorProfile{},
		Quotas: core.NewQuotas(defaults),
	})}
}

// Spec implements core.Service: the catalog has the unversioned root, as
// devstack registers it; clients find /v2 by discovery (the SDK) or append
// /v2.0 (octaviaclient).
func (o *Octavia) Spec() core.Spec {
	return core.Spec{Name: "octavia", Type: "load-balancer", Prefix: "/load-balancer", Errors: Errors}
}

// State implements core.Service.
func (o *Octavia) State() core.Persistent { return o.state }

// Resources implements core.Service.
func (o *Octavia) Resources() []core.Resource {
	var out []core.Resource
	now := o.env.Now()
	_ = o.state.View(func(s *state) error {
		add := func(typ string, c *common) {
			if st := c.Current(now); st != "DELETED" {
				out = append(out, core.Resource{Type: typ, ID: c.ID, Name: c.Name, ProjectID: c.ProjectID, Status: st})
			}
		}
		for _, x := range s.LBs {
			add("loadbalancer", &x.common)
		}
		for _, x := range s.Listeners {
			add("listener", &x.common)
		}
		for _, x := range s.Pools {
			add("pool", &x.common)
		}
		for _, x := range s.Members {
			add("member", &x.common)
		}
		for _, x := range s.HMs {
			add("healthmonitor", &x.common)
		}
		for _, x := range s.L7Policies {
			add("l7policy", &x.common)
		}
		for _, x := range s.L7Rules {
			add("l7rule", &x.common)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

// Errors renders Octavia's (WSME's) shape: {"faultcode": "Client",
// "faultstring": "...", "debuginfo": null}; "Server" for 5xx. A policy
// refusal is Octavia's PolicyForbidden message.
func Errors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	msg := e.Message
	if e.Status == http.StatusForbidden && strings.HasPrefix(msg, "Policy doesn't allow") {
		msg = "Policy does not allow this request to be performed."
	}
	code := "Client"
	if e.Status >= 500 {
		code = "Server"
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	core.WriteJSON(w, e.Status, map[string]any{"faultcode": code, "faultstring": msg, "debuginfo": nil})
}

// Octavia's exceptions (octavia/common/exceptions.py).
func notFound(resource, id string) *core.APIError {
	return core.NotFound("%s %s not found.", resource, id)
}
func validation(format string, args ...any) *core.APIError {
	return core.BadRequest("Validation failure: "+format, args...)
}
func immutable(resource, id string) *core.APIError {
	return core.Conflict("%s %s is immutable and cannot be updated.", resource, id)
}
func pendingState(state, id string) *core.APIError {
	return core.Conflict("Invalid state %s of loadbalancer resource %s", state, id)
}
func invalidOption(value, option string) *core.APIError {
	return core.BadRequest("%s is not a valid option for %s", value, option)
}
func quotaMet(resource string) *core.APIError {
	return core.Forbidden("Quota has been met for resources: %s", resource)
}
func policyForbidden() *core.APIError {
	return core.Forbidden("Policy does not allow this request to be performed.")
}

// authorize is _auth_validate_action: the caller must own the object's
// project or be an admin (403 otherwise: Octavia checks the policy after
// finding the object, so another project's object is a 403, not a 404).
func authorize(r *http.Request, projectID string) error {
	if core.IdentityOf(r).CanSee(projectID) {
		return nil
	}
	return policyForbidden()
}

// ----------------------------------------------------------------- status

func (c *common) status(now time.Time) string { return c.Current(now) }
func (c *common) gone(now time.Time) bool     { return c.Current(now) == "DELETED" }

// pending reports whether the object is in a PENDING_* provisioning state.
func (c *common) pending(now time.Time) bool {
	return strings.HasPrefix(c.Current(now), "PENDING_")
}

// begin starts a provisioning transition to ACTIVE (or DELETED).
func (o *Octavia) begin(c *common, pending string) {
	final := "ACTIVE"
	if pending == "PENDING_DELETE" {
		final = "DELETED"
	}
	c.Lifecycle = core.Begin(o.env, pending, final)
}

// touch marks objects whose children changed: PENDING_UPDATE for -delay.
func (o *Octavia) touch(cs ...*common) {
	now := o.env.Now()
	for _, c := range cs {
		if c == nil || c.gone(now) {
			continue
		}
		if c.Current(now) == "PENDING_CREATE" || c.Current(now) == "PENDING_DELETE" {
			continue
		}
		o.begin(c, "PENDING_UPDATE")
	}
}

func (o *Octavia) updated(c *common) {
	t := o.env.Now()
	c.Updated = &t
}

// purge drops what finished being deleted and what lost its parent.
func (s *state) purge(now time.Time) {
	for id, lb := range s.LBs {
		if lb.gone(now) {
			delete(s.LBs, id)
		}
	}
	for id, l := range s.Listeners {
		if l.gone(now) || s.LBs[l.LBID] == nil {
			delete(s.Listeners, id)
		}
	}
	for id, p := range s.Pools {
		if p.gone(now) || s.LBs[p.LBID] == nil {
			delete(s.Pools, id)
		}
	}
	for _, l := range s.Listeners {
		if l.DefaultPoolID != "" && s.Pools[l.DefaultPoolID] == nil {
			l.DefaultPoolID = ""
		}
	}
	for id, m := range s.Members {
		if m.gone(now) || s.Pools[m.PoolID] == nil {
			delete(s.Members, id)
		}
	}
	for id, h := range s.HMs {
		if h.gone(now) || s.Pools[h.PoolID] == nil {
			delete(s.HMs, id)
		}
	}
	for id, p := range s.L7Policies {
		if p.gone(now) || s.Listeners[p.ListenerID] == nil {
			delete(s.L7Policies, id)
		}
	}
	for _, p := range s.L7Policies {
		if p.RedirectPoolID != nil && s.Pools[*p.RedirectPoolID] == nil {
			p.RedirectPoolID = nil
		}
	}
	for id, r := range s.L7Rules {
		if r.gone(now) || s.L7Policies[r.PolicyID] == nil {
			delete(s.L7Rules, id)
		}
	}
}

// live lookups: nil when absent or deleted.
func (s *state) lb(id string, now time.Time) *LoadBalancer {
	if x := s.LBs[id]; x != nil && !x.gone(now) {
		return x
	}
	return nil
}
func (s *state) listener(id string, now time.Time) *Listener {
	if x := s.Listeners[id]; x != nil && !x.gone(now) && s.lb(x.LBID, now) != nil {
		return x
	}
	return nil
}
func (s *state) pool(id string, now time.Time) *Pool {
	if x := s.Pools[id]; x != nil && !x.gone(now) && s.lb(x.LBID, now) != nil {
		return x
	}
	return nil
}
func (s *state) member(id string, now time.Time) *Member {
	if x := s.Members[id]; x != nil && !x.gone(now) && s.pool(x.PoolID, now) != nil {
		return x
	}
	return nil
}
func (s *state) hm(id string, now time.Time) *HealthMonitor {
	if x := s.HMs[id]; x != nil && !x.gone(now) && s.pool(x.PoolID, now) != nil {
		return x
	}
	return nil
}
func (s *state) l7policy(id string, now time.Time) *L7Policy {
	if x := s.L7Policies[id]; x != nil && !x.gone(now) && s.listener(x.ListenerID, now) != nil {
		return x
	}
	return nil
}
func (s *state) l7rule(id string, now time.Time) *L7Rule {
	if x := s.L7Rules[id]; x != nil && !x.gone(now) && s.l7policy(x.PolicyID, now) != nil {
		return x
	}
	return nil
}

// poolHM returns a pool's health monitor, nil when it has none.
func (s *state) poolHM(poolID string, now time.Time) *HealthMonitor {
	for _, h := range s.HMs {
		if h.PoolID == poolID && !h.gone(now) {
			return h
		}
	}
	return nil
}

// poolListeners returns the listeners using a pool (as default pool or
// through an L7 policy redirect).
func (s *state) poolListeners(poolID string, now time.Time) []*Listener {
	seen := map[string]bool{}
	var out []*Listener
	for _, l := range s.Listeners {
		if l.DefaultPoolID == poolID && !l.gone(now) && !seen[l.ID] {
			seen[l.ID] = true
			out = append(out, l)
		}
	}
	for _, p := range s.L7Policies {
		if p.RedirectPoolID != nil && *p.RedirectPoolID == poolID && !p.gone(now) {
			if l := s.listener(p.ListenerID, now); l != nil && !seen[l.ID] {
				seen[l.ID] = true
				out = append(out, l)
			}
		}
	}
	sortByCreation(out, func(l *Listener) *common { return &l.common })
	return out
}

// count returns the project's live objects of a quota resource.
func (s *state) count(project, resource string, now time.Time) int {
	n := 0
	switch resource {
	case "load_balancer":
		for _, x := range s.LBs {
			if x.ProjectID == project && !x.gone(now) {
				n++
			}
		}
	case "listener":
		for _, x := range s.Listeners {
			if x.ProjectID == project && !x.gone(now) {
				n++
			}
		}
	case "pool":
		for _, x := range s.Pools {
			if x.ProjectID == project && !x.gone(now) {
				n++
			}
		}
	case "member":
		for _, x := range s.Members {
			if x.ProjectID == project && !x.gone(now) {
				n++
			}
		}
	case "health_monitor":
		for _, x := range s.HMs {
			if x.ProjectID == project && !x.gone(now) {
				n++
			}
		}
	case "l7policy":
		for _, x := range s.L7Policies {
			if x.ProjectID == project && !x.gone(now) {
				n++
			}
		}
	case "l7rule":
		for _, x := range s.L7Rules {
			if x.ProjectID == project && !x.gone(now) {
				n++
			}
		}
	}
	return n
}

// quotaNames are the data models' _name() Octavia puts in its quota error.
var quotaNames = map[string]string{
	"load_balancer": "Load Balancer", "listener": "Listener", "pool": "Pool", "member": "Member",
	"health_monitor": "Health Monitor", "l7policy": "L7 Policy", "l7rule": "L7 Rule",
}

// checkQuota is repositories.check_quota_met: 403 when count more would
// go past the project's limit.
func (s *state) checkQuota(project, resource string, count int, now time.Time) error {
	if !s.Quotas.Allows(project, resource, s.count(project, resource, now), count) {
		return quotaMet(quotaNames[resource])
	}
	return nil
}

func sortByCreation[T any](items []T, c func(T) *common) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := c(items[i]), c(items[j])
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
}

func formatTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return core.FormatTime(*t, timeLayout)
}

func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func strsOrEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func idList(ids []string) []map[string]string {
	out := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, map[string]string{"id": id})
	}
	return out
}

// baseBody is what every object's answer has.
func (c *common) baseBody(now time.Time) map[string]any {
	return map[string]any{
		"id": c.ID, "name": c.Name, "project_id": c.ProjectID, "tenant_id": c.ProjectID,
		"provisioning_status": c.status(now), "admin_state_up": c.AdminStateUp,
		"created_at": core.FormatTime(c.Created, timeLayout), "updated_at": formatTime(c.Updated),
		"tags": strsOrEmpty(c.Tags),
	}
}
