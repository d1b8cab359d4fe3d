package neutron

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// parseIP parses an address as Neutron's validators accept it.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 1 << (7 - j)
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// defaultPools is ipam.utils.generate_pools: the prefix without its
// network address (and broadcast in IPv4 up to /30), around the gateway.
func defaultPools(p netip.Prefix, gateway *string) []Pool {
	first, last := p.Masked().Addr(), lastAddr(p)
	if first == last {
		return []Pool{{first.String(), last.String()}}
	}
	if p.Addr().Is4() {
		if p.Bits() <= 30 {
			first, last = first.Next(), last.Prev()
		}
	} else {
		first = first.Next()
	}
	if gateway == nil {
		return []Pool{{first.String(), last.String()}}
	}
	gw, _ := parseIP(*gateway)
	if gw.Compare(first) < 0 || gw.Compare(last) > 0 {
		return []Pool{{first.String(), last.String()}}
	}
	var out []Pool
	if gw != first {
		out = append(out, Pool{first.String(), gw.Prev().String()})
	}
	if gw != last {
		out = append(out, Pool{gw.Next().String(), last.String()})
	}
	return out
}

func (p Pool) String() string { return p.Start + "-" + p.End }

func (p Pool) contains(a netip.Addr) bool {
	s, _ := parseIP(p.Start)
	e, _ := parseIP(p.End)
	return a.Compare(s) >= 0 && a.Compare(e) <= 0
}

// usedIPs are the subnet's addresses held by ports.
func (s *state) usedIPs(subnetID string) map[netip.Addr]bool {
	used := map[netip.Addr]bool{}
	for _, p := range s.Ports {
		for _, ip := range p.FixedIPs {
			if ip.SubnetID == subnetID {
				if a, ok := parseIP(ip.IPAddress); ok {
					used[a] = true
				}
			}
		}
	}
	return used
}

// autoAddress reports whether the subnet's addresses come from the MAC
// (SLAAC and DHCPv6-stateless) rather than from the pools.
func (sub *Subnet) autoAddress() bool {
	return sub.IPVersion == 6 && sub.AddressMode != nil && (*sub.AddressMode == "slaac" || *sub.AddressMode == "dhcpv6-stateless")
}

// eui64 is the SLAAC address of a MAC in a /64.
func eui64(prefix netip.Prefix, mac string) (netip.Addr, bool) {
	var m [6]byte
	if _, err := fmt.Sscanf(mac, "%02x:%02x:%02x:%02x:%02x:%02x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]); err != nil {
		return netip.Addr{}, false
	}
	b := prefix.Masked().Addr().As16()
	b[8], b[9], b[10], b[11] = m[0]^0x02, m[1], m[2], 0xff
	b[12], b[13], b[14], b[15] = 0xfe, m[3], m[4], m[5]
	return netip.AddrFrom16(b), true
}

// nextFree returns the first free address of the subnet's pools.
func (s *state) nextFree(sub *Subnet, taken map[netip.Addr]bool) (netip.Addr, bool) {
	used := s.usedIPs(sub.ID)
	for _, pool := range sub.Pools {
		a, _ := parseIP(pool.Start)
		e, _ := parseIP(pool.End)
		for tries := 0; a.IsValid() && a.Compare(e) <= 0 && tries < 1<<20; tries++ {
			if !used[a] && !taken[a] {
				return a, true
			}
			a = a.Next()
		}
	}
	return netip.Addr{}, false
}

func ipGenerationFailure(networkID string) error {
	return errf(http.StatusConflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", networkID)
}

func ipInUse(networkID, ip string) error {
	return errf(http.StatusConflict, "IpAddressInUse", "Unable to complete operation for network %s. The IP address %s is in use.", networkID, ip)
}

// serviceAllows: a subnet with service types gives addresses only to
// ports whose device owner is one of them.
func (sub *Subnet) serviceAllows(owner string) bool {
	if len(sub.ServiceTypes) == 0 {
		return true
	}
	for _, t := range sub.ServiceTypes {
		if t == owner {
			return true
		}
	}
	return false
}

// subnetsOf returns the network's subnets in creation order.
func (s *state) subnetsOf(networkID string) []*Subnet {
	var out []*Subnet
	for _, sub := range byCreation(s.Subnets) {
		if sub.NetworkID == networkID {
			out = append(out, sub)
		}
	}
	return out
}

// fixedIPRequest is one entry of a port's fixed_ips.
type fixedIPRequest struct {
	SubnetID  string
	IPAddress string
}

// parseFixedIPs validates type:fixed_ips.
func parseFixedIPs(v any) ([]fixedIPRequest, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '%s'.", pyStr(v))
	}
	var out []fixedIPRequest
	seen := map[string]bool{}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '%s'.", pyStr(e))
		}
		var req fixedIPRequest
		for k, val := range m {
			switch k {
			case "ip_address":
				sv, _ := val.(string)
				a, ok := parseIP(sv)
				if !ok {
					return nil, badRequest("Invalid input for fixed_ips. Reason: '%s' is not a valid IP address.", pyStr(val))
				}
				if seen[a.String()] {
					return nil, badRequest("Invalid input for fixed_ips. Reason: Duplicate IP address '%s'.", sv)
				}
				seen[a.String()] = true
				req.IPAddress = a.String()
			case "subnet_id":
				sv, _ := val.(string)
				if !isUUID(sv) {
					return nil, badRequest("Invalid input for fixed_ips. Reason: '%s' is not a valid UUID.", pyStr(val))
				}
				req.SubnetID = sv
			default:
				return nil, badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '%s'.", pyStr(e))
			}
		}
		if req.SubnetID == "" && req.IPAddress == "" {
			return nil, invalidInput("IP allocation requires subnet_id or ip_address")
		}
		out = append(out, req)
	}
	return out, nil
}

