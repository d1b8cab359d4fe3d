package octavia

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// ----------------------------------------------------------------- bodies

func (s *state) lbOperating(lb *LoadBalancer, now time.Time) string {
	if lb.Current(now) == "PENDING_CREATE" || !lb.AdminStateUp {
		return "OFFLINE"
	}
	return "ONLINE"
}

func (s *state) lbListeners(lbID string, now time.Time) []*Listener {
	var out []*Listener
	for _, l := range s.Listeners {
		if l.LBID == lbID && !l.gone(now) {
			out = append(out, l)
		}
	}
	sortByCreation(out, func(l *Listener) *common { return &l.common })
	return out
}

func (s *state) lbPools(lbID string, now time.Time) []*Pool {
	var out []*Pool
	for _, p := range s.Pools {
		if p.LBID == lbID && !p.gone(now) {
			out = append(out, p)
		}
	}
	sortByCreation(out, func(p *Pool) *common { return &p.common })
	return out
}

// lbBody is LoadBalancerResponse; full (the create answer) has whole
// listeners and pools instead of their ids.
func (s *state) lbBody(lb *LoadBalancer, now time.Time, full bool) map[string]any {
	b := lb.baseBody(now)
	b["description"] = lb.Description
	b["operating_status"] = s.lbOperating(lb, now)
	b["vip_address"] = lb.VIPAddress
	b["vip_port_id"] = lb.VIPPortID
	b["vip_subnet_id"] = lb.VIPSubnetID
	b["vip_network_id"] = lb.VIPNetworkID
	b["vip_qos_policy_id"] = ptrOrNil(lb.VIPQoS)
	b["additional_vips"] = []any{}
	b["provider"] = lb.Provider
	b["flavor_id"] = ptrOrNil(lb.FlavorID)
	b["availability_zone"] = ptrOrNil(lb.AZ)
	var ls, ps []any
	for _, l := range s.lbListeners(lb.ID, now) {
		if full {
			lbody := s.listenerBody(l, now)
			delete(lbody, "loadbalancers")
			ls = append(ls, lbody)
		} else {
			ls = append(ls, map[string]string{"id": l.ID})
		}
	}
	for _, p := range s.lbPools(lb.ID, now) {
		if full {
			ps = append(ps, s.poolBody(p, now, true))
		} else {
			ps = append(ps, map[string]string{"id": p.ID})
		}
	}
	if ls == nil {
		ls = []any{}
	}
	if ps == nil {
		ps = []any{}
	}
	b["listeners"], b["pools"] = ls, ps
	return b
}

// ------------------------------------------------------------------ reads

func (o *Octavia) showLB(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("lb_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		lb := s.lb(id, now)
		if lb == nil {
			return notFound("Load Balancer", id)
		}
		if err := authorize(r, lb.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"loadbalancer": showFields(r, s.lbBody(lb, now, false))})
		return nil
	})
}

func (o *Octavia) listLBs(w http.ResponseWriter, r *http.Request) error {
	project, err := listProject(r)
	if err != nil {
		return err
	}
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, lb := range s.LBs {
			if lb.gone(now) || (project != "" && lb.ProjectID != project) {
				continue
			}
			items = append(items, listItem{body: s.lbBody(lb, now, false), id: lb.ID, created: lb.Created,
				hidden: map[string]string{"enabled": fmt.Sprint(lb.AdminStateUp)}})
		}
		return writeList(w, r, "loadbalancers", items, listItem{body: s.lbBody(&LoadBalancer{}, now, false), hidden: map[string]string{"enabled": ""}})
	})
}

