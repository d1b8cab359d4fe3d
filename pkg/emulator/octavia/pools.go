package octavia

import (
	"net/http"
	"net/netip"
	"regexp"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// --------------------------------------------------------------- pools

func (s *state) poolOperating(p *Pool, now time.Time) string {
	if p.Current(now) == "PENDING_CREATE" || !p.AdminStateUp || len(s.poolListeners(p.ID, now)) == 0 {
		return "OFFLINE"
	}
	return "ONLINE"
}

func (s *state) poolMembers(poolID string, now time.Time) []*Member {
	var out []*Member
	for _, m := range s.Members {
		if m.PoolID == poolID && !m.gone(now) {
			out = append(out, m)
		}
	}
	sortByCreation(out, func(m *Member) *common { return &m.common })
	return out
}

func spBody(sp *SessionPersistence) any {
	if sp == nil {
		return nil
	}
	return map[string]any{"type": sp.Type, "cookie_name": ptrOrNil(sp.CookieName),
		"persistence_timeout": ptrOrNil(sp.Timeout), "persistence_granularity": ptrOrNil(sp.Granularity)}
}

// poolBody is PoolResponse; full (inside a load balancer's create answer)
// is PoolFullResponse with whole members and health monitor.
func (s *state) poolBody(p *Pool, now time.Time, full bool) map[string]any {
	b := p.baseBody(now)
	b["description"] = p.Description
	b["operating_status"] = s.poolOperating(p, now)
	b["protocol"] = p.Protocol
	b["lb_algorithm"] = p.LBAlgorithm
	b["session_persistence"] = spBody(p.Persistence)
	var ls []string
	for _, l := range s.poolListeners(p.ID, now) {
		ls = append(ls, l.ID)
	}
	b["listeners"] = idList(ls)
	b["healthmonitor_id"] = nil
	h := s.poolHM(p.ID, now)
	if h != nil {
		b["healthmonitor_id"] = h.ID
	}
	var members []any
	for _, m := range s.poolMembers(p.ID, now) {
		if full {
			members = append(members, s.memberBody(m, now))
		} else {
			members = append(members, map[string]string{"id": m.ID})
		}
	}
	b["members"] = orEmpty(members)
	if full {
		if h != nil {
			b["healthmonitor"] = s.hmBody(h, now)
		} else {
			b["healthmonitor"] = nil
		}
	} else {
		b["loadbalancers"] = idList([]string{p.LBID})
	}
	b["tls_container_ref"] = ptrOrNil(p.TLSRef)
	b["ca_tls_container_ref"] = ptrOrNil(p.CARef)
	b["crl_container_ref"] = ptrOrNil(p.CRLRef)
	b["tls_enabled"] = p.TLSEnabled
	b["tls_ciphers"] = ptrOrNil(p.TLSCiphers)
	b["tls_versions"] = nilIfEmpty(p.TLSVersions)
	b["alpn_protocols"] = nilIfEmpty(p.ALPN)
	return b
}

var badCookie = regexp.MustCompile(`[\x00-\x20\x22\x28-\x29\x2c\x2f\x3a-\x40\x5b-\x5d\x7b\x7d\x7f]+`)

// checkPersistence is the session persistence part of pool validation
// (_validate_pool_request_for_udp_sctp, validate.check_session_persistence).
func checkPersistence(protocol string, sp body) error {
	if sp == nil {
		return nil
	}
	if protocol == "UDP" || protocol == "SCTP" {
		if sp.str("type") == "SOURCE_IP" && sp.str("cookie_name") != "" {
			return validation("session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: type, persistence_timeout, persistence_granularity.")
		}
		if sp.str("cookie_name") != "" {
			return validation("Cookie names are not supported for UDP/SCTP pools.")
		}
		if t := sp.str("type"); t == "HTTP_COOKIE" || t == "APP_COOKIE" {
			return validation("Session persistence of type %s is not supported for UDP/SCTP protocol pools.", t)
		}
	} else if sp.int("persistence_timeout", 0) != 0 || sp.str("persistence_granularity") != "" {
		return validation("persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.")
	}
	if c := sp.str("cookie_name"); c != "" {
		if sp.str("type") != "APP_COOKIE" {
			return validation(`Field "cookie_name" can only be specified with session persistence of type "APP_COOKIE".`)
		}
		if badCookie.MatchString(c) {
			return validation(`Supplied "cookie_name" is invalid.`)
		}
	}
	if sp.str("type") == "APP_COOKIE" && sp.str("cookie_name") == "" {
		return validation(`Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence type.`)
	}
	return nil
}

func toPersistence(sp body) *SessionPersistence {
	if sp == nil {
		return nil
	}
	out := &SessionPersistence{Type: sp.str("type"), CookieName: sp.strPtr("cookie_name"), Granularity: sp.strPtr("persistence_granularity")}
	if sp.has("persistence_timeout") && sp["persistence_timeout"] != nil {
		t := sp.int("persistence_timeout", 0)
		out.Timeout = &t
	}
	return out
}

// newPool validates a pool for lb and adds it (PENDING_CREATE).
func (o *Octavia) newPool(s *state, lb *LoadBalancer, b body, now time.Time) (*Pool, error) {
	if err := checkPersistence(b.str("protocol"), b.obj("session_persistence")); err != nil {
		return nil, err
	}
	if b.str("crl_container_ref") != "" && b.str("ca_tls_container_ref") == "" {
		return nil, validation("A CA certificate reference is required to specify a revocation list.")
	}
	if err := checkTLSVersions(b); err != nil {
		return nil, err
	}
	p := &Pool{common: common{ID: core.NewUUID(), ProjectID: lb.ProjectID, Name: b.str("name"),
		Description: b.str("description"), AdminStateUp: b.bool("admin_state_up", true), Tags: b.list("tags"), Created: now},
		LBID: lb.ID, Protocol: b.str("protocol"), LBAlgorithm: b.str("lb_algorithm"),
		Persistence: toPersistence(b.obj("session_persistence")), TLSEnabled: b.bool("tls_enabled", false),
		TLSRef: b.strPtr("tls_container_ref"), CARef: b.strPtr("ca_tls_container_ref"), CRLRef: b.strPtr("crl_container_ref"),
		TLSCiphers: b.strPtr("tls_ciphers"), TLSVersions: b.list("tls_versions"), ALPN: b.list("alpn_protocols")}
	if p.TLSEnabled {
		if p.TLSCiphers == nil {
			c := ciphersOWASPSuiteB
			p.TLSCiphers = &c
		}
		if p.TLSVersions == nil {
			p.TLSVersions = append([]string{}, defaultTLS...)
		}
		if p.ALPN == nil {
			p.ALPN = append([]string{}, defaultALPN...)
		}
	}
	o.begin(&p.common, "PENDING_CREATE")
	s.Pools[p.ID] = p
	return p, nil
}

func (o *Octavia) createPool(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, "pool_", "pool", poolPOST)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		var lb *LoadBalancer
		var listener *Listener
		switch {
		case b.str("loadbalancer_id") != "":
			if lb = s.lb(b.str("loadbalancer_id"), now); lb == nil {
				return notFound("Load Balancer", b.str("loadbalancer_id"))
			}
			if lid := b.str("listener_id"); lid != "" {
				if listener = s.listener(lid, now); listener == nil || listener.LBID != lb.ID {
					return notFound("Listener", lid)
				}
			}
		case b.str("listener_id") != "":
			if listener = s.listener(b.str("listener_id"), now); listener == nil {
				return notFound("Listener", b.str("listener_id"))
			}
			lb = s.LBs[listener.LBID]
		default:
			return validation("Must provide at least one of: loadbalancer_id, listener_id")
		}
		if err := authorize(r, lb.ProjectID); err != nil {
			return err
		}
		if listener != nil {
			if listener.Protocol == "PROMETHEUS" {
				return core.BadRequest("Protocol PROMETHEUS listeners cannot have child objects.")
			}
			if err := checkProtocols(listener.Protocol, b.str("protocol")); err != nil {
				return err
			}
		}
		if err := checkPersistence(b.str("protocol"), b.obj("session_persistence")); err != nil {
			return err
		}
		if err := s.checkQuota(lb.ProjectID, "pool", 1, now); err != nil {
			return err
		}
		if listener != nil && s.pool(listener.DefaultPoolID, now) != nil {
			return core.Conflict("This listener already has a default pool")
		}
		var lc *common
		if listener != nil {
			lc = &listener.common
		}
		if err := lbMutable(lb, now, lc); err != nil {
			return err
		}
		graph := b["members"] != nil || b["healthmonitor"] != nil
		target := s
		if graph {
			if err := s.checkGraphQuotas(lb.ProjectID, body{"pools": []body{b}}, now); err != nil {
				return err
			}
			scratch, err := s.clone()
			if err != nil {
				return err
			}
			target = scratch
		}
		p, err := o.newPool(target, target.LBs[lb.ID], b, now)
		if err != nil {
			return err
		}
		if graph {
			if err := o.poolChildren(target, p, b, now); err != nil {
				return err
			}
			*s = *target
		}
		if listener != nil {
			l := s.Listeners[listener.ID]
			l.DefaultPoolID = p.ID
			o.touch(&l.common)
		}
		o.touch(&s.LBs[lb.ID].common)
		answer = s.poolBody(s.Pools[p.ID], now, false)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"pool": answer})
	return nil
}

