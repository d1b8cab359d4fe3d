package neutron

import (
	"net/http"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

var floatingIPKind = &kind{
	path: "floatingips", collection: "floatingips", resource: "floatingip", tagged: true,
	attrs: attrs(`id: floating_ip_address:p subnet_id:p floating_network_id:pr router_id: port_id:pu fixed_ip_address:pu
		tenant_id:p project_id:p status: description:pu port_details: created_at: updated_at: revision_number: tags:`),
	filters: filters(`id floating_ip_address floating_network_id router_id port_id fixed_ip_address status tenant_id
		project_id description revision_number:i created_at updated_at`),
	sorts: []string{"id", "floating_ip_address", "floating_network_id", "router_id", "port_id", "fixed_ip_address", "status", "tenant_id", "project_id", "created_at", "updated_at", "revision_number"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.FloatingIPs) {
			if c.owns(x.ProjectID) {
				out = append(out, x.body(n, s))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.floatingIP(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(n, s), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		return n.createFloatingIP(s, c, in)
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateFloatingIP(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error {
		x, err := s.floatingIP(c, id)
		if err != nil {
			return err
		}
		delete(s.Ports, x.FIPPortID)
		delete(s.FloatingIPs, id)
		return nil
	},
	std: func(s *state, c *caller, id string) (*Std, error) {
		x, err := s.floatingIP(c, id)
		if err != nil {
			return nil, err
		}
		return &x.Std, nil
	},
}

func init() { kinds = append(kinds, floatingIPKind) }

func (s *state) floatingIP(c *caller, id string) (*FloatingIP, error) {
	x := s.FloatingIPs[id]
	if x == nil || !c.owns(x.ProjectID) {
		return nil, errf(http.StatusNotFound, "FloatingIPNotFound", "Floating IP %s could not be found", id)
	}
	return x, nil
}

func (x *FloatingIP) body(n *Neutron, s *state) map[string]any {
	now := n.env.Now()
	var details any
	if x.PortID != nil {
		if p := s.Ports[*x.PortID]; p != nil {
			details = map[string]any{"name": p.Name, "network_id": p.NetworkID, "mac_address": p.MACAddress,
				"admin_state_up": p.AdminStateUp, "status": p.status(now), "device_id": p.DeviceID, "device_owner": p.DeviceOwner}
		}
	}
	return x.put(map[string]any{
		"floating_ip_address": x.FloatingIPAddress, "floating_network_id": x.FloatingNetworkID,
		"router_id": strPtr(x.RouterID), "port_id": strPtr(x.PortID), "fixed_ip_address": strPtr(x.FixedIPAddress),
		"status": x.Life.Current(now), "port_details": details, "port_forwardings": []any{},
	}, false)
}

func fipBad(format string, args ...any) error { return badResource("floatingip", format, args...) }

// association is a validated port_id/fixed_ip_address.
type association struct {
	portID, fixedIP, routerID string
}

// associate validates the association of the floating IP (project owner,
// on external network netID) with a port, as _get_assoc_data does.
func (s *state) associate(c *caller, x *FloatingIP, portID string, fixed any) (*association, error) {
	p, err := s.port(c, portID)
	if err != nil {
		return nil, err
	}
	if p.ProjectID != x.ProjectID && !c.admin() {
		return nil, fipBad("Cannot process floating IP association with Port %s, since that port is owned by a different tenant", portID)
	}
	if strings.HasPrefix(p.DeviceOwner, "network:") {
		return nil, fipBad("Port %%(id)s is unable to be assigned a floating IP")
	}
	var ip FixedIP
	if fixed != nil {
		addr, err := parseIPAttr("fixed_ip_address", fixed)
		if err != nil {
			return nil, err
		}
		if !addr.Is4() {
			return nil, fipBad("Cannot process floating IP association with %s, since that is not an IPv4 address", addr)
		}
		for _, f := range p.FixedIPs {
			if f.IPAddress == addr.String() {
				ip = f
			}
		}
		if ip.SubnetID == "" {
			return nil, fipBad("Port %s does not have fixed ip %s", p.ID, addr)
		}
	} else {
		var v4 []FixedIP
		for _, f := range p.FixedIPs {
			if a, ok := parseIP(f.IPAddress); ok && a.Is4() {
				v4 = append(v4, f)
			}
		}
		if len(v4) == 0 {
			return nil, fipBad("Cannot add floating IP to port %s that has no fixed IPv4 addresses", p.ID)
		}
		if len(v4) > 1 {
			return nil, fipBad("Port %s has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP", p.ID)
		}
		ip = v4[0]
	}
	rt := s.routerFor(ip.SubnetID, x.FloatingNetworkID)
	if rt == nil {
		return nil, errf(http.StatusNotFound, "ExternalGatewayForFloatingIPNotFound", "External network %s is not reachable from subnet %s.  Therefore, cannot associate Port %s with a Floating IP.", x.FloatingNetworkID, ip.SubnetID, p.ID)
	}
	for _, o := range s.FloatingIPs {
		if o.ID != x.ID && o.PortID != nil && *o.PortID == p.ID && o.FixedIPAddress != nil && *o.FixedIPAddress == ip.IPAddress &&
			o.FloatingNetworkID == x.FloatingNetworkID {
			return nil, errf(http.StatusConflict, "FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
				x.FloatingIPAddress, x.ID, p.ID, ip.IPAddress, x.FloatingNetworkID)
		}
	}
	return &association{portID: p.ID, fixedIP: ip.IPAddress, routerID: rt.ID}, nil
}

func (n *Neutron) apply(x *FloatingIP, a *association) {
	if a == nil {
		x.PortID, x.FixedIPAddress, x.RouterID = nil, nil, nil
		x.Life.Set("DOWN")
		return
	}
	port, fixed, router := a.portID, a.fixedIP, a.routerID
	x.PortID, x.FixedIPAddress, x.RouterID = &port, &fixed, &router
	x.Life = core.Begin(n.env, "DOWN", "ACTIVE")
}

func (n *Neutron) createFloatingIP(s *state, c *caller, in map[string]any) (string, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	netID, err := uuid("floating_network_id", in["floating_network_id"])
	if err != nil {
		return "", err
	}
	var std Std
	if err := setStdFields(&std, in, false); err != nil {
		return "", err
	}
	var req fixedIPRequest
	if v, ok := in["floating_ip_address"]; ok && v != nil {
		if !c.admin() {
			return "", policyAttr("create_floatingip", "floating_ip_address")
		}
		a, err := parseIPAttr("floating_ip_address", v)
		if err != nil {
			return "", err
		}
		req.IPAddress = a.String()
	}
	if v, ok := in["subnet_id"]; ok && v != nil {
		id, err := uuid("subnet_id", v)
		if err != nil {
			return "", err
		}
		req.SubnetID = id
	}
	net := s.Networks[netID]
	if net == nil || !s.netVisible(net, c) {
		return "", networkNotFound(netID)
	}
	if !net.External {
		return "", fipBad("Network %s is not a valid external network", netID)
	}
	hasV4 := false
	for _, sub := range s.subnetsOf(netID) {
		hasV4 = hasV4 || sub.IPVersion == 4
	}
	if !hasV4 {
		return "", fipBad("Network %s does not contain any IPv4 subnet", netID)
	}
	x := &FloatingIP{FloatingNetworkID: netID}
	x.ProjectID = project
	var assoc *association
	if v, ok := in["port_id"]; ok && v != nil {
		portID, err := uuid("port_id", v)
		if err != nil {
			return "", err
		}
		if assoc, err = s.associate(c, x, portID, in["fixed_ip_address"]); err != nil {
			return "", err
		}
	}
	if err := s.checkQuota(project, "floatingip", 1); err != nil {
		return "", err
	}
	admin := &caller{Identity: &core.Identity{ProjectID: c.ProjectID, Roles: []string{"admin"}}}
	var reqs []fixedIPRequest
	if req.SubnetID != "" || req.IPAddress != "" {
		reqs = []fixedIPRequest{req}
	}
	mac := s.newMAC(netID)
	ips, err := s.allocate(admin, net, ownerFloatingIP, mac, reqs, reqs == nil, nil)
	if err != nil {
		return "", err
	}
	var v4 *FixedIP
	for i := range ips {
		if a, _ := parseIP(ips[i].IPAddress); a.Is4() {
			v4 = &ips[i]
			break
		}
	}
	if v4 == nil {
		return "", errf(http.StatusBadRequest, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", netID)
	}
	x.Std = n.newStd(s, project)
	x.Description = std.Description
	x.FloatingIPAddress, x.SubnetID = v4.IPAddress, v4.SubnetID
	p := &Port{NetworkID: netID, AdminStateUp: true, MACAddress: mac, FixedIPs: ips, DeviceID: x.ID,
		DeviceOwner: ownerFloatingIP, SecurityGroups: []string{}, VNICType: "normal"}
	p.Std = n.newStd(s, "")
	p.Life.Set("N/A")
	s.Ports[p.ID] = p
	x.FIPPortID = p.ID
	n.apply(x, assoc)
	s.FloatingIPs[x.ID] = x
	return x.ID, nil
}

func (n *Neutron) updateFloatingIP(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.floatingIP(c, id)
	if err != nil {
		return err
	}
	var std = x.Std
	if err := setStdFields(&std, in, false); err != nil {
		return err
	}
	v, hasPort := in["port_id"]
	if !hasPort && in["fixed_ip_address"] != nil && x.PortID != nil {
		v, hasPort = *x.PortID, true
	}
	var assoc *association
	if hasPort && v != nil {
		portID, err := uuid("port_id", v)
		if err != nil {
			return err
		}
		if assoc, err = s.associate(c, x, portID, in["fixed_ip_address"]); err != nil {
			return err
		}
	}
	if hasPort {
		same := assoc != nil && x.PortID != nil && *x.PortID == assoc.portID && *x.FixedIPAddress == assoc.fixedIP
		if !same {
			n.apply(x, assoc)
		}
	}
	x.Description = std.Description
	n.touch(&x.Std)
	return nil
}