// lbStatus is the status tree (StatusController).
func (o *Octavia) lbStatus(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("lb_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		lb := s.lb(id, now)
		if lb == nil {
			return notFound("Load Balancer", id)
		}
		if err := authorize(r, lb.ProjectID); err != nil {
			return err
		}
		var listeners []any
		for _, l := range s.lbListeners(lb.ID, now) {
			var pools []any
			for _, p := range s.listenerPools(l, now) {
				var members []any
				for _, m := range s.poolMembers(p.ID, now) {
					members = append(members, map[string]any{"id": m.ID, "name": m.Name,
						"operating_status": s.memberOperating(m, now), "provisioning_status": m.status(now),
						"address": m.Address, "protocol_port": m.ProtocolPort})
				}
				pb := map[string]any{"id": p.ID, "name": p.Name, "provisioning_status": p.status(now),
					"operating_status": s.poolOperating(p, now), "members": orEmpty(members)}
				if h := s.poolHM(p.ID, now); h != nil {
					pb["health_monitor"] = map[string]any{"id": h.ID, "name": h.Name, "type": h.Type,
						"provisioning_status": h.status(now), "operating_status": s.hmOperating(h, now)}
				}
				pools = append(pools, pb)
			}
			listeners = append(listeners, map[string]any{"id": l.ID, "name": l.Name,
				"operating_status": s.listenerOperating(l, now), "provisioning_status": l.status(now),
				"pools": orEmpty(pools)})
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"statuses": map[string]any{"loadbalancer": map[string]any{
			"id": lb.ID, "name": lb.Name, "operating_status": s.lbOperating(lb, now),
			"provisioning_status": lb.status(now), "listeners": orEmpty(listeners)}}})
		return nil
	})
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

var zeroStats = map[string]any{"bytes_in": 0, "bytes_out": 0, "active_connections": 0,
	"total_connections": 0, "request_errors": 0}

func (o *Octavia) lbStats(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("lb_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		lb := s.lb(id, now)
		if lb == nil {
			return notFound("Load Balancer", id)
		}
		if err := authorize(r, lb.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"stats": zeroStats})
		return nil
	})
}

// ----------------------------------------------------------------- create

// vip is what Neutron says about the VIP.
type vip struct {
	address, portID, subnetID, networkID string
	qos                                  *string
	owned                                bool
}

type neutronPort struct {
	ID        string `json:"id"`
	NetworkID string `json:"network_id"`
	DeviceID  string `json:"device_id"`
	FixedIPs  []struct {
		SubnetID  string `json:"subnet_id"`
		IPAddress string `json:"ip_address"`
	} `json:"fixed_ips"`
	QoS *string `json:"qos_policy_id"`
}

type neutronNetwork struct {
	ID      string   `json:"id"`
	Subnets []string `json:"subnets"`
}

type neutronSubnet struct {
	ID        string `json:"id"`
	NetworkID string `json:"network_id"`
	CIDR      string `json:"cidr"`
	IPVersion int    `json:"ip_version"`
}

func (o *Octavia) hasService(typ string) bool {
	for _, s := range o.env.Specs() {
		if s.Type == typ {
			return true
		}
	}
	return false
}