func (o *Octavia) showPool(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("pool_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		p := s.pool(id, now)
		if p == nil {
			return notFound("Pool", id)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"pool": showFields(r, s.poolBody(p, now, false))})
		return nil
	})
}

func (o *Octavia) listPools(w http.ResponseWriter, r *http.Request) error {
	project, err := listProject(r)
	if err != nil {
		return err
	}
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, p := range s.Pools {
			if s.pool(p.ID, now) == nil || (project != "" && p.ProjectID != project) {
				continue
			}
			items = append(items, listItem{body: s.poolBody(p, now, false), id: p.ID, created: p.Created,
				hidden: map[string]string{"loadbalancer_id": p.LBID, "load_balancer_id": p.LBID}})
		}
		return writeList(w, r, "pools", items, listItem{body: s.poolBody(&Pool{}, now, false), hidden: map[string]string{"loadbalancer_id": "", "load_balancer_id": ""}})
	})
}

func (o *Octavia) updatePool(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("pool_id")
	b, err := decodeBody(r, "pool_", "pool", poolPUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		p := s.pool(id, now)
		if p == nil {
			return notFound("Pool", id)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		if sp := b.obj("session_persistence"); sp != nil {
			if (p.Protocol == "UDP" || p.Protocol == "SCTP") || (sp.int("persistence_timeout", 0) == 0 && sp.str("persistence_granularity") == "") {
				if err := checkPersistence(p.Protocol, sp); err != nil {
					return err
				}
			} else {
				return validation("persistence_timeout and persistence_granularity is only for UDP protocol pools.")
			}
		}
		crl := p.CRLRef
		if b.has("crl_container_ref") {
			crl = b.strPtr("crl_container_ref")
		}
		ca := p.CARef
		if b.has("ca_tls_container_ref") {
			ca = b.strPtr("ca_tls_container_ref")
			if ca == nil && p.CARef != nil && crl != nil {
				return validation("A CA reference cannot be removed when a certificate revocation list is present.")
			}
		}
		if crl != nil && ca == nil {
			return validation("A CA reference is required to specify a certificate revocation list.")
		}
		if err := checkTLSVersions(b); err != nil {
			return err
		}
		lb := s.LBs[p.LBID]
		others := []*common{&p.common}
		for _, l := range s.poolListeners(p.ID, now) {
			others = append(others, &l.common)
		}
		if err := lbMutable(lb, now, others...); err != nil {
			return err
		}
		if b.has("name") {
			p.Name = b.str("name")
		}
		if b.has("description") {
			p.Description = b.str("description")
		}
		if b.has("admin_state_up") {
			p.AdminStateUp = b.bool("admin_state_up", true)
		}
		if b.has("lb_algorithm") && b.str("lb_algorithm") != "" {
			p.LBAlgorithm = b.str("lb_algorithm")
		}
		if b.has("session_persistence") {
			p.Persistence = toPersistence(b.obj("session_persistence"))
		}
		if b.has("tags") {
			p.Tags = b.list("tags")
		}
		if b.has("tls_container_ref") {
			p.TLSRef = b.strPtr("tls_container_ref")
		}
		p.CARef, p.CRLRef = ca, crl
		if b.has("tls_enabled") {
			p.TLSEnabled = b.bool("tls_enabled", false)
		}
		if b.has("tls_ciphers") {
			p.TLSCiphers = b.strPtr("tls_ciphers")
		}
		if b.has("tls_versions") {
			p.TLSVersions = b.list("tls_versions")
		}
		if b.has("alpn_protocols") {
			p.ALPN = b.list("alpn_protocols")
		}
		o.begin(&p.common, "PENDING_UPDATE")
		o.updated(&p.common)
		o.touch(&lb.common)
		for _, l := range s.poolListeners(p.ID, now) {
			o.touch(&l.common)
		}
		answer = s.poolBody(p, now, false)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"pool": answer})
	return nil
}

