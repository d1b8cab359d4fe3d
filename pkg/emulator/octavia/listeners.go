package octavia

import (
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (s *state) listenerOperating(l *Listener, now time.Time) string {
	lb := s.LBs[l.LBID]
	if l.Current(now) == "PENDING_CREATE" || !l.AdminStateUp || lb == nil || !lb.AdminStateUp {
		return "OFFLINE"
	}
	return "ONLINE"
}

// listenerPools are the pools a listener uses: its default pool and its
// L7 policies' redirect pools.
func (s *state) listenerPools(l *Listener, now time.Time) []*Pool {
	seen := map[string]bool{}
	var out []*Pool
	if p := s.pool(l.DefaultPoolID, now); p != nil {
		seen[p.ID] = true
		out = append(out, p)
	}
	for _, pol := range s.listenerPolicies(l.ID, now) {
		if pol.RedirectPoolID != nil {
			if p := s.pool(*pol.RedirectPoolID, now); p != nil && !seen[p.ID] {
				seen[p.ID] = true
				out = append(out, p)
			}
		}
	}
	return out
}

func (s *state) listenerPolicies(listenerID string, now time.Time) []*L7Policy {
	var out []*L7Policy
	for _, p := range s.L7Policies {
		if p.ListenerID == listenerID && !p.gone(now) {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	return out
}

func (s *state) listenerBody(l *Listener, now time.Time) map[string]any {
	b := l.baseBody(now)
	b["description"] = l.Description
	b["operating_status"] = s.listenerOperating(l, now)
	b["protocol"] = l.Protocol
	b["protocol_port"] = l.ProtocolPort
	b["connection_limit"] = l.ConnectionLimit
	b["default_tls_container_ref"] = ptrOrNil(l.DefaultTLSRef)
	b["sni_container_refs"] = strsOrEmpty(l.SNIRefs)
	if l.DefaultPoolID != "" {
		b["default_pool_id"] = l.DefaultPoolID
	} else {
		b["default_pool_id"] = nil
	}
	var pols []string
	for _, p := range s.listenerPolicies(l.ID, now) {
		pols = append(pols, p.ID)
	}
	b["l7policies"] = idList(pols)
	if l.InsertHeaders == nil {
		b["insert_headers"] = map[string]string{}
	} else {
		b["insert_headers"] = l.InsertHeaders
	}
	b["loadbalancers"] = idList([]string{l.LBID})
	b["timeout_client_data"] = l.TimeoutClientData
	b["timeout_member_connect"] = l.TimeoutMemberConnect
	b["timeout_member_data"] = l.TimeoutMemberData
	b["timeout_tcp_inspect"] = l.TimeoutTCPInspect
	b["client_ca_tls_container_ref"] = ptrOrNil(l.ClientCARef)
	b["client_authentication"] = l.ClientAuth
	b["client_crl_container_ref"] = ptrOrNil(l.ClientCRLRef)
	if len(l.AllowedCIDRs) > 0 {
		b["allowed_cidrs"] = l.AllowedCIDRs
	} else {
		b["allowed_cidrs"] = nil
	}
	b["tls_ciphers"] = ptrOrNil(l.TLSCiphers)
	b["tls_versions"] = nilIfEmpty(l.TLSVersions)
	b["alpn_protocols"] = nilIfEmpty(l.ALPN)
	return b
}

func nilIfEmpty(l []string) any {
	if l == nil {
		return nil
	}
	return l
}

func (s *state) listenerItem(l *Listener, now time.Time) listItem {
	return listItem{body: s.listenerBody(l, now), id: l.ID, created: l.Created,
		hidden: map[string]string{"loadbalancer_id": l.LBID, "load_balancer_id": l.LBID}}
}

// lbMutable is _test_lb_and_listener_statuses: 409 while the load
// balancer (or one of the objects about to change) is PENDING_*.
func lbMutable(lb *LoadBalancer, now time.Time, others ...*common) error {
	if lb.pending(now) {
		return immutable("Load Balancer", lb.ID)
	}
	for _, c := range others {
		if c != nil && c.pending(now) {
			return immutable("Load Balancer", lb.ID)
		}
	}
	return nil
}

func isIPv6(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && a.Is6() && !a.Is4In6()
}

// checkListenerTLS is the part of _validate_create_listener about TLS,
// insert headers and client authentication.
func checkListenerTLS(protocol string, b body, creating bool) error {
	hasRefs := b.str("default_tls_container_ref") != "" || b.str("client_ca_tls_container_ref") != "" || len(b.list("sni_container_refs")) > 0
	tlsOffload := protocol == "TERMINATED_HTTPS" || (protocol == "PROMETHEUS" && hasRefs)
	headers, _ := b["insert_headers"].(map[string]string)
	if len(headers) > 0 {
		if protocol != "HTTP" && protocol != "TERMINATED_HTTPS" {
			return invalidOption("insert-headers", "a "+protocol+" protocol listener.")
		}
		var names, ssl []string
		for k := range headers {
			names = append(names, k)
			if contains(sslHeaders, k) {
				ssl = append(ssl, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			if !contains(supportedHeaders, k) {
				return invalidOption(pyStr(toAny(names)), "insert_headers")
			}
		}
		if protocol != "TERMINATED_HTTPS" && len(ssl) > 0 {
			sort.Strings(ssl)
			return invalidOption(pyStr(toAny(ssl)), protocol+" protocol listener.")
		}
	}
	if (protocol == "UDP" || protocol == "SCTP") && (hasRefs || len(headers) > 0) {
		if creating {
			return validation("%s protocol listener does not support TLS.", protocol)
		}
		return validation("%s protocol listener does not support TLS or header insertion.", protocol)
	}
	if !tlsOffload && hasRefs {
		return validation("Certificate container references are not allowed on %s protocol listeners.", protocol)
	}
	if creating {
		if b.str("client_ca_tls_container_ref") != "" && b.str("default_tls_container_ref") == "" && len(b.list("sni_container_refs")) == 0 {
			return validation("An SNI or default certificate container reference must be provided with a client CA container reference.")
		}
		if tlsOffload && b.str("default_tls_container_ref") == "" && len(b.list("sni_container_refs")) == 0 {
			return validation("An SNI or default certificate container reference must be provided for %s protocol listeners.", protocol)
		}
		if ca := b.str("client_authentication"); ca != "" && ca != "NONE" && b.str("client_ca_tls_container_ref") == "" {
			return validation("Client authentication setting %s requires a client CA container reference.", ca)
		}
		if b.str("client_crl_container_ref") != "" && b.str("client_ca_tls_container_ref") == "" {
			return validation("A client authentication CA reference is required to specify a client authentication revocation list.")
		}
	}
	if tlsOffload || !creating {
		if err := checkTLSVersions(b); err != nil {
			return err
		}
	}
	return nil
}

func checkTLSVersions(b body) error {
	if v, ok := b["tls_versions"].([]string); ok {
		var bad []string
		for _, x := range v {
			if !contains(tlsVersions, x) {
				bad = append(bad, x)
			}
		}
		if len(bad) > 0 {
			return validation("Invalid TLS versions: %s", strings.Join(bad, ", "))
		}
	}
	return nil
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// newListener validates a listener for lb and adds it (PENDING_CREATE).
func (o *Octavia) newListener(s *state, lb *LoadBalancer, b body, now time.Time) (*Listener, error) {
	protocol := b.str("protocol")
	port := b.int("protocol_port", 0)
	if pid := b.str("default_pool_id"); pid != "" {
		if protocol == "PROMETHEUS" {
			return nil, core.BadRequest("Protocol PROMETHEUS listeners cannot have child objects.")
		}
		p := s.pool(pid, now)
		if p == nil || p.LBID != lb.ID {
			return nil, notFound("Pool", pid)
		}
		if err := checkProtocols(protocol, p.Protocol); err != nil {
			return nil, err
		}
	}
	if err := checkListenerTLS(protocol, b, true); err != nil {
		return nil, err
	}
	for _, l := range s.lbListeners(lb.ID, now) {
		if l.ProtocolPort == port && l4Protocol[l.Protocol] == l4Protocol[protocol] {
			return nil, core.Conflict("Another Listener on this Load Balancer is already using protocol %s and protocol_port %d", l.Protocol, port)
		}
	}
	cidrs := b.list("allowed_cidrs")
	for _, c := range cidrs {
		if strings.Contains(c, ":") != isIPv6(lb.VIPAddress) {
			return nil, validation("CIDR %s IP version incompatible with VIP %s IP version.", c, lb.VIPAddress)
		}
	}
	l := &Listener{common: common{ID: core.NewUUID(), ProjectID: lb.ProjectID, Name: b.str("name"),
		Description: b.str("description"), AdminStateUp: b.bool("admin_state_up", true), Tags: b.list("tags"), Created: now},
		LBID: lb.ID, Protocol: protocol, ProtocolPort: port, ConnectionLimit: b.int("connection_limit", -1),
		DefaultPoolID: b.str("default_pool_id"), DefaultTLSRef: b.strPtr("default_tls_container_ref"),
		SNIRefs: b.list("sni_container_refs"), TimeoutClientData: b.int("timeout_client_data", 50000),
		TimeoutMemberConnect: b.int("timeout_member_connect", 5000), TimeoutMemberData: b.int("timeout_member_data", 50000),
		TimeoutTCPInspect: b.int("timeout_tcp_inspect", 0), ClientCARef: b.strPtr("client_ca_tls_container_ref"),
		ClientAuth: b.str("client_authentication"), ClientCRLRef: b.strPtr("client_crl_container_ref"), AllowedCIDRs: cidrs}
	if h, ok := b["insert_headers"].(map[string]string); ok {
		l.InsertHeaders = h
	}
	if l.ClientAuth == "" {
		l.ClientAuth = "NONE"
	}
	if protocol == "TERMINATED_HTTPS" {
		l.TLSCiphers = b.strPtr("tls_ciphers")
		if l.TLSCiphers == nil {
			c := ciphersOWASPSuiteB
			l.TLSCiphers = &c
		}
		l.TLSVersions, l.ALPN = b.list("tls_versions"), b.list("alpn_protocols")
		if l.TLSVersions == nil {
			l.TLSVersions = append([]string{}, defaultTLS...)
		}
		if l.ALPN == nil {
			l.ALPN = append([]string{}, defaultALPN...)
		}
	}
	o.begin(&l.common, "PENDING_CREATE")
	s.Listeners[l.ID] = l
	return l, nil
}

// checkProtocols is BaseController._validate_protocol.
func checkProtocols(listenerProtocol, poolProtocol string) error {
	if contains(validListenerPool[listenerProtocol], poolProtocol) {
		return nil
	}
	return validation("The pool protocol '%s' is invalid while the listener protocol is '%s'.", poolProtocol, listenerProtocol)
}

func (o *Octavia) createListener(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, "listener_", "listener", listenerPOST)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		lbID := b.str("loadbalancer_id")
		lb := s.lb(lbID, now)
		if lb == nil {
			return notFound("Load Balancer", lbID)
		}
		if err := authorize(r, lb.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(lb.ProjectID, "listener", 1, now); err != nil {
			return err
		}
		if pid := b.str("default_pool_id"); pid != "" {
			if b.str("protocol") == "PROMETHEUS" {
				return core.BadRequest("Protocol PROMETHEUS listeners cannot have child objects.")
			}
			p := s.pool(pid, now)
			if p == nil || p.LBID != lb.ID {
				return notFound("Pool", pid)
			}
			if err := checkProtocols(b.str("protocol"), p.Protocol); err != nil {
				return err
			}
		}
		if err := lbMutable(lb, now); err != nil {
			return err
		}
		if b["default_pool"] != nil || b["l7policies"] != nil {
			scratch, err := s.clone()
			if err != nil {
				return err
			}
			l, err := o.graphListener(scratch, scratch.LBs[lb.ID], b, now)
			if err != nil {
				return err
			}
			*s = *scratch
			o.touch(&s.LBs[lb.ID].common)
			answer = s.listenerBody(s.Listeners[l.ID], now)
			return nil
		}
		l, err := o.newListener(s, lb, b, now)
		if err != nil {
			return err
		}
		o.touch(&lb.common)
		answer = s.listenerBody(l, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"listener": answer})
	return nil
}

// graphListener creates a listener with its default pool and L7 policies
// given in full (ListenersController._graph_create).
func (o *Octavia) graphListener(s *state, lb *LoadBalancer, b body, now time.Time) (*Listener, error) {
	lbody := copyBody(b)
	if dp := b.obj("default_pool"); dp != nil {
		if dp.str("protocol") == "" || dp.str("lb_algorithm") == "" {
			return nil, core.BadRequest("Missing details for Pool object: %s", dp.str("name"))
		}
		p, err := o.newPool(s, lb, dp, now)
		if err != nil {
			return nil, err
		}
		if err := o.poolChildren(s, p, dp, now); err != nil {
			return nil, err
		}
		lbody["default_pool_id"] = p.ID
	}
	l, err := o.newListener(s, lb, lbody, now)
	if err != nil {
		return nil, err
	}
	ps, _ := b["l7policies"].([]body)
	for _, pb := range ps {
		pb = copyBody(pb)
		if rp := pb.obj("redirect_pool"); rp != nil {
			p, err := o.newPool(s, lb, rp, now)
			if err != nil {
				return nil, err
			}
			if err := o.poolChildren(s, p, rp, now); err != nil {
				return nil, err
			}
			pb["redirect_pool_id"] = p.ID
		}
		pol, err := o.newL7Policy(s, l, pb, now)
		if err != nil {
			return nil, err
		}
		rs, _ := pb["rules"].([]body)
		for _, rb := range rs {
			if _, err := o.newL7Rule(s, pol, rb, now); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

// poolChildren creates the members and health monitor given with a pool.
func (o *Octavia) poolChildren(s *state, p *Pool, b body, now time.Time) error {
	ms, _ := b["members"].([]body)
	for _, m := range ms {
		if _, err := o.newMember(s, p, m, now); err != nil {
			return err
		}
	}
	if h := b.obj("healthmonitor"); h != nil {
		if _, err := o.newHM(s, p, h, now); err != nil {
			return err
		}
	}
	return nil
}

func (o *Octavia) showListener(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("listener_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		l := s.listener(id, now)
		if l == nil {
			return notFound("Listener", id)
		}
		if err := authorize(r, l.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"listener": showFields(r, s.listenerBody(l, now))})
		return nil
	})
}

func (o *Octavia) listListeners(w http.ResponseWriter, r *http.Request) error {
	project, err := listProject(r)
	if err != nil {
		return err
	}
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, l := range s.Listeners {
			if s.listener(l.ID, now) == nil || (project != "" && l.ProjectID != project) {
				continue
			}
			items = append(items, s.listenerItem(l, now))
		}
		return writeList(w, r, "listeners", items, s.listenerItem(&Listener{}, now))
	})
}

func (o *Octavia) listenerStats(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("listener_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		l := s.listener(id, now)
		if l == nil {
			return notFound("Listener", id)
		}
		if err := authorize(r, l.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"stats": zeroStats})
		return nil
	})
}

func (o *Octavia) updateListener(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("listener_id")
	b, err := decodeBody(r, "listener_", "listener", listenerPUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		l := s.listener(id, now)
		if l == nil {
			return notFound("Listener", id)
		}
		if err := authorize(r, l.ProjectID); err != nil {
			return err
		}
		if err := checkListenerTLS(l.Protocol, b, false); err != nil {
			return err
		}
		if ca := b.str("client_authentication"); ca != "" && ca != "NONE" && l.ClientCARef == nil && b.str("client_ca_tls_container_ref") == "" {
			return validation("Client authentication setting %s requires a client CA container reference.", ca)
		}
		lb := s.LBs[l.LBID]
		for _, c := range b.list("allowed_cidrs") {
			if strings.Contains(c, ":") != isIPv6(lb.VIPAddress) {
				return validation("CIDR %s IP version incompatible with VIP %s IP version.", c, lb.VIPAddress)
			}
		}
		if pid := b.str("default_pool_id"); pid != "" {
			if l.Protocol == "PROMETHEUS" {
				return core.BadRequest("Protocol PROMETHEUS listeners cannot have child objects.")
			}
			p := s.pool(pid, now)
			if p == nil || p.LBID != l.LBID {
				return notFound("Pool", pid)
			}
			if err := checkProtocols(l.Protocol, p.Protocol); err != nil {
				return err
			}
		}
		if err := lbMutable(lb, now, &l.common); err != nil {
			return err
		}
		setStr := func(k string, dst *string) {
			if b.has(k) {
				*dst = b.str(k)
			}
		}
		setPtr := func(k string, dst **string) {
			if b.has(k) {
				*dst = b.strPtr(k)
			}
		}
		setInt := func(k string, dst *int, def int) {
			if b.has(k) {
				*dst = b.int(k, def)
			}
		}
		setStr("name", &l.Name)
		setStr("description", &l.Description)
		if b.has("admin_state_up") {
			l.AdminStateUp = b.bool("admin_state_up", true)
		}
		setInt("connection_limit", &l.ConnectionLimit, -1)
		setPtr("default_tls_container_ref", &l.DefaultTLSRef)
		if b.has("sni_container_refs") {
			l.SNIRefs = b.list("sni_container_refs")
		}
		if b.has("default_pool_id") {
			l.DefaultPoolID = b.str("default_pool_id")
		}
		if b.has("insert_headers") {
			l.InsertHeaders, _ = b["insert_headers"].(map[string]string)
		}
		setInt("timeout_client_data", &l.TimeoutClientData, 50000)
		setInt("timeout_member_connect", &l.TimeoutMemberConnect, 5000)
		setInt("timeout_member_data", &l.TimeoutMemberData, 50000)
		setInt("timeout_tcp_inspect", &l.TimeoutTCPInspect, 0)
		if b.has("tags") {
			l.Tags = b.list("tags")
		}
		setPtr("client_ca_tls_container_ref", &l.ClientCARef)
		if b.has("client_authentication") {
			l.ClientAuth = b.str("client_authentication")
			if l.ClientAuth == "" {
				l.ClientAuth = "NONE"
			}
		}
		setPtr("client_crl_container_ref", &l.ClientCRLRef)
		if b.has("allowed_cidrs") {
			l.AllowedCIDRs = b.list("allowed_cidrs")
		}
		if b.has("tls_ciphers") {
			l.TLSCiphers = b.strPtr("tls_ciphers")
			if l.TLSCiphers == nil {
				c := ciphersOWASPSuiteB
				l.TLSCiphers = &c
			}
		}
		if b.has("tls_versions") {
			l.TLSVersions = b.list("tls_versions")
			if l.TLSVersions == nil {
				l.TLSVersions = append([]string{}, defaultTLS...)
			}
		}
		if b.has("alpn_protocols") {
			l.ALPN = b.list("alpn_protocols")
			if l.ALPN == nil {
				l.ALPN = append([]string{}, defaultALPN...)
			}
		}
		o.begin(&l.common, "PENDING_UPDATE")
		o.updated(&l.common)
		o.touch(&lb.common)
		answer = s.listenerBody(l, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"listener": answer})
	return nil
}

func (o *Octavia) deleteListener(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("listener_id")
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		l := s.listener(id, now)
		if l == nil {
			return notFound("Listener", id)
		}
		if err := authorize(r, l.ProjectID); err != nil {
			return err
		}
		lb := s.LBs[l.LBID]
		if err := lbMutable(lb, now, &l.common); err != nil {
			return err
		}
		o.begin(&l.common, "PENDING_DELETE")
		o.touch(&lb.common)
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