// neutronGet reads one Neutron object; a 404 is Octavia's
// InvalidSubresource (400 "Subnet x not found.").
func (o *Octavia) neutronGet(r *http.Request, kind, resource, id string, out any) error {
	var wrap map[string]json.RawMessage
	err := o.do(r, "network", http.MethodGet, "/v2.0/"+kind+"s/"+id, nil, &wrap)
	var ce *core.CallError
	if errors.As(err, &ce) {
		if ce.Status == http.StatusNotFound || ce.Status == http.StatusBadRequest {
			return core.BadRequest("%s %s not found.", resource, id)
		}
		return neutronFault(ce)
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(wrap[kind], out)
}

// neutronFault turns a Neutron error into Octavia's answer (the network
// driver passes its code and message through).
func neutronFault(ce *core.CallError) error {
	var b struct {
		NeutronError struct {
			Message string `json:"message"`
		} `json:"NeutronError"`
	}
	msg := strings.TrimSpace(string(ce.Body))
	if json.Unmarshal(ce.Body, &b) == nil && b.NeutronError.Message != "" {
		msg = b.NeutronError.Message
	}
	status := ce.Status
	if status >= 500 {
		return core.Errorf(status, "Error allocating the VIP: %s", msg)
	}
	return core.Errorf(status, "%s", msg)
}

// resolveVIP is _validate_vip_request_object: it finds (without making
// anything) the VIP's network, subnet and address from the request.
func (o *Octavia) resolveVIP(r *http.Request, b body) (*vip, error) {
	portID, netID, subnetID, addr := b.str("vip_port_id"), b.str("vip_network_id"), b.str("vip_subnet_id"), b.str("vip_address")
	if portID == "" && netID == "" && subnetID == "" {
		return nil, validation("VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.")
	}
	if !o.hasService("network") {
		// No Neutron in this emulator: the VIP is made up.
		v := &vip{address: addr, portID: portID, subnetID: subnetID, networkID: netID, owned: portID == ""}
		if v.address == "" {
			v.address = "10.0.0." + fmt.Sprint(10+time.Now().UnixNano()%200)
		}
		if v.portID == "" {
			v.portID = core.NewUUID()
		}
		if v.subnetID == "" {
			v.subnetID = core.NewUUID()
		}
		if v.networkID == "" {
			v.networkID = core.NewUUID()
		}
		return v, nil
	}
	v := &vip{address: addr, subnetID: subnetID, networkID: netID}
	switch {
	case portID != "":
		var p neutronPort
		if err := o.neutronGet(r, "port", "Port", portID, &p); err != nil {
			return nil, err
		}
		if p.DeviceID != "" {
			return nil, validation("Port %s is already used by device %s ", p.ID, p.DeviceID)
		}
		v.portID, v.networkID = p.ID, p.NetworkID
		if v.qos == nil && !b.has("vip_qos_policy_id") {
			v.qos = p.QoS
		}
		switch {
		case subnetID != "":
			var sn neutronSubnet
			if err := o.neutronGet(r, "subnet", "Subnet", subnetID, &sn); err != nil {
				return nil, err
			}
			v.address = ""
			for _, f := range p.FixedIPs {
				if f.SubnetID == subnetID {
					v.address = f.IPAddress
					break
				}
			}
			if v.address == "" {
				return nil, validation("No VIP address found on the specified VIP port within the specified subnet.")
			}
		case addr != "":
			want, _ := netip.ParseAddr(addr)
			for _, f := range p.FixedIPs {
				if got, err := netip.ParseAddr(f.IPAddress); err == nil && got == want {
					v.subnetID = f.SubnetID
					break
				}
			}
			if v.subnetID == "" {
				return nil, validation("Specified VIP address not found on the specified VIP port.")
			}
		case len(p.FixedIPs) == 1:
			v.subnetID, v.address = p.FixedIPs[0].SubnetID, p.FixedIPs[0].IPAddress
		default:
			return nil, validation("VIP port's subnet could not be determined. Please specify either a VIP subnet or address.")
		}
	case netID != "":
		var n neutronNetwork
		if err := o.neutronGet(r, "network", "Network", netID, &n); err != nil {
			return nil, err
		}
		if subnetID != "" {
			if !contains(n.Subnets, subnetID) {
				return nil, core.BadRequest("Subnet %s not found.", subnetID)
			}
			break
		}
		if len(n.Subnets) == 0 {
			return nil, validation("Supplied network does not contain a subnet.")
		}
		var subnets []neutronSubnet
		for _, id := range n.Subnets {
			var sn neutronSubnet
			if err := o.neutronGet(r, "subnet", "Subnet", id, &sn); err != nil {
				return nil, err
			}
			subnets = append(subnets, sn)
		}
		if addr != "" {
			a, _ := netip.ParseAddr(addr)
			for _, sn := range subnets {
				if p, err := netip.ParsePrefix(sn.CIDR); err == nil && p.Contains(a) {
					v.subnetID = sn.ID
					break
				}
			}
			if v.subnetID == "" {
				return nil, validation("Supplied network does not contain a subnet for VIP address specified.")
			}
			break
		}
		v.subnetID = subnets[0].ID
		for _, sn := range subnets {
			if sn.IPVersion == 4 {
				v.subnetID = sn.ID
				break
			}
		}
	default:
		var sn neutronSubnet
		if err := o.neutronGet(r, "subnet", "Subnet", subnetID, &sn); err != nil {
			return nil, err
		}
		v.networkID = sn.NetworkID
		if addr != "" {
			a, _ := netip.ParseAddr(addr)
			if p, err := netip.ParsePrefix(sn.CIDR); err == nil && !p.Contains(a) {
				return nil, core.BadRequest("IP address %s is not a valid IP for the specified subnet.", addr)
			}
		}
	}
	if b.str("vip_qos_policy_id") != "" {
		return nil, validation("VIP QoS policy is not allowed in this deployment.")
	}
	return v, nil
}

// allocateVIP is the network driver's allocate_vip: a port named
// octavia-lb-<id> owned by Octavia on the VIP subnet (the user's port is
// used as it is).
func (o *Octavia) allocateVIP(r *http.Request, lbID, project string, v *vip) error {
	if v.portID != "" || !o.hasService("network") {
		return nil
	}
	fixed := map[string]any{"subnet_id": v.subnetID}
	if v.address != "" {
		fixed["ip_address"] = v.address
	}
	req := map[string]any{"port": map[string]any{"name": "octavia-lb-" + lbID, "network_id": v.networkID,
		"fixed_ips": []any{fixed}, "device_id": "lb-" + lbID, "device_owner": "Octavia",
		"admin_state_up": false, "project_id": project}}
	var out struct{ Port neutronPort }
	err := o.do(r, "network", http.MethodPost, "/v2.0/ports", req, &out)
	var ce *core.CallError
	if errors.As(err, &ce) {
		return neutronFault(ce)
	}
	if err != nil {
		return err
	}
	v.portID, v.owned = out.Port.ID, true
	for _, f := range out.Port.FixedIPs {
		if f.SubnetID == v.subnetID {
			v.address = f.IPAddress
		}
	}
	return nil
}

// releaseVIP deletes the VIP port Octavia made (a missing one is fine).
func (o *Octavia) releaseVIP(r *http.Request, portID string) {
	if portID == "" || !o.hasService("network") {
		return
	}
	if err := o.do(r, "network", http.MethodDelete, "/v2.0/ports/"+portID, nil, nil); err != nil {
		var ce *core.CallError
		if !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
			o.env.Log.Info("octavia: deleting a VIP port", "port", portID, "error", err)
		}
	}
}