func (o *Octavia) deletePool(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("pool_id")
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		p := s.pool(id, now)
		if p == nil {
			return notFound("Pool", id)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		for _, pol := range s.L7Policies {
			if pol.RedirectPoolID != nil && *pol.RedirectPoolID == id && !pol.gone(now) {
				return core.Conflict("Pool %s is in use by L7 policy %s", id, pol.ID)
			}
		}
		lb := s.LBs[p.LBID]
		listeners := s.poolListeners(p.ID, now)
		others := []*common{&p.common}
		for _, l := range listeners {
			others = append(others, &l.common)
		}
		if err := lbMutable(lb, now, others...); err != nil {
			return err
		}
		o.begin(&p.common, "PENDING_DELETE")
		o.touch(&lb.common)
		for _, l := range listeners {
			o.touch(&l.common)
		}
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// -------------------------------------------------------------- members

func (s *state) memberOperating(m *Member, now time.Time) string {
	hm := s.poolHM(m.PoolID, now)
	switch {
	case hm == nil:
		return "NO_MONITOR"
	case m.Current(now) == "PENDING_CREATE" || !m.AdminStateUp:
		return "OFFLINE"
	}
	return "ONLINE"
}

func (s *state) memberBody(m *Member, now time.Time) map[string]any {
	b := m.baseBody(now)
	b["operating_status"] = s.memberOperating(m, now)
	b["address"] = m.Address
	b["protocol_port"] = m.ProtocolPort
	b["weight"] = m.Weight
	b["backup"] = m.Backup
	b["subnet_id"] = ptrOrNil(m.SubnetID)
	b["monitor_address"] = ptrOrNil(m.MonitorAddress)
	b["monitor_port"] = ptrOrNil(m.MonitorPort)
	return b
}

// reservedIP is validate.ip_not_reserved (reserved_ips: the metadata
// address).
func reservedIP(addr string) error {
	a, err := netip.ParseAddr(addr)
	if err == nil && a.Unmap().String() == "169.254.169.254" {
		return invalidOption("169.254.169.254", "member address")
	}
	return nil
}

// newMember validates a member of p and adds it (PENDING_CREATE).
func (o *Octavia) newMember(s *state, p *Pool, b body, now time.Time) (*Member, error) {
	addr := b.str("address")
	if err := reservedIP(addr); err != nil {
		return nil, err
	}
	port := b.int("protocol_port", 0)
	want, _ := netip.ParseAddr(addr)
	for _, m := range s.poolMembers(p.ID, now) {
		if got, err := netip.ParseAddr(m.Address); err == nil && got == want && m.ProtocolPort == port {
			return nil, core.Conflict("Another member on this pool is already using ip %s on protocol_port %d", addr, port)
		}
	}
	m := &Member{common: common{ID: core.NewUUID(), ProjectID: p.ProjectID, Name: b.str("name"),
		AdminStateUp: b.bool("admin_state_up", true), Tags: b.list("tags"), Created: now},
		PoolID: p.ID, Address: addr, ProtocolPort: port, Weight: b.int("weight", 1), Backup: b.bool("backup", false),
		SubnetID: b.strPtr("subnet_id"), MonitorAddress: b.strPtr("monitor_address")}
	if b.has("monitor_port") && b["monitor_port"] != nil {
		mp := b.int("monitor_port", 0)
		m.MonitorPort = &mp
	}
	o.begin(&m.common, "PENDING_CREATE")
	s.Members[m.ID] = m
	return m, nil
}

// subnetExists is validate.subnet_exists through Neutron (true without
// Neutron in the emulator).
func (o *Octavia) subnetExists(r *http.Request, id string) (bool, error) {
	if !o.hasService("network") {
		return true, nil
	}
	var sn neutronSubnet
	err := o.neutronGet(r, "subnet", "Subnet", id, &sn)
	if e, ok := core.AsAPIError(err); ok && e.Status == http.StatusBadRequest {
		return false, nil
	}
	return err == nil, err
}

// memberMutable is _test_lb_and_listener_and_pool_statuses.
func (s *state) memberMutable(p *Pool, now time.Time, m *Member) error {
	if p.Current(now) != "ACTIVE" {
		return immutable("Pool", p.ID)
	}
	others := []*common{}
	if m != nil {
		others = append(others, &m.common)
	}
	for _, l := range s.poolListeners(p.ID, now) {
		others = append(others, &l.common)
	}
	return lbMutable(s.LBs[p.LBID], now, others...)
}

// touchPool marks a pool, its listeners and load balancer PENDING_UPDATE.
func (o *Octavia) touchPool(s *state, p *Pool, now time.Time) {
	o.touch(&p.common, &s.LBs[p.LBID].common)
	for _, l := range s.poolListeners(p.ID, now) {
		o.touch(&l.common)
	}
}

func (o *Octavia) createMember(w http.ResponseWriter, r *http.Request) error {
	poolID := r.PathValue("pool_id")
	if err := o.poolVisible(r, poolID); err != nil {
		return err
	}
	b, err := decodeBody(r, "member_", "member", memberPOST)
	if err != nil {
		return err
	}
	if sid := b.str("subnet_id"); sid != "" {
		ok, err := o.subnetExists(r, sid)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("Subnet", sid)
		}
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		p := s.pool(poolID, now)
		if p == nil {
			return notFound("Pool", poolID)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		if err := reservedIP(b.str("address")); err != nil {
			return err
		}
		if err := s.checkQuota(p.ProjectID, "member", 1, now); err != nil {
			return err
		}
		if err := s.memberMutable(p, now, nil); err != nil {
			return err
		}
		m, err := o.newMember(s, p, b, now)
		if err != nil {
			return err
		}
		o.touchPool(s, p, now)
		answer = s.memberBody(m, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"member": answer})
	return nil
}

// poolVisible is the pool lookup of PoolsController._lookup before a
// members request: 404 for a missing pool.
func (o *Octavia) poolVisible(r *http.Request, poolID string) error {
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		if s.pool(poolID, now) == nil {
			return notFound("Pool", poolID)
		}
		return nil
	})
}