// allocate returns the port's fixed IPs on the network: the requested ones
// (validated), or by default one IPv4 address, an address of every SLAAC
// subnet and one of the first DHCPv6-stateful subnet. It does not change
// the state.
func (s *state) allocate(c *caller, net *Network, owner, mac string, req []fixedIPRequest, defaulted bool, keep []FixedIP) ([]FixedIP, error) {
	subnets := s.subnetsOf(net.ID)
	taken := map[netip.Addr]bool{}
	var out []FixedIP
	if !defaulted {
		for _, r := range req {
			var sub *Subnet
			if r.SubnetID != "" {
				for _, x := range subnets {
					if x.ID == r.SubnetID {
						sub = x
					}
				}
				if sub == nil {
					if other := s.Subnets[r.SubnetID]; other == nil || !other.visible(c, s) {
						return nil, subnetNotFound(r.SubnetID)
					}
					return nil, invalidInput("Failed to create port on network %s, because fixed_ips included invalid subnet %s", net.ID, r.SubnetID)
				}
			}
			if r.IPAddress == "" {
				if sub.autoAddress() {
					a, _ := eui64(mustPrefix(sub.CIDR), mac)
					out = append(out, FixedIP{sub.ID, a.String()})
					continue
				}
				a, ok := s.nextFree(sub, taken)
				if !ok {
					return nil, ipGenerationFailure(net.ID)
				}
				taken[a] = true
				out = append(out, FixedIP{sub.ID, a.String()})
				continue
			}
			a, _ := parseIP(r.IPAddress)
			if sub == nil {
				if len(subnets) == 0 {
					return nil, invalidInput("IP allocation requires subnets for network")
				}
				for _, x := range subnets {
					if mustPrefix(x.CIDR).Contains(a) {
						sub = x
						break
					}
				}
				if sub == nil {
					return nil, errf(http.StatusBadRequest, "InvalidIpForNetwork", "IP address %s is not a valid IP for any of the subnets on the specified network.", r.IPAddress)
				}
			}
			p := mustPrefix(sub.CIDR)
			if !p.Contains(a) || (a.Is4() && p.Bits() <= 30 && (a == p.Masked().Addr() || a == lastAddr(p))) {
				return nil, errf(http.StatusBadRequest, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", r.IPAddress)
			}
			if taken[a] || s.usedIPs(sub.ID)[a] && !holds(keep, sub.ID, a) {
				return nil, ipInUse(net.ID, a.String())
			}
			taken[a] = true
			out = append(out, FixedIP{sub.ID, a.String()})
		}
		return out, nil
	}
	var v4Done, v6StatefulDone, v4Tried bool
	for _, sub := range subnets {
		if !sub.serviceAllows(owner) {
			continue
		}
		switch {
		case sub.IPVersion == 4:
			if v4Done {
				continue
			}
			v4Tried = true
			if a, ok := s.nextFree(sub, taken); ok {
				taken[a] = true
				out = append(out, FixedIP{sub.ID, a.String()})
				v4Done = true
			}
		case sub.autoAddress():
			if strings.HasPrefix(owner, "network:router") {
				continue // routers take the gateway, not a SLAAC address
			}
			if a, ok := eui64(mustPrefix(sub.CIDR), mac); ok {
				out = append(out, FixedIP{sub.ID, a.String()})
			}
		default:
			if v6StatefulDone {
				continue
			}
			if a, ok := s.nextFree(sub, taken); ok {
				taken[a] = true
				out = append(out, FixedIP{sub.ID, a.String()})
				v6StatefulDone = true
			}
		}
	}
	if v4Tried && !v4Done {
		return nil, ipGenerationFailure(net.ID)
	}
	return out, nil
}

func holds(keep []FixedIP, subnetID string, a netip.Addr) bool {
	for _, k := range keep {
		if k.SubnetID == subnetID && k.IPAddress == a.String() {
			return true
		}
	}
	return false
}

func mustPrefix(cidr string) netip.Prefix {
	p, _ := netip.ParsePrefix(cidr)
	return p
}

// newMAC returns a free fa:16:3e MAC on the network, as Neutron's
// base_mac does.
func (s *state) newMAC(networkID string) string {
	for {
		var b [3]byte
		_, _ = rand.Read(b[:])
		mac := fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
		if !s.macInUse(networkID, mac, "") {
			return mac
		}
	}
}

func (s *state) macInUse(networkID, mac, except string) bool {
	for _, p := range s.Ports {
		if p.NetworkID == networkID && p.MACAddress == mac && p.ID != except {
			return true
		}
	}
	return false
}

// normalizeMAC validates type:mac_address and lower-cases it.
func normalizeMAC(v any) (string, error) {
	s, _ := v.(string)
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 || hw.String() == "00:00:00:00:00:00" {
		return "", badRequest("Invalid input for mac_address. Reason: '%s' is not a valid MAC address.", pyStr(v))
	}
	return hw.String(), nil
}