func (o *Octavia) createLB(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, "load_balancer", "loadbalancer", lbPOST)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	project := b.str("project_id")
	if project == "" {
		project = caller.ProjectID
	}
	if err := authorize(r, project); err != nil {
		return err
	}
	v, err := o.resolveVIP(r, b)
	if err != nil {
		return err
	}
	now := o.env.Now()
	provider := b.str("provider")
	// Flavor, availability zone, provider and quota, before making a port.
	err = o.state.View(func(s *state) error {
		var flavorProvider string
		if fid := b.str("flavor_id"); fid != "" {
			f := s.Flavors[fid]
			if f == nil {
				return validation("Invalid flavor_id.")
			}
			if !f.Enabled {
				return core.BadRequest("The selected flavor is not allowed in this deployment: %s", fid)
			}
			if fp := s.FlavorProfiles[f.ProfileID]; fp != nil {
				flavorProvider = fp.Provider
			}
		}
		if b.str("availability_zone") != "" {
			return validation("Invalid availability zone.")
		}
		switch {
		case provider == "" && flavorProvider != "":
			provider = flavorProvider
		case provider == "":
			provider = defaultProvider
		case flavorProvider != "" && flavorProvider != provider:
			return core.BadRequest("Flavor '%s' is not compatible with provider '%s'", b.str("flavor_id"), provider)
		}
		if !providerEnabled(provider) {
			return core.BadRequest("Provider '%s' is not enabled.", provider)
		}
		if err := s.checkQuota(project, "load_balancer", 1, now); err != nil {
			return err
		}
		return s.checkGraphQuotas(project, b, now)
	})
	if err != nil {
		return err
	}
	lbID := core.NewUUID()
	if err := o.allocateVIP(r, lbID, project, v); err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		if err := s.checkQuota(project, "load_balancer", 1, now); err != nil {
			return err
		}
		lb := &LoadBalancer{common: common{ID: lbID, ProjectID: project, Name: b.str("name"),
			Description: b.str("description"), AdminStateUp: b.bool("admin_state_up", true),
			Tags: b.list("tags"), Created: now},
			VIPAddress: v.address, VIPPortID: v.portID, VIPSubnetID: v.subnetID, VIPNetworkID: v.networkID,
			VIPQoS: v.qos, VIPOwned: v.owned, Provider: provider, FlavorID: b.strPtr("flavor_id")}
		o.begin(&lb.common, "PENDING_CREATE")
		listeners, pools := b["listeners"], b["pools"]
		if listeners == nil && pools == nil {
			s.LBs[lb.ID] = lb
			answer = s.lbBody(lb, now, true)
			return nil
		}
		// A fully populated load balancer: all or nothing.
		scratch, err := s.clone()
		if err != nil {
			return err
		}
		scratch.LBs[lb.ID] = lb
		if err := o.graphCreate(scratch, lb, b, now); err != nil {
			return err
		}
		*s = *scratch
		answer = s.lbBody(lb, now, true)
		return nil
	})
	if err != nil {
		if v.owned {
			o.releaseVIP(r, v.portID)
		}
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"loadbalancer": answer})
	return nil
}