func (o *Octavia) showMember(w http.ResponseWriter, r *http.Request) error {
	poolID, id := r.PathValue("pool_id"), r.PathValue("member_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		if s.pool(poolID, now) == nil {
			return notFound("Pool", poolID)
		}
		m := s.member(id, now)
		if m == nil || m.PoolID != poolID {
			return notFound("Member", id)
		}
		if err := authorize(r, m.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"member": showFields(r, s.memberBody(m, now))})
		return nil
	})
}

func (o *Octavia) listMembers(w http.ResponseWriter, r *http.Request) error {
	poolID := r.PathValue("pool_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		p := s.pool(poolID, now)
		if p == nil {
			return notFound("Pool", poolID)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		var items []listItem
		for _, m := range s.poolMembers(poolID, now) {
			items = append(items, listItem{body: s.memberBody(m, now), id: m.ID, created: m.Created,
				hidden: map[string]string{"pool_id": m.PoolID}})
		}
		return writeList(w, r, "members", items, listItem{body: s.memberBody(&Member{}, now), hidden: map[string]string{"pool_id": ""}})
	})
}

func (o *Octavia) updateMember(w http.ResponseWriter, r *http.Request) error {
	poolID, id := r.PathValue("pool_id"), r.PathValue("member_id")
	if err := o.poolVisible(r, poolID); err != nil {
		return err
	}
	b, err := decodeBody(r, "member_", "member", memberPUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		m := s.member(id, now)
		if m == nil {
			return notFound("Member", id)
		}
		if err := authorize(r, m.ProjectID); err != nil {
			return err
		}
		if m.PoolID != poolID {
			return notFound("Member", id)
		}
		p := s.Pools[poolID]
		if err := s.memberMutable(p, now, m); err != nil {
			return err
		}
		applyMember(m, b)
		o.begin(&m.common, "PENDING_UPDATE")
		o.updated(&m.common)
		o.touchPool(s, p, now)
		answer = s.memberBody(m, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"member": answer})
	return nil
}

