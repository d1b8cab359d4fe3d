package neutron

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Device owners Neutron itself uses.
const (
	ownerRouterInterface = "network:router_interface"
	ownerRouterGateway   = "network:router_gateway"
	ownerFloatingIP      = "network:floatingip"
)

// BindingHost is the host Nova binds ports to when it says none.
const BindingHost = "emulator"

var vnicTypes = []string{"normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic", "vdpa", "accelerator-direct", "accelerator-direct-physical", "remote-managed"}

var portKind = &kind{
	path: "ports", collection: "ports", resource: "port", tagged: true, bulk: true,
	attrs: attrs(`id: name:pu description:pu network_id:pr admin_state_up:pu mac_address:pu fixed_ips:pu device_id:pu
		device_owner:pu tenant_id:p project_id:p status: security_groups:pu allowed_address_pairs:pu
		port_security_enabled:pu binding:host_id:pu binding:profile:pu binding:vnic_type:pu binding:vif_type:
		binding:vif_details: ip_allocation: created_at: updated_at: revision_number: tags:p`),
	filters: filters(`id name description network_id admin_state_up:b mac_address fixed_ips:f device_id device_owner
		tenant_id project_id status security_groups:c port_security_enabled:b binding:host_id binding:vnic_type
		binding:vif_type ip_allocation revision_number:i created_at updated_at`),
	sorts: []string{"id", "name", "network_id", "admin_state_up", "mac_address", "device_id", "device_owner", "tenant_id", "project_id", "status", "created_at", "updated_at", "revision_number"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		now := n.env.Now()
		for _, x := range byCreation(s.Ports) {
			if x.visible(c, s) {
				out = append(out, x.body(now))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.port(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(n.env.Now()), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		x, err := n.createPort(s, c, in)
		if err != nil {
			return "", err
		}
		return x.ID, nil
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updatePort(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error { return n.deletePort(s, c, id) },
	std: func(s *state, c *caller, id string) (*Std, error) {
		x, err := s.port(c, id)
		if err != nil {
			return nil, err
		}
		return &x.Std, nil
	},
}

func init() { kinds = append(kinds, portKind) }

func portNotFound(id string) error {
	return errf(http.StatusNotFound, "PortNotFound", "Port %s could not be found.", id)
}

// visible is get_port's policy: the port's project, the network's owner,
// admins.
func (x *Port) visible(c *caller, s *state) bool {
	if c.owns(x.ProjectID) {
		return true
	}
	net := s.Networks[x.NetworkID]
	return net != nil && net.ProjectID == c.ProjectID && c.ProjectID != ""
}

func (s *state) port(c *caller, id string) (*Port, error) {
	x := s.Ports[id]
	if x == nil || !x.visible(c, s) {
		return nil, portNotFound(id)
	}
	return x, nil
}

// status: DOWN while administratively down or without a device; a port
// given a device goes ACTIVE after -delay.
func (x *Port) status(now time.Time) string {
	if !x.AdminStateUp || x.DeviceOwner == "" {
		return "DOWN"
	}
	return x.Life.Current(now)
}

func (x *Port) body(now time.Time) map[string]any {
	ips := make([]map[string]any, 0, len(x.FixedIPs))
	for _, f := range x.FixedIPs {
		ips = append(ips, map[string]any{"subnet_id": f.SubnetID, "ip_address": f.IPAddress})
	}
	pairs := make([]map[string]any, 0, len(x.AddressPairs))
	for _, p := range x.AddressPairs {
		pairs = append(pairs, map[string]any{"ip_address": p.IPAddress, "mac_address": p.MACAddress})
	}
	sgs := x.SecurityGroups
	if sgs == nil {
		sgs = []string{}
	}
	profile := x.Profile
	if profile == nil {
		profile = map[string]any{}
	}
	vifType, details := "unbound", map[string]any{}
	if x.HostID != "" {
		vifType = "ovs"
		details = map[string]any{"port_filter": true, "connectivity": "l2", "ovs_hybrid_plug": false,
			"datapath_type": "system", "bridge_name": "br-int"}
		if x.VNICType == "baremetal" {
			vifType, details = "other", map[string]any{}
		}
	}
	return x.put(map[string]any{
		"network_id": x.NetworkID, "admin_state_up": x.AdminStateUp, "mac_address": x.MACAddress, "fixed_ips": ips,
		"device_id": x.DeviceID, "device_owner": x.DeviceOwner, "status": x.status(now), "security_groups": sgs,
		"allowed_address_pairs": pairs, "port_security_enabled": x.PortSecurity, "binding:host_id": x.HostID,
		"binding:profile": profile, "binding:vnic_type": x.VNICType, "binding:vif_type": vifType,
		"binding:vif_details": details, "ip_allocation": "immediate",
	}, true)
}

// netOwner: the caller owns the port's network (or is privileged).
func netOwner(c *caller, net *Network) bool { return c.privileged() || net.ProjectID == c.ProjectID }

// portFields are the validated attributes of a port request.
type portFields struct {
	set      map[string]bool
	fixed    []fixedIPRequest
	sgs      []string
	pairs    []AddressPair
	tags     []string
	portSec  bool
	admin    bool
	mac      string
	owner    string
	device   string
	host     string
	profile  map[string]any
	vnicType string
}

func parsePortFields(s *state, c *caller, net *Network, in map[string]any, create bool) (*portFields, error) {
	f := &portFields{set: map[string]bool{}, admin: true}
	action := "update_port"
	if create {
		action = "create_port"
	}
	for _, key := range sortedKeys(in) {
		v := in[key]
		f.set[key] = true
		var err error
		switch key {
		case "admin_state_up":
			f.admin, err = toBool(v)
		case "mac_address":
			if (create && !netOwner(c, net)) || (!create && !c.privileged()) {
				return nil, policyAttr(action, key)
			}
			f.mac, err = normalizeMAC(v)
		case "device_owner":
			f.owner, err = str(key, v, 255)
			if err == nil && strings.HasPrefix(f.owner, "network:") && !netOwner(c, net) {
				return nil, policyAttr(action, key)
			}
		case "device_id":
			f.device, err = str(key, v, 255)
		case "fixed_ips":
			if !netOwner(c, net) && !(create && s.sharedWith("network", net.ID, c.ProjectID)) {
				return nil, policyAttr(action, key)
			}
			if v == nil {
				f.fixed = []fixedIPRequest{}
				continue
			}
			f.fixed, err = parseFixedIPs(v)
			if err == nil && !netOwner(c, net) {
				for _, r := range f.fixed {
					if r.IPAddress != "" {
						return nil, policyAttr(action, "fixed_ips:ip_address")
					}
				}
			}
		case "security_groups":
			if v == nil {
				f.sgs = []string{}
				continue
			}
			var list []string
			if list, err = stringList(key, v); err == nil {
				for _, id := range list {
					if !isUUID(id) {
						return nil, badRequest("Invalid input for security_groups. Reason: '%s' is not a valid UUID.", id)
					}
					if !slices.Contains(f.sgs, id) {
						f.sgs = append(f.sgs, id)
					}
				}
				if f.sgs == nil {
					f.sgs = []string{}
				}
			}
		case "allowed_address_pairs":
			if !netOwner(c, net) {
				return nil, policyAttr(action, key)
			}
			f.pairs, err = parsePairs(v)
		case "port_security_enabled":
			f.portSec, err = toBool(v)
		case "binding:host_id":
			if !c.privileged() {
				return nil, policyAttr(action, key)
			}
			if v != nil {
				f.host, err = str(key, v, 255)
			}
		case "binding:profile":
			if !c.privileged() {
				return nil, policyAttr(action, key)
			}
			if v == nil {
				f.profile = nil
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, badRequest("Invalid input for binding:profile. Reason: '%s' is not a dictionary.", pyStr(v))
			}
			f.profile = m
		case "binding:vnic_type":
			var s string
			if s, err = str(key, v, 64); err == nil && !slices.Contains(vnicTypes, s) {
				return nil, badRequest("Invalid input for binding:vnic_type. Reason: %s is not in %s.", s, pyStr(vnicTypes))
			}
			f.vnicType = s
		case "tags":
			f.tags, err = parseTags(v)
		}
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// parsePairs validates allowed_address_pairs.
func parsePairs(v any) ([]AddressPair, error) {
	if v == nil {
		return []AddressPair{}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("Invalid input for allowed_address_pairs. Reason: Allowed address pairs must be a list.")
	}
	out := []AddressPair{}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, badRequest("Invalid input for allowed_address_pairs. Reason: Allowed address pairs must be a list.")
		}
		ipv, ok := m["ip_address"]
		if !ok {
			return nil, errf(http.StatusBadRequest, "AllowedAddressPairsMissingIP", "Invalid input for operation: AllowedAddressPair must contain ip_address.")
		}
		for k := range m {
			if k != "ip_address" && k != "mac_address" {
				return nil, badRequest("Invalid input for allowed_address_pairs. Reason: Unrecognized attribute(s) '%s'.", k)
			}
		}
		ip, _ := ipv.(string)
		if a, ok := parseIP(ip); ok {
			ip = a.String()
		} else if p, err := netip.ParsePrefix(ip); err == nil {
			ip = p.String()
		} else {
			return nil, badRequest("Invalid input for allowed_address_pairs. Reason: '%s' is neither a valid IP address, nor is it a valid IP subnet.", pyStr(ipv))
		}
		pair := AddressPair{IPAddress: ip}
		if mv, ok := m["mac_address"]; ok && mv != nil {
			mac, err := normalizeMAC(mv)
			if err != nil {
				return nil, err
			}
			pair.MACAddress = mac
		}
		for _, o := range out {
			if o == pair {
				return nil, errf(http.StatusBadRequest, "DuplicateAddressPairInRequest", "Invalid input for operation: Request contains duplicate address pair: mac_address %s ip_address %s.", pair.MACAddress, pair.IPAddress)
			}
		}
		out = append(out, pair)
	}
	if len(out) > 10 {
		return nil, errf(http.StatusBadRequest, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 10.")
	}
	return out, nil
}

// checkSGs: every group exists and belongs to the port's project.
func (s *state) checkSGs(project string, ids []string) error {
	for _, id := range ids {
		sg := s.SecurityGroups[id]
		if sg == nil || (sg.ProjectID != project && !s.sharedWith("security_group", id, project)) {
			return sgNotFound(id)
		}
	}
	return nil
}

func (n *Neutron) createPort(s *state, c *caller, in map[string]any) (*Port, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	netID, err := uuid("network_id", in["network_id"])
	if err != nil {
		return nil, err
	}
	net := s.Networks[netID]
	if net == nil || !s.netVisible(net, c) {
		return nil, networkNotFound(netID)
	}
	if !c.privileged() && !s.netUsable(net, project) {
		return nil, hiddenNotFound()
	}
	var std Std
	if err := setStdFields(&std, in, true); err != nil {
		return nil, err
	}
	f, err := parsePortFields(s, c, net, in, true)
	if err != nil {
		return nil, err
	}
	x := &Port{NetworkID: netID, AdminStateUp: f.admin, DeviceID: f.device, DeviceOwner: f.owner,
		PortSecurity: net.PortSecurity, HostID: f.host, Profile: f.profile, VNICType: "normal"}
	if f.set["port_security_enabled"] {
		if !netOwner(c, net) {
			return nil, policyAttr("create_port", "port_security_enabled")
		}
		x.PortSecurity = f.portSec
	}
	if f.vnicType != "" {
		x.VNICType = f.vnicType
	}
	if f.set["mac_address"] {
		if s.macInUse(netID, f.mac, "") {
			return nil, errf(http.StatusConflict, "MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", netID, f.mac)
		}
		x.MACAddress = f.mac
	} else {
		x.MACAddress = s.newMAC(netID)
	}
	x.FixedIPs, err = s.allocate(c, net, x.DeviceOwner, x.MACAddress, f.fixed, !f.set["fixed_ips"], nil)
	if err != nil {
		return nil, err
	}
	// Security groups: the project's default unless given; none on
	// Neutron's own ports or without port security.
	isNetDevice := strings.HasPrefix(x.DeviceOwner, "network:")
	switch {
	case f.set["security_groups"]:
		if len(f.sgs) > 0 && !x.PortSecurity {
			return nil, errf(http.StatusBadRequest, "PortSecurityAndIPRequiredForSecurityGroups", "Invalid input for operation: Port security must be enabled and port must have an IP address in order to use security groups.")
		}
		if err := s.checkSGs(project, f.sgs); err != nil {
			return nil, err
		}
		x.SecurityGroups = f.sgs
	case x.PortSecurity && !isNetDevice:
		x.SecurityGroups = nil // filled below, once the default group exists
	default:
		x.SecurityGroups = []string{}
	}
	if f.set["allowed_address_pairs"] {
		if len(f.pairs) > 0 && !x.PortSecurity {
			return nil, errf(http.StatusConflict, "AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
		}
		for i := range f.pairs {
			if f.pairs[i].MACAddress == "" {
				f.pairs[i].MACAddress = x.MACAddress
			}
		}
		x.AddressPairs = f.pairs
	}
	if err := s.checkQuota(project, "port", 1); err != nil {
		return nil, err
	}
	x.Std = n.newStd(s, project)
	x.Name, x.Description, x.Tags = std.Name, std.Description, f.tags
	if x.SecurityGroups == nil {
		if sg := n.ensureDefaultSG(s, project); sg != "" {
			x.SecurityGroups = []string{sg}
		}
	}
	if x.DeviceOwner != "" {
		x.Life = core.Begin(n.env, "DOWN", "ACTIVE")
	} else {
		x.Life.Set("DOWN")
	}
	s.Ports[x.ID] = x
	return x, nil
}

func (n *Neutron) updatePort(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.port(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) && !c.service {
		return policyRefused("rule:update_port")
	}
	net := s.Networks[x.NetworkID]
	var std = x.Std
	if err := setStdFields(&std, in, true); err != nil {
		return err
	}
	if _, ok := in["tags"]; ok {
		return badRequest("Cannot update read-only attribute tags")
	}
	f, err := parsePortFields(s, c, net, in, false)
	if err != nil {
		return err
	}
	cp := *x
	if f.set["admin_state_up"] {
		cp.AdminStateUp = f.admin
	}
	if f.set["device_id"] {
		cp.DeviceID = f.device
	}
	if f.set["device_owner"] {
		cp.DeviceOwner = f.owner
	}
	if f.set["binding:host_id"] {
		cp.HostID = f.host
	}
	if f.set["binding:profile"] {
		cp.Profile = f.profile
	}
	if f.set["binding:vnic_type"] {
		cp.VNICType = f.vnicType
	}
	if f.set["mac_address"] {
		if s.macInUse(x.NetworkID, f.mac, x.ID) {
			return errf(http.StatusConflict, "MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", x.NetworkID, f.mac)
		}
		cp.MACAddress = f.mac
	}
	if f.set["port_security_enabled"] {
		if !netOwner(c, net) {
			return policyAttr("update_port", "port_security_enabled")
		}
		cp.PortSecurity = f.portSec
	}
	if f.set["fixed_ips"] {
		ips, err := s.allocate(c, net, cp.DeviceOwner, cp.MACAddress, f.fixed, false, x.FixedIPs)
		if err != nil {
			return err
		}
		cp.FixedIPs = ips
	}
	if f.set["security_groups"] {
		if err := s.checkSGs(x.ProjectID, f.sgs); err != nil {
			return err
		}
		cp.SecurityGroups = f.sgs
	}
	if !cp.PortSecurity && len(cp.SecurityGroups) > 0 {
		if f.set["security_groups"] {
			return errf(http.StatusBadRequest, "PortSecurityAndIPRequiredForSecurityGroups", "Invalid input for operation: Port security must be enabled and port must have an IP address in order to use security groups.")
		}
		return errf(http.StatusConflict, "PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or IP address until security group is removed.")
	}
	if f.set["allowed_address_pairs"] {
		for i := range f.pairs {
			if f.pairs[i].MACAddress == "" {
				f.pairs[i].MACAddress = cp.MACAddress
			}
		}
		cp.AddressPairs = f.pairs
	}
	if !cp.PortSecurity && len(cp.AddressPairs) > 0 {
		return errf(http.StatusConflict, "AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
	}
	if x.DeviceOwner == "" && cp.DeviceOwner != "" {
		cp.Life = core.Begin(n.env, "DOWN", "ACTIVE")
	} else if cp.DeviceOwner == "" {
		cp.Life.Set("DOWN")
	}
	// An IP a floating IP is bound to may not go away.
	for _, fip := range s.FloatingIPs {
		if fip.PortID != nil && *fip.PortID == x.ID && fip.FixedIPAddress != nil {
			kept := false
			for _, ip := range cp.FixedIPs {
				kept = kept || ip.IPAddress == *fip.FixedIPAddress
			}
			if !kept {
				return errf(http.StatusConflict, "PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.", x.ID, x.NetworkID, fip.ID)
			}
		}
	}
	cp.Name, cp.Description = std.Name, std.Description
	*x = cp
	n.touch(&x.Std)
	return nil
}

// routerOwned are the device owners a port delete refuses.
var routerOwned = []string{ownerRouterInterface, ownerRouterGateway, ownerFloatingIP, "network:router_interface_distributed", "network:ha_router_replicated_interface"}

func (n *Neutron) deletePort(s *state, c *caller, id string) error {
	x, err := s.port(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) && !c.service {
		if net := s.Networks[x.NetworkID]; net == nil || net.ProjectID != c.ProjectID {
			return policyRefused("rule:delete_port")
		}
	}
	if slices.Contains(routerOwned, x.DeviceOwner) && x.DeviceID != "" {
		if _, ok := s.Routers[x.DeviceID]; ok || x.DeviceOwner == ownerFloatingIP {
			return errf(http.StatusConflict, "ServicePortInUse", "Port %s cannot be deleted directly via the port API: has device owner %s.", id, x.DeviceOwner)
		}
	}
	n.removePort(s, id)
	return nil
}

// removePort deletes a port and disassociates its floating IPs.
func (n *Neutron) removePort(s *state, id string) {
	for _, fip := range s.FloatingIPs {
		if fip.PortID != nil && *fip.PortID == id {
			fip.PortID, fip.FixedIPAddress, fip.RouterID = nil, nil, nil
			fip.Life.Set("DOWN")
			n.touch(&fip.Std)
		}
	}
	delete(s.Ports, id)
}