func providerEnabled(name string) bool {
	for _, p := range providers {
		if p.Name == name {
			return true
		}
	}
	return false
}

// clone deep-copies the state (for changes that must be all or nothing).
func (s *state) clone() (*state, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("octavia: copying the state: %w", err)
	}
	var c state
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("octavia: copying the state: %w", err)
	}
	return &c, nil
}

// checkGraphQuotas checks the quotas a fully populated create needs.
func (s *state) checkGraphQuotas(project string, b body, now time.Time) error {
	counts := map[string]int{}
	var countPool func(p body)
	countPool = func(p body) {
		if p == nil {
			return
		}
		counts["pool"]++
		if ms, ok := p["members"].([]body); ok {
			counts["member"] += len(ms)
		}
		if p.obj("healthmonitor") != nil {
			counts["health_monitor"]++
		}
	}
	ls, _ := b["listeners"].([]body)
	for _, l := range ls {
		counts["listener"]++
		countPool(l.obj("default_pool"))
		ps, _ := l["l7policies"].([]body)
		for _, p := range ps {
			counts["l7policy"]++
			if rs, ok := p["rules"].([]body); ok {
				counts["l7rule"] += len(rs)
			}
			countPool(p.obj("redirect_pool"))
		}
	}
	pools, _ := b["pools"].([]body)
	for _, p := range pools {
		countPool(p)
	}
	for _, k := range []string{"pool", "listener", "member", "health_monitor", "l7policy", "l7rule"} {
		if counts[k] > 0 {
			if err := s.checkQuota(project, k, counts[k], now); err != nil {
				return err
			}
		}
	}
	return nil
}