// applyMember sets a member's updatable attributes (null resets weight
// and backup to their defaults, as _set_default_on_none does).
func applyMember(m *Member, b body) {
	if b.has("name") {
		m.Name = b.str("name")
	}
	if b.has("admin_state_up") {
		m.AdminStateUp = b.bool("admin_state_up", true)
	}
	if b.has("weight") {
		m.Weight = b.int("weight", 1)
	}
	if b.has("backup") {
		m.Backup = b["backup"] == true
	}
	if b.has("monitor_address") {
		m.MonitorAddress = b.strPtr("monitor_address")
	}
	if b.has("monitor_port") {
		m.MonitorPort = nil
		if b["monitor_port"] != nil {
			mp := b.int("monitor_port", 0)
			m.MonitorPort = &mp
		}
	}
	if b.has("tags") {
		m.Tags = b.list("tags")
	}
}

func (o *Octavia) deleteMember(w http.ResponseWriter, r *http.Request) error {
	poolID, id := r.PathValue("pool_id"), r.PathValue("member_id")
	if err := o.poolVisible(r, poolID); err != nil {
		return err
	}
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		m := s.member(id, now)
		if m == nil {
			return notFound("Member", id)
		}
		if err := authorize(r, m.ProjectID); err != nil {
			return err
		}
		if m.PoolID != poolID {
			return notFound("Member", id)
		}
		p := s.Pools[poolID]
		if err := s.memberMutable(p, now, m); err != nil {
			return err
		}
		o.begin(&m.common, "PENDING_DELETE")
		o.touchPool(s, p, now)
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var membersPUT = newType(objList("members", memberPOST).required())

// batchMembers is MembersController.put: the pool's members become the
// given ones (by address and port): new ones created, existing ones
// updated, missing ones deleted unless additive_only. 202, no body.
func (o *Octavia) batchMembers(w http.ResponseWriter, r *http.Request) error {
	poolID := r.PathValue("pool_id")
	if err := o.poolVisible(r, poolID); err != nil {
		return err
	}
	additive := boolParam(r.URL.Query().Get("additive_only"))
	top, err := decodeTop(r, "members_", membersPUT)
	if err != nil {
		return err
	}
	members, ok := top["members"].([]body)
	if !ok {
		return wsmeInvalid("members", nil, "Mandatory field missing.")
	}
	// Subnets of new members exist (checked before taking the lock).
	checked := map[string]bool{}
	for _, m := range members {
		if sid := m.str("subnet_id"); sid != "" && !checked[sid] {
			ok, err := o.subnetExists(r, sid)
			if err != nil {
				return err
			}
			if !ok {
				return notFound("Subnet", sid)
			}
			checked[sid] = true
		}
	}
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		p := s.pool(poolID, now)
		if p == nil {
			return notFound("Pool", poolID)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		if err := s.memberMutable(p, now, nil); err != nil {
			return err
		}
		type key struct {
			addr string
			port int
		}
		norm := func(a string) string {
			if x, err := netip.ParseAddr(a); err == nil {
				return x.Unmap().String()
			}
			return a
		}
		old := map[key]*Member{}
		for _, m := range s.poolMembers(p.ID, now) {
			old[key{norm(m.Address), m.ProtocolPort}] = m
		}
		wanted := map[key]bool{}
		var created []body
		var updated []*Member
		var updates []body
		for _, m := range members {
			k := key{norm(m.str("address")), m.int("protocol_port", 0)}
			if wanted[k] {
				return core.Conflict("Another member on this pool is already using ip %s on protocol_port %d", m.str("address"), k.port)
			}
			wanted[k] = true
			if ex := old[k]; ex != nil {
				updated = append(updated, ex)
				updates = append(updates, m)
				continue
			}
			if err := reservedIP(m.str("address")); err != nil {
				return err
			}
			created = append(created, m)
		}
		var deleted []*Member
		for k, m := range old {
			if !wanted[k] {
				deleted = append(deleted, m)
			}
		}
		if len(created) == 0 && len(updated) == 0 && len(deleted) == 0 {
			return nil
		}
		diff := len(created)
		if !additive {
			diff -= len(deleted)
		}
		if diff > 0 {
			if err := s.checkQuota(p.ProjectID, "member", diff, now); err != nil {
				return err
			}
		}
		for _, m := range created {
			if _, err := o.newMember(s, p, m, now); err != nil {
				return err
			}
		}
		for i, m := range updated {
			applyMember(m, updates[i])
			o.begin(&m.common, "PENDING_UPDATE")
			o.updated(&m.common)
		}
		if !additive {
			for _, m := range deleted {
				o.begin(&m.common, "PENDING_DELETE")
			}
		}
		o.touchPool(s, p, now)
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
