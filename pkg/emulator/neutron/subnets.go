package neutron

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

var subnetKind = &kind{
	path: "subnets", collection: "subnets", resource: "subnet", tagged: true, bulk: true,
	attrs: attrs(`id: name:pu description:pu ip_version:pr network_id:pr subnetpool_id:p prefixlen:p cidr:p
		gateway_ip:pu allocation_pools:pu dns_nameservers:pu host_routes:pu tenant_id:p project_id:p
		enable_dhcp:pu ipv6_ra_mode:p ipv6_address_mode:p shared: use_default_subnetpool:p service_types:pu
		segment_id:pu created_at: updated_at: revision_number: tags:`),
	filters: filters(`id name description ip_version:i network_id subnetpool_id cidr gateway_ip tenant_id project_id
		enable_dhcp:b ipv6_ra_mode ipv6_address_mode shared:b segment_id service_types:c revision_number:i created_at updated_at`),
	sorts:  []string{"id", "name", "ip_version", "network_id", "subnetpool_id", "cidr", "gateway_ip", "tenant_id", "project_id", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode", "created_at", "updated_at", "revision_number"},
	hidden: []string{"shared"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.Subnets) {
			if x.visible(c, s) {
				out = append(out, x.body(s))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.subnet(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(s), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		x, err := n.createSubnet(s, c, in)
		if err != nil {
			return "", err
		}
		return x.ID, nil
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateSubnet(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error { return n.deleteSubnet(s, c, id) },
	std: func(s *state, c *caller, id string) (*Std, error) {
		x, err := s.subnet(c, id)
		if err != nil {
			return nil, err
		}
		return &x.Std, nil
	},
}

func init() { kinds = append(kinds, subnetKind) }

func subnetNotFound(id string) error {
	return errf(http.StatusNotFound, "SubnetNotFound", "Subnet %s could not be found.", id)
}

// visible is get_subnet's policy: the owner, subnets of shared networks,
// admins.
func (x *Subnet) visible(c *caller, s *state) bool {
	if c.owns(x.ProjectID) {
		return true
	}
	net := s.Networks[x.NetworkID]
	return net != nil && s.sharedWith("network", net.ID, c.ProjectID)
}

func (s *state) subnet(c *caller, id string) (*Subnet, error) {
	x := s.Subnets[id]
	if x == nil || !x.visible(c, s) {
		return nil, subnetNotFound(id)
	}
	return x, nil
}

func (x *Subnet) body(s *state) map[string]any {
	pools := make([]map[string]any, 0, len(x.Pools))
	for _, p := range x.Pools {
		pools = append(pools, map[string]any{"start": p.Start, "end": p.End})
	}
	routes := make([]map[string]any, 0, len(x.HostRoutes))
	for _, r := range x.HostRoutes {
		routes = append(routes, map[string]any{"destination": r.Destination, "nexthop": r.Nexthop})
	}
	dns := x.DNS
	if dns == nil {
		dns = []string{}
	}
	st := x.ServiceTypes
	if st == nil {
		st = []string{}
	}
	shared := false
	if net := s.Networks[x.NetworkID]; net != nil {
		shared = net.Shared
	}
	return x.put(map[string]any{
		"network_id": x.NetworkID, "ip_version": x.IPVersion, "cidr": x.CIDR, "gateway_ip": strPtr(x.GatewayIP),
		"allocation_pools": pools, "dns_nameservers": dns, "host_routes": routes, "enable_dhcp": x.EnableDHCP,
		"ipv6_ra_mode": strPtr(x.RAMode), "ipv6_address_mode": strPtr(x.AddressMode), "subnetpool_id": strPtr(x.SubnetPoolID),
		"service_types": st, "segment_id": nil, "shared": shared,
	}, true)
}

func strPtr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

var ipv6Modes = []string{"dhcpv6-stateful", "dhcpv6-stateless", "slaac"}

// parseCIDR validates type:subnet_or_none.
func parseCIDR(v any) (netip.Prefix, error) {
	s, _ := v.(string)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, ok := parseIP(s); ok {
			// A bare address is a host route's /32 or /128: Neutron refuses it.
			return netip.Prefix{}, badRequest("Invalid input for cidr. Reason: '%s' isn't a recognized IP subnet cidr, '%s/%d' is recommended.", s, a, a.BitLen())
		}
		return netip.Prefix{}, badRequest("Invalid input for cidr. Reason: '%s' is not a valid IP subnet.", pyStr(v))
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
	if p.Masked() != p {
		return netip.Prefix{}, badRequest("Invalid input for cidr. Reason: '%s' isn't a recognized IP subnet cidr, '%s' is recommended.", s, p.Masked())
	}
	return p, nil
}

// parseIPAttr validates type:ip_address.
func parseIPAttr(name string, v any) (netip.Addr, error) {
	s, _ := v.(string)
	a, ok := parseIP(s)
	if !ok {
		return netip.Addr{}, badRequest("Invalid input for %s. Reason: '%s' is not a valid IP address.", name, pyStr(v))
	}
	return a, nil
}

func checkVersion(name string, a netip.Addr, version int) error {
	if (version == 4) != a.Is4() {
		return invalidInput("%s '%s' does not match the ip_version '%d'", name, a, version)
	}
	return nil
}

// subnetFields are the validated mutable fields of a subnet request.
type subnetFields struct {
	set map[string]bool
	gw  *string
	// pools, dns and routes as given (nil when absent).
	pools  []Pool
	dns    []string
	routes []Route
	dhcp   bool
	types  []string
}

func parseSubnetFields(c *caller, in map[string]any, create bool) (*subnetFields, error) {
	f := &subnetFields{set: map[string]bool{}, dhcp: true}
	action := "update_subnet"
	if create {
		action = "create_subnet"
	}
	for _, key := range sortedKeys(in) {
		v := in[key]
		f.set[key] = true
		switch key {
		case "gateway_ip":
			if v != nil {
				a, err := parseIPAttr(key, v)
				if err != nil {
					return nil, err
				}
				s := a.String()
				f.gw = &s
			}
		case "allocation_pools":
			list, ok := v.([]any)
			if !ok {
				return nil, badRequest("Invalid input for allocation_pools. Reason: Invalid data format for IP pool: '%s'.", pyStr(v))
			}
			f.pools = []Pool{}
			for _, e := range list {
				m, ok := e.(map[string]any)
				start, _ := m["start"].(string)
				end, _ := m["end"].(string)
				if !ok || len(m) != 2 || start == "" || end == "" {
					return nil, badRequest("Invalid input for allocation_pools. Reason: Invalid data format for IP pool: '%s'.", pyStr(e))
				}
				sa, ok1 := parseIP(start)
				ea, ok2 := parseIP(end)
				if !ok1 {
					return nil, badRequest("Invalid input for allocation_pools. Reason: '%s' is not a valid IP address.", start)
				}
				if !ok2 {
					return nil, badRequest("Invalid input for allocation_pools. Reason: '%s' is not a valid IP address.", end)
				}
				f.pools = append(f.pools, Pool{sa.String(), ea.String()})
			}
		case "dns_nameservers":
			list, err := stringList(key, v)
			if err != nil {
				return nil, err
			}
			f.dns = []string{}
			for _, d := range list {
				a, ok := parseIP(d)
				if !ok {
					return nil, badRequest("Invalid input for dns_nameservers. Reason: '%s' is not a valid nameserver. '%s' is not a valid IP address.", d, d)
				}
				if slices.Contains(f.dns, a.String()) {
					return nil, badRequest("Invalid input for dns_nameservers. Reason: Duplicate nameserver '%s'.", d)
				}
				f.dns = append(f.dns, a.String())
			}
		case "host_routes":
			list, ok := v.([]any)
			if v != nil && !ok {
				return nil, badRequest("Invalid input for host_routes. Reason: Invalid data format for hostroute: '%s'.", pyStr(v))
			}
			f.routes = []Route{}
			for _, e := range list {
				r, err := parseRoute("host_routes", e)
				if err != nil {
					return nil, err
				}
				if slices.Contains(f.routes, r) {
					return nil, badRequest("Invalid input for host_routes. Reason: Duplicate hostroute '%s'.", pyStr(e))
				}
				f.routes = append(f.routes, r)
			}
		case "enable_dhcp":
			b, err := toBool(v)
			if err != nil {
				return nil, err
			}
			f.dhcp = b
		case "service_types":
			if !c.admin() {
				return nil, policyAttr(action, key)
			}
			list, err := stringList(key, v)
			if err != nil {
				return nil, err
			}
			f.types = list
		case "segment_id":
			if v != nil && !c.admin() {
				return nil, policyAttr(action, key)
			}
			if v != nil {
				return nil, errf(http.StatusNotFound, "SegmentNotFound", "Segment %s could not be found.", pyStr(v))
			}
		}
	}
	return f, nil
}

// parseRoute validates one {destination, nexthop}.
func parseRoute(attrName string, e any) (Route, error) {
	m, ok := e.(map[string]any)
	dest, _ := m["destination"].(string)
	hop, _ := m["nexthop"].(string)
	if !ok || len(m) != 2 || dest == "" || hop == "" {
		return Route{}, badRequest("Invalid input for %s. Reason: Invalid data format for hostroute: '%s'.", attrName, pyStr(e))
	}
	p, err := netip.ParsePrefix(dest)
	if err != nil || p.Masked() != p {
		return Route{}, badRequest("Invalid input for %s. Reason: '%s' is not a valid CIDR.", attrName, dest)
	}
	a, ok := parseIP(hop)
	if !ok {
		return Route{}, badRequest("Invalid input for %s. Reason: '%s' is not a valid IP address.", attrName, hop)
	}
	return Route{p.String(), a.String()}, nil
}

// checkPools validates allocation pools against the subnet and gateway.
func checkPools(pools []Pool, p netip.Prefix, gw *string) error {
	for _, pool := range pools {
		s, _ := parseIP(pool.Start)
		e, _ := parseIP(pool.End)
		if s.BitLen() != p.Addr().BitLen() || e.BitLen() != p.Addr().BitLen() || s.Compare(e) > 0 {
			return errf(http.StatusBadRequest, "InvalidAllocationPool", "The allocation pool %s is not valid.", pool)
		}
		if !p.Contains(s) || !p.Contains(e) {
			return errf(http.StatusBadRequest, "OutOfBoundsAllocationPool", "The allocation pool %s spans beyond the subnet cidr %s.", pool, p)
		}
	}
	for i := range pools {
		for j := i + 1; j < len(pools); j++ {
			a, b := pools[i], pools[j]
			as, _ := parseIP(a.Start)
			bs, _ := parseIP(b.Start)
			if a.contains(bs) || b.contains(as) {
				return errf(http.StatusConflict, "OverlappingAllocationPools", "Found overlapping allocation pools: %s %s for subnet %s.", a, b, p)
			}
		}
	}
	if gw != nil {
		g, _ := parseIP(*gw)
		for _, pool := range pools {
			if pool.contains(g) {
				return errf(http.StatusConflict, "GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s.", *gw, pool)
			}
		}
	}
	return nil
}

func (n *Neutron) createSubnet(s *state, c *caller, in map[string]any) (*Subnet, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	netID, err := uuid("network_id", in["network_id"])
	if err != nil {
		return nil, err
	}
	version, err := toInt(in["ip_version"])
	if err != nil {
		return nil, err
	}
	if version != 4 && version != 6 {
		return nil, badRequest("Invalid input for ip_version. Reason: %d is not in [4, 6].", version)
	}
	f, err := parseSubnetFields(c, in, true)
	if err != nil {
		return nil, err
	}
	var std Std
	if err := setStdFields(&std, in, true); err != nil {
		return nil, err
	}
	var ra, am *string
	for _, key := range []string{"ipv6_ra_mode", "ipv6_address_mode"} {
		v, ok := in[key]
		if !ok || v == nil {
			continue
		}
		sv, _ := v.(string)
		if !slices.Contains(ipv6Modes, sv) {
			return nil, badRequest("Invalid input for %s. Reason: %s is not in %s.", key, pyStr(v), pyStr(ipv6Modes))
		}
		if version == 4 {
			return nil, invalidInput("%s is not valid when ip_version is 4", key)
		}
		if key == "ipv6_ra_mode" {
			ra = &sv
		} else {
			am = &sv
		}
	}
	if ra != nil && am != nil && *ra != *am {
		return nil, invalidInput("ipv6_ra_mode set to '%s' with ipv6_address_mode set to '%s' is not valid. If both attributes are set, they must be the same value", *ra, *am)
	}
	net := s.Networks[netID]
	if net == nil || !s.netVisible(net, c) {
		return nil, networkNotFound(netID)
	}
	if !c.privileged() && !s.netUsable(net, project) {
		return nil, hiddenNotFound()
	}
	// The prefix: given, or from a subnet pool.
	_, hasCIDR := in["cidr"]
	var prefix netip.Prefix
	var poolID *string
	if v, ok := in["subnetpool_id"]; ok && v != nil {
		id, err := uuid("subnetpool_id", v)
		if err != nil {
			return nil, err
		}
		poolID = &id
	}
	if b, ok := in["use_default_subnetpool"]; ok {
		use, err := toBool(b)
		if err != nil {
			return nil, err
		}
		if use {
			if poolID != nil {
				return nil, badResource("subnets", "subnetpool_id and use_default_subnetpool cannot both be specified")
			}
			for _, p := range byCreation(s.SubnetPools) {
				if p.IsDefault && p.IPVersion == version {
					id := p.ID
					poolID = &id
				}
			}
			if poolID == nil {
				return nil, badResource("subnets", "No default subnetpool found for IPv%d", version)
			}
		}
	}
	if hasCIDR && in["prefixlen"] != nil {
		return nil, badResource("subnets", "cidr and prefixlen must not be supplied together")
	}
	if hasCIDR && in["cidr"] != nil {
		if prefix, err = parseCIDR(in["cidr"]); err != nil {
			return nil, err
		}
		if err := checkVersion("cidr", prefix.Addr(), version); err != nil {
			return nil, err
		}
	}
	if poolID != nil {
		pool := s.SubnetPools[*poolID]
		if pool == nil || !s.subnetPoolVisible(pool, c) {
			return nil, errf(http.StatusNotFound, "SubnetPoolNotFound", "Subnet pool %s could not be found.", *poolID)
		}
		if pool.IPVersion != version {
			return nil, badResource("subnets", "Cannot allocate IPv%d subnet from IPv%d subnet pool", version, pool.IPVersion)
		}
		if f.set["allocation_pools"] && !prefix.IsValid() {
			return nil, badResource("subnets", "allocation_pools allowed only for specific subnet requests.")
		}
		if prefix, err = s.allocateFromPool(pool, prefix, in["prefixlen"]); err != nil {
			return nil, err
		}
	} else if !prefix.IsValid() {
		if f.set["prefixlen"] {
			return nil, badResource("subnets", "a subnetpool must be specified in the absence of a cidr")
		}
		return nil, badResource("subnets", "a subnetpool must be specified in the absence of a cidr")
	}
	if prefix.Bits() == 0 {
		return nil, invalidInput("0 is not allowed as CIDR prefix length")
	}
	if f.dhcp && ((version == 4 && prefix.Bits() > 30) || (version == 6 && prefix.Bits() > 126)) {
		return nil, invalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
	}
	if am != nil && *am != "dhcpv6-stateful" && prefix.Bits() != 64 {
		return nil, invalidInput("Invalid CIDR %s for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64", prefix)
	}
	// The gateway: the first address unless given (or null).
	gw := f.gw
	if !f.set["gateway_ip"] {
		first := prefix.Masked().Addr().Next()
		if version == 6 {
			first = prefix.Masked().Addr().Next()
		}
		if prefix.Contains(first) && !(version == 4 && prefix.Bits() >= 31) {
			g := first.String()
			gw = &g
		}
	}
	if gw != nil {
		g, _ := parseIP(*gw)
		if err := checkVersion("gateway_ip", g, version); err != nil {
			return nil, err
		}
		if version == 4 && prefix.Contains(g) && (g == prefix.Masked().Addr() || g == lastAddr(prefix)) {
			return nil, invalidInput("Gateway is not valid on subnet")
		}
	}
	pools := f.pools
	if pools == nil {
		pools = defaultPools(prefix, gw)
	} else if err := checkPools(pools, prefix, gw); err != nil {
		return nil, err
	}
	for _, d := range f.dns {
		a, _ := parseIP(d)
		if err := checkVersion("dns_nameserver", a, version); err != nil {
			return nil, err
		}
	}
	if len(f.dns) > 5 {
		return nil, errf(http.StatusBadRequest, "DNSNameServersExhausted", "Unable to complete operation for new subnet. The number of DNS nameservers exceeds the limit 5.")
	}
	for _, r := range f.routes {
		if err := checkRoute(r, version); err != nil {
			return nil, err
		}
	}
	if len(f.routes) > 20 {
		return nil, errf(http.StatusBadRequest, "HostRoutesExhausted", "Unable to complete operation for new subnet. The number of host routes exceeds the limit 20.")
	}
	for _, o := range s.subnetsOf(netID) {
		if mustPrefix(o.CIDR).Overlaps(prefix) {
			return nil, invalidInput("Requested subnet with cidr: %s for network: %s overlaps with another subnet", prefix, netID)
		}
	}
	if err := s.checkQuota(project, "subnet", 1); err != nil {
		return nil, err
	}
	x := &Subnet{NetworkID: netID, IPVersion: version, CIDR: prefix.String(), GatewayIP: gw, Pools: pools,
		DNS: f.dns, HostRoutes: f.routes, EnableDHCP: f.dhcp, RAMode: ra, AddressMode: am, SubnetPoolID: poolID,
		ServiceTypes: f.types}
	x.Std = n.newStd(s, project)
	x.Name, x.Description = std.Name, std.Description
	s.Subnets[x.ID] = x
	n.touch(&net.Std)
	return x, nil
}

// checkRoute is _validate_host_route: the nexthop and destination must be
// of the subnet's version.
func checkRoute(r Route, version int) error {
	d := mustPrefix(r.Destination)
	h, _ := parseIP(r.Nexthop)
	if (version == 4) != d.Addr().Is4() || (version == 4) != h.Is4() {
		return invalidInput("Invalid route: %s", pyStr(map[string]any{"destination": r.Destination, "nexthop": r.Nexthop}))
	}
	return nil
}

func (n *Neutron) updateSubnet(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.subnet(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		if net := s.Networks[x.NetworkID]; net == nil || !c.owns(net.ProjectID) {
			return policyRefused("rule:update_subnet")
		}
	}
	f, err := parseSubnetFields(c, in, false)
	if err != nil {
		return err
	}
	var std = x.Std
	if err := setStdFields(&std, in, true); err != nil {
		return err
	}
	prefix := mustPrefix(x.CIDR)
	gw := x.GatewayIP
	if f.set["gateway_ip"] {
		gw = f.gw
		if gw != nil {
			g, _ := parseIP(*gw)
			if err := checkVersion("gateway_ip", g, x.IPVersion); err != nil {
				return err
			}
			if x.IPVersion == 4 && prefix.Contains(g) && (g == prefix.Masked().Addr() || g == lastAddr(prefix)) {
				return invalidInput("Gateway is not valid on subnet")
			}
		}
		if x.GatewayIP != nil && (gw == nil || *gw != *x.GatewayIP) {
			for _, p := range byCreation(s.Ports) {
				if strings.HasPrefix(p.DeviceOwner, "network:router_interface") && holdsIP(p, x.ID, *x.GatewayIP) {
					return errf(http.StatusConflict, "GatewayIpInUse", "Current gateway ip %s already in use by port %s. Unable to update.", *x.GatewayIP, p.ID)
				}
			}
		}
	}
	pools := x.Pools
	if f.set["allocation_pools"] {
		pools = f.pools
	}
	if f.set["allocation_pools"] || f.set["gateway_ip"] {
		if err := checkPools(pools, prefix, gw); err != nil {
			return err
		}
	}
	for _, d := range f.dns {
		a, _ := parseIP(d)
		if err := checkVersion("dns_nameserver", a, x.IPVersion); err != nil {
			return err
		}
	}
	if len(f.dns) > 5 {
		return errf(http.StatusBadRequest, "DNSNameServersExhausted", "Unable to complete operation for %s. The number of DNS nameservers exceeds the limit 5.", x.ID)
	}
	for _, r := range f.routes {
		if err := checkRoute(r, x.IPVersion); err != nil {
			return err
		}
	}
	if f.set["enable_dhcp"] && f.dhcp && !x.EnableDHCP && ((x.IPVersion == 4 && prefix.Bits() > 30) || (x.IPVersion == 6 && prefix.Bits() > 126)) {
		return invalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
	}
	x.Name, x.Description = std.Name, std.Description
	x.GatewayIP, x.Pools = gw, pools
	if f.set["dns_nameservers"] {
		x.DNS = f.dns
	}
	if f.set["host_routes"] {
		x.HostRoutes = f.routes
	}
	if f.set["enable_dhcp"] {
		x.EnableDHCP = f.dhcp
	}
	if f.set["service_types"] {
		x.ServiceTypes = f.types
	}
	n.touch(&x.Std)
	return nil
}

func holdsIP(p *Port, subnetID, ip string) bool {
	for _, f := range p.FixedIPs {
		if f.SubnetID == subnetID && f.IPAddress == ip {
			return true
		}
	}
	return false
}

func (n *Neutron) deleteSubnet(s *state, c *caller, id string) error {
	x, err := s.subnet(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		if net := s.Networks[x.NetworkID]; net == nil || !c.owns(net.ProjectID) {
			return policyRefused("rule:delete_subnet")
		}
	}
	for _, p := range s.Ports {
		if slices.Contains(autoDeletedOwners, p.DeviceOwner) {
			continue
		}
		for _, f := range p.FixedIPs {
			if f.SubnetID == id {
				return errf(http.StatusConflict, "SubnetInUse", "Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
			}
		}
	}
	for _, p := range s.Ports {
		kept := p.FixedIPs[:0]
		for _, f := range p.FixedIPs {
			if f.SubnetID != id {
				kept = append(kept, f)
			}
		}
		p.FixedIPs = kept
	}
	delete(s.Subnets, id)
	if net := s.Networks[x.NetworkID]; net != nil {
		n.touch(&net.Std)
	}
	return nil
}