// graphCreate is LoadBalancersController._graph_create: pools (named)
// first, then listeners referring to them by name.
func (o *Octavia) graphCreate(s *state, lb *LoadBalancer, b body, now time.Time) error {
	listeners, _ := b["listeners"].([]body)
	pools, _ := b["pools"].([]body)
	required := map[string]bool{}
	for _, l := range listeners {
		for _, ref := range []body{l.obj("default_pool")} {
			if ref == nil {
				continue
			}
			name := ref.str("name")
			if name == "" {
				return validation("Pools must be named when creating a fully populated loadbalancer.")
			}
			if len(ref) > 1 {
				pools = append(pools, ref)
			} else {
				required[name] = true
			}
		}
		ps, _ := l["l7policies"].([]body)
		for _, p := range ps {
			ref := p.obj("redirect_pool")
			if ref == nil {
				continue
			}
			name := ref.str("name")
			if name == "" {
				return validation("Pools must be named when creating a fully populated loadbalancer.")
			}
			if len(ref) > 1 {
				pools = append(pools, ref)
			} else {
				required[name] = true
			}
		}
	}
	names := map[string]string{}
	for _, p := range pools {
		if _, dup := names[p.str("name")]; dup {
			return core.BadRequest("Validation failure: Pool names must be unique when creating a fully populated loadbalancer.")
		}
		names[p.str("name")] = ""
	}
	for n := range required {
		if _, ok := names[n]; !ok {
			return core.BadRequest("Validation failure: Pool '%s' was referenced but no full definition was found.", n)
		}
	}
	for _, p := range pools {
		for _, a := range []string{"protocol", "lb_algorithm"} {
			if p.str(a) == "" {
				return core.BadRequest("Validation failure: Pool definition for '%s' missing required attribute: %s", p.str("name"), a)
			}
		}
		np, err := o.newPool(s, lb, p, now)
		if err != nil {
			return err
		}
		names[np.Name] = np.ID
		if ms, ok := p["members"].([]body); ok {
			for _, m := range ms {
				if _, err := o.newMember(s, np, m, now); err != nil {
					return err
				}
			}
		}
		if h := p.obj("healthmonitor"); h != nil {
			if _, err := o.newHM(s, np, h, now); err != nil {
				return err
			}
		}
	}
	for _, l := range listeners {
		lbody := l
		if ref := l.obj("default_pool"); ref != nil {
			lbody = copyBody(l)
			lbody["default_pool_id"] = names[ref.str("name")]
		}
		nl, err := o.newListener(s, lb, lbody, now)
		if err != nil {
			return err
		}
		ps, _ := l["l7policies"].([]body)
		for _, p := range ps {
			pb := copyBody(p)
			if ref := p.obj("redirect_pool"); ref != nil {
				pb["redirect_pool_id"] = names[ref.str("name")]
			}
			np, err := o.newL7Policy(s, nl, pb, now)
			if err != nil {
				return err
			}
			if rs, ok := p["rules"].([]body); ok {
				for _, rb := range rs {
					if _, err := o.newL7Rule(s, np, rb, now); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func copyBody(b body) body {
	c := body{}
	for k, v := range b {
		c[k] = v
	}
	return c
}

// ----------------------------------------------------------------- update

func (o *Octavia) updateLB(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("lb_id")
	b, err := decodeBody(r, "load_balancer", "loadbalancer", lbPUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		lb := s.lb(id, now)
		if lb == nil {
			return notFound("Load Balancer", id)
		}
		if err := authorize(r, lb.ProjectID); err != nil {
			return err
		}
		if b.has("vip_qos_policy_id") {
			return validation("VIP QoS policy is not allowed in this deployment.")
		}
		if lb.pending(now) {
			return pendingState(lb.status(now), id)
		}
		if b.has("name") {
			lb.Name = b.str("name")
		}
		if b.has("description") {
			lb.Description = b.str("description")
		}
		if b.has("admin_state_up") {
			lb.AdminStateUp = b.bool("admin_state_up", true)
		}
		if b.has("tags") {
			lb.Tags = b.list("tags")
		}
		o.begin(&lb.common, "PENDING_UPDATE")
		o.updated(&lb.common)
		answer = s.lbBody(lb, now, false)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"loadbalancer": answer})
	return nil
}

// failoverLB is FailoverController.put (admins): PENDING_UPDATE, 202.
func (o *Octavia) failoverLB(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("lb_id")
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		lb := s.lb(id, now)
		if lb == nil {
			return notFound("Load Balancer", id)
		}
		if st := lb.status(now); st != "ACTIVE" && st != "ERROR" {
			return pendingState(st, id)
		}
		o.begin(&lb.common, "PENDING_UPDATE")
		o.updated(&lb.common)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// ----------------------------------------------------------------- delete

func (o *Octavia) deleteLB(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("lb_id")
	cascade := boolParam(r.URL.Query().Get("cascade"))
	var port string
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		lb := s.lb(id, now)
		if lb == nil {
			return notFound("Load Balancer", id)
		}
		if err := authorize(r, lb.ProjectID); err != nil {
			return err
		}
		if (len(s.lbListeners(id, now)) > 0 || len(s.lbPools(id, now)) > 0) && !cascade {
			return validation("Cannot delete Load Balancer %s - it has children", id)
		}
		if lb.pending(now) {
			return pendingState(lb.status(now), id)
		}
		o.begin(&lb.common, "PENDING_DELETE")
		if cascade {
			for _, l := range s.lbListeners(id, now) {
				o.begin(&l.common, "PENDING_DELETE")
			}
			for _, p := range s.lbPools(id, now) {
				o.begin(&p.common, "PENDING_DELETE")
			}
		}
		if lb.VIPOwned {
			port = lb.VIPPortID
		}
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	o.releaseVIP(r, port)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// boolParam is oslo's strutils.bool_from_string.
func boolParam(s string) bool { return enumTrue[strings.ToLower(strings.TrimSpace(s))] }
