package neutron

import (
	"net/http"
	"slices"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// MaxRoutes is Neutron's max_routes.
const MaxRoutes = 30

var routerKind = &kind{
	path: "routers", collection: "routers", resource: "router", tagged: true,
	attrs: attrs(`id: name:pu description:pu admin_state_up:pu status: tenant_id:p project_id:p external_gateway_info:pu
		routes:u distributed:pu ha:pu availability_zone_hints:p availability_zones: created_at: updated_at:
		revision_number: tags:`),
	filters: filters(`id name description admin_state_up:b status tenant_id project_id distributed:b ha:b
		revision_number:i created_at updated_at`),
	sorts: []string{"id", "name", "admin_state_up", "status", "tenant_id", "project_id", "created_at", "updated_at", "revision_number"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.Routers) {
			if c.owns(x.ProjectID) {
				out = append(out, x.body(s))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.router(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(s), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		x, err := n.createRouter(s, c, in)
		if err != nil {
			return "", err
		}
		return x.ID, nil
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateRouter(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error { return n.deleteRouter(s, c, id) },
	std: func(s *state, c *caller, id string) (*Std, error) {
		x, err := s.router(c, id)
		if err != nil {
			return nil, err
		}
		return &x.Std, nil
	},
}

func init() { kinds = append(kinds, routerKind) }

func routerNotFound(id string) error {
	return errf(http.StatusNotFound, "RouterNotFound", "Router %s could not be found", id)
}

func (s *state) router(c *caller, id string) (*Router, error) {
	x := s.Routers[id]
	if x == nil || !c.owns(x.ProjectID) {
		return nil, routerNotFound(id)
	}
	return x, nil
}

func (x *Router) body(s *state) map[string]any {
	var gw any
	if p := s.Ports[x.GatewayPortID]; p != nil {
		ips := make([]map[string]any, 0, len(p.FixedIPs))
		for _, f := range p.FixedIPs {
			ips = append(ips, map[string]any{"subnet_id": f.SubnetID, "ip_address": f.IPAddress})
		}
		gw = map[string]any{"network_id": p.NetworkID, "enable_snat": x.EnableSNAT, "external_fixed_ips": ips}
	}
	routes := make([]map[string]any, 0, len(x.Routes))
	for _, r := range x.Routes {
		routes = append(routes, map[string]any{"destination": r.Destination, "nexthop": r.Nexthop})
	}
	hints := x.AZHints
	if hints == nil {
		hints = []string{}
	}
	return x.put(map[string]any{
		"admin_state_up": x.AdminStateUp, "status": "ACTIVE", "external_gateway_info": gw, "routes": routes,
		"distributed": x.Distributed, "ha": x.HA, "availability_zone_hints": hints,
		"availability_zones": []string{AvailabilityZone},
	}, true)
}

// gatewayRequest is a validated external_gateway_info.
type gatewayRequest struct {
	clear     bool // null or {}
	networkID string
	snat      *bool
	fixed     []fixedIPRequest
	hasFixed  bool
}

func parseGateway(c *caller, v any, action string) (*gatewayRequest, error) {
	if v == nil {
		return &gatewayRequest{clear: true}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("Invalid input for external_gateway_info. Reason: '%s' is not a dictionary.", pyStr(v))
	}
	if len(m) == 0 {
		return &gatewayRequest{clear: true}, nil
	}
	g := &gatewayRequest{}
	for _, k := range sortedKeys(m) {
		switch k {
		case "network_id":
			id, err := uuid("external_gateway_info", m[k])
			if err != nil {
				return nil, err
			}
			g.networkID = id
		case "enable_snat":
			if !c.admin() {
				return nil, policyAttr(action, "external_gateway_info:enable_snat")
			}
			b, err := toBool(m[k])
			if err != nil {
				return nil, err
			}
			g.snat = &b
		case "external_fixed_ips":
			if !c.admin() {
				return nil, policyAttr(action, "external_gateway_info:external_fixed_ips")
			}
			var err error
			if g.fixed, err = parseFixedIPs(m[k]); err != nil {
				return nil, err
			}
			g.hasFixed = true
		default:
			return nil, badRequest("Invalid input for external_gateway_info. Reason: Unexpected keys supplied: %s.", k)
		}
	}
	if g.networkID == "" {
		return nil, badRequest("Invalid input for external_gateway_info. Reason: Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: %s.", pyStr(sortedKeys(m)))
	}
	return g, nil
}

// routerFields are the validated attributes of a router request.
type routerFields struct {
	set     map[string]bool
	gw      *gatewayRequest
	routes  []Route
	admin   bool
	dist    bool
	ha      bool
	azHints []string
}

func parseRouterFields(c *caller, in map[string]any, create bool) (*routerFields, error) {
	f := &routerFields{set: map[string]bool{}, admin: true}
	action := "update_router"
	if create {
		action = "create_router"
	}
	for _, key := range sortedKeys(in) {
		v := in[key]
		f.set[key] = true
		var err error
		switch key {
		case "admin_state_up":
			f.admin, err = toBool(v)
		case "distributed", "ha":
			if !c.admin() {
				return nil, policyAttr(action, key)
			}
			var b bool
			if b, err = toBool(v); err == nil {
				if key == "ha" {
					f.ha = b
				} else {
					f.dist = b
				}
			}
		case "external_gateway_info":
			f.gw, err = parseGateway(c, v, action)
		case "routes":
			list, ok := v.([]any)
			if v != nil && !ok {
				return nil, badRequest("Invalid input for routes. Reason: Invalid data format for hostroute: '%s'.", pyStr(v))
			}
			f.routes = []Route{}
			for _, e := range list {
				r, err := parseRoute("routes", e)
				if err != nil {
					return nil, err
				}
				if !slices.Contains(f.routes, r) {
					f.routes = append(f.routes, r)
				}
			}
		case "availability_zone_hints":
			if f.azHints, err = stringList(key, v); err == nil {
				for _, h := range f.azHints {
					if h != AvailabilityZone {
						return nil, errf(http.StatusNotFound, "AvailabilityZoneNotFound", "AvailabilityZone %s could not be found.", h)
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (n *Neutron) createRouter(s *state, c *caller, in map[string]any) (*Router, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	var std Std
	if err := setStdFields(&std, in, true); err != nil {
		return nil, err
	}
	f, err := parseRouterFields(c, in, true)
	if err != nil {
		return nil, err
	}
	if err := s.checkQuota(project, "router", 1); err != nil {
		return nil, err
	}
	x := &Router{AdminStateUp: f.admin, Distributed: f.dist, HA: f.ha, AZHints: f.azHints, Routes: []Route{}, EnableSNAT: true}
	x.Std = n.newStd(s, project)
	if f.gw != nil && !f.gw.clear {
		if err := n.setGateway(s, c, x, f.gw); err != nil {
			s.Seq--
			return nil, err
		}
	}
	x.Name, x.Description = std.Name, std.Description
	s.Routers[x.ID] = x
	return x, nil
}

// setGateway creates (or replaces) the router's gateway port. It
// validates before it changes anything.
func (n *Neutron) setGateway(s *state, c *caller, x *Router, g *gatewayRequest) error {
	net := s.Networks[g.networkID]
	if net == nil || !s.netVisible(net, c) {
		return networkNotFound(g.networkID)
	}
	if !net.External {
		return badResource("router", "Network %s is not an external network", g.networkID)
	}
	snat := true
	if g.snat != nil {
		snat = *g.snat
	}
	old := s.Ports[x.GatewayPortID]
	if old != nil && old.NetworkID == g.networkID && !g.hasFixed {
		x.EnableSNAT = snat
		return nil
	}
	if old != nil && old.NetworkID != g.networkID {
		if err := s.gatewayInUse(x, old.NetworkID); err != nil {
			return err
		}
	}
	var keep []FixedIP
	if old != nil {
		keep = old.FixedIPs
	}
	mac := s.newMAC(g.networkID)
	admin := &caller{Identity: &core.Identity{ProjectID: c.ProjectID, Roles: []string{"admin"}}}
	ips, err := s.allocate(admin, net, ownerRouterGateway, mac, g.fixed, !g.hasFixed, keep)
	if err != nil {
		return err
	}
	if len(ips) == 0 {
		return badResource("router", "No IPs available for external network %s", g.networkID)
	}
	if old != nil {
		delete(s.Ports, old.ID)
	}
	p := &Port{NetworkID: g.networkID, AdminStateUp: true, MACAddress: mac, FixedIPs: ips, DeviceID: x.ID,
		DeviceOwner: ownerRouterGateway, SecurityGroups: []string{}, VNICType: "normal", HostID: BindingHost}
	p.Std = n.newStd(s, "")
	p.Life = core.Begin(n.env, "DOWN", "ACTIVE")
	s.Ports[p.ID] = p
	x.GatewayPortID, x.EnableSNAT = p.ID, snat
	return nil
}

// gatewayInUse: floating IPs reach the router's internal subnets through
// its gateway on netID.
func (s *state) gatewayInUse(x *Router, netID string) error {
	for _, fip := range s.FloatingIPs {
		if fip.RouterID != nil && *fip.RouterID == x.ID && fip.FloatingNetworkID == netID {
			return errf(http.StatusConflict, "RouterExternalGatewayInUseByFloatingIp", "Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.", x.ID, netID)
		}
	}
	return nil
}

func (n *Neutron) updateRouter(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.router(c, id)
	if err != nil {
		return err
	}
	var std = x.Std
	if err := setStdFields(&std, in, true); err != nil {
		return err
	}
	f, err := parseRouterFields(c, in, false)
	if err != nil {
		return err
	}
	if f.set["routes"] {
		if err := s.checkRoutes(x, f.routes); err != nil {
			return err
		}
	}
	if f.gw != nil {
		if f.gw.clear {
			if old := s.Ports[x.GatewayPortID]; old != nil {
				if err := s.gatewayInUse(x, old.NetworkID); err != nil {
					return err
				}
				delete(s.Ports, old.ID)
			}
			x.GatewayPortID, x.EnableSNAT = "", true
		} else if err := n.setGateway(s, c, x, f.gw); err != nil {
			return err
		}
	}
	if f.set["admin_state_up"] {
		x.AdminStateUp = f.admin
	}
	if f.set["distributed"] {
		x.Distributed = f.dist
	}
	if f.set["ha"] {
		x.HA = f.ha
	}
	if f.set["routes"] {
		x.Routes = f.routes
	}
	x.Name, x.Description = std.Name, std.Description
	n.touch(&x.Std)
	return nil
}

// interfaces returns the router's interface ports.
func (s *state) interfaces(routerID string) []*Port {
	var out []*Port
	for _, p := range byCreation(s.Ports) {
		if p.DeviceID == routerID && strings.HasPrefix(p.DeviceOwner, ownerRouterInterface) {
			out = append(out, p)
		}
	}
	return out
}

// checkRoutes is the extraroute validation: every nexthop on a subnet the
// router is connected to, and not one of the router's own addresses.
func (s *state) checkRoutes(x *Router, routes []Route) error {
	if len(routes) > MaxRoutes {
		return errf(http.StatusBadRequest, "RoutesExhausted", "Unable to complete operation for %s. The number of routes exceeds the maximum %d.", x.ID, MaxRoutes)
	}
	ports := s.interfaces(x.ID)
	if gw := s.Ports[x.GatewayPortID]; gw != nil {
		ports = append(ports, gw)
	}
	for _, r := range routes {
		hop, _ := parseIP(r.Nexthop)
		connected := false
		for _, p := range ports {
			for _, ip := range p.FixedIPs {
				if ip.IPAddress == hop.String() {
					return errf(http.StatusBadRequest, "InvalidRoutes", "Invalid format for routes: %s, the nexthop is used by router.", pyStr(routeList(routes)))
				}
				if sub := s.Subnets[ip.SubnetID]; sub != nil && mustPrefix(sub.CIDR).Contains(hop) {
					connected = true
				}
			}
		}
		if !connected {
			return errf(http.StatusBadRequest, "InvalidRoutes", "Invalid format for routes: %s, the nexthop is not connected with router.", pyStr(routeList(routes)))
		}
	}
	return nil
}

func routeList(routes []Route) []any {
	out := make([]any, len(routes))
	for i, r := range routes {
		out[i] = map[string]any{"destination": r.Destination, "nexthop": r.Nexthop}
	}
	return out
}

func (n *Neutron) deleteRouter(s *state, c *caller, id string) error {
	x, err := s.router(c, id)
	if err != nil {
		return err
	}
	if len(s.interfaces(id)) > 0 {
		return errf(http.StatusConflict, "RouterInUse", "Router %s still has ports", id)
	}
	if gw := s.Ports[x.GatewayPortID]; gw != nil {
		if err := s.gatewayInUse(x, gw.NetworkID); err != nil {
			return err
		}
		delete(s.Ports, gw.ID)
	}
	delete(s.Routers, id)
	return nil
}

// interfaceInfo is the answer of add/remove_router_interface.
func interfaceInfo(x *Router, p *Port, subnetIDs []string) map[string]any {
	first := ""
	if len(subnetIDs) > 0 {
		first = subnetIDs[0]
	}
	return map[string]any{"id": x.ID, "tenant_id": x.ProjectID, "project_id": x.ProjectID, "port_id": p.ID,
		"network_id": p.NetworkID, "subnet_id": first, "subnet_ids": subnetIDs}
}

func portSubnets(p *Port) []string {
	out := []string{}
	for _, f := range p.FixedIPs {
		if !slices.Contains(out, f.SubnetID) {
			out = append(out, f.SubnetID)
		}
	}
	return out
}

// interfaceRequest reads {"subnet_id"} or {"port_id"}.
func interfaceRequest(r *http.Request) (subnetID, portID string, err error) {
	body, err := readBody(r)
	if err != nil {
		return "", "", err
	}
	for k, v := range body {
		switch k {
		case "subnet_id", "port_id":
			s, ok := v.(string)
			if !ok || !isUUID(s) {
				return "", "", badRequest("Invalid input for %s. Reason: '%s' is not a valid UUID.", k, pyStr(v))
			}
			if k == "subnet_id" {
				subnetID = s
			} else {
				portID = s
			}
		}
	}
	return subnetID, portID, nil
}

func (n *Neutron) addRouterInterface(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	subnetID, portID, err := interfaceRequest(r)
	if err != nil {
		return err
	}
	in := map[string]any{}
	if subnetID != "" {
		in["subnet_id"] = subnetID
	}
	if portID != "" {
		in["port_id"] = portID
	}
	var out map[string]any
	err = n.state.Update(func(s *state) error {
		var err error
		out, err = n.addInterface(s, c, r.PathValue("id"), in)
		return err
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// addInterface connects a router to a subnet (a new port at the subnet's
// gateway address) or to an existing port.
func (n *Neutron) addInterface(s *state, c *caller, routerID string, in map[string]any) (map[string]any, error) {
	x, err := s.router(c, routerID)
	if err != nil {
		return nil, err
	}
	subnetID, _ := in["subnet_id"].(string)
	portID, _ := in["port_id"].(string)
	switch {
	case subnetID != "" && portID != "":
		return nil, badResource("router", "Cannot specify both subnet-id and port-id")
	case subnetID == "" && portID == "":
		return nil, badResource("router", "Either subnet_id or port_id must be specified")
	}
	// The subnets the router is already on.
	onSubnet := map[string]bool{}
	for _, p := range s.interfaces(x.ID) {
		for _, f := range p.FixedIPs {
			onSubnet[f.SubnetID] = true
		}
	}
	checkSubnet := func(sub *Subnet) error {
		if onSubnet[sub.ID] {
			return badResource("router", "Router already has a port on subnet %s", sub.ID)
		}
		for id := range onSubnet {
			o := s.Subnets[id]
			if o != nil && mustPrefix(o.CIDR).Overlaps(mustPrefix(sub.CIDR)) {
				return badResource("router", "Cidr %s of subnet %s overlaps with cidr %s of subnet %s", sub.CIDR, sub.ID, o.CIDR, o.ID)
			}
		}
		if net := s.Networks[sub.NetworkID]; net != nil && net.External {
			return badResource("router", "Subnet %s is on the external network %s", sub.ID, net.ID)
		}
		return nil
	}
	if portID != "" {
		p, err := s.port(c, portID)
		if err != nil {
			return nil, err
		}
		if p.DeviceID != "" || p.DeviceOwner != "" {
			return nil, errf(http.StatusConflict, "PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.", p.ID, p.NetworkID, p.DeviceID)
		}
		if len(p.FixedIPs) == 0 {
			return nil, badResource("router", "Router port must have at least one fixed IP")
		}
		v4 := 0
		for _, f := range p.FixedIPs {
			sub := s.Subnets[f.SubnetID]
			if sub == nil {
				continue
			}
			if sub.IPVersion == 4 {
				v4++
			}
			if err := checkSubnet(sub); err != nil {
				return nil, err
			}
		}
		if v4 > 1 {
			return nil, badResource("router", "Cannot have multiple IPv4 subnets on router port")
		}
		p.DeviceID, p.DeviceOwner = x.ID, ownerRouterInterface
		p.Life = core.Begin(n.env, "DOWN", "ACTIVE")
		n.touch(&p.Std)
		n.touch(&x.Std)
		return interfaceInfo(x, p, portSubnets(p)), nil
	}
	sub, err := s.subnet(c, subnetID)
	if err != nil {
		return nil, err
	}
	if sub.GatewayIP == nil {
		return nil, badResource("router", "Subnet for router interface must have a gateway IP")
	}
	if err := checkSubnet(sub); err != nil {
		return nil, err
	}
	gw, _ := parseIP(*sub.GatewayIP)
	if s.usedIPs(sub.ID)[gw] {
		return nil, ipInUse(sub.NetworkID, gw.String())
	}
	if err := s.checkQuota(x.ProjectID, "port", 1); err != nil {
		return nil, err
	}
	p := &Port{NetworkID: sub.NetworkID, AdminStateUp: true, MACAddress: s.newMAC(sub.NetworkID),
		FixedIPs: []FixedIP{{sub.ID, gw.String()}}, DeviceID: x.ID, DeviceOwner: ownerRouterInterface,
		SecurityGroups: []string{}, VNICType: "normal", HostID: BindingHost}
	if net := s.Networks[sub.NetworkID]; net != nil {
		p.PortSecurity = net.PortSecurity
	}
	p.Std = n.newStd(s, x.ProjectID)
	p.Life = core.Begin(n.env, "DOWN", "ACTIVE")
	s.Ports[p.ID] = p
	n.touch(&x.Std)
	return interfaceInfo(x, p, []string{sub.ID}), nil
}

func (n *Neutron) removeRouterInterface(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	subnetID, portID, err := interfaceRequest(r)
	if err != nil {
		return err
	}
	var out map[string]any
	err = n.state.Update(func(s *state) error {
		x, err := s.router(c, r.PathValue("id"))
		if err != nil {
			return err
		}
		if subnetID == "" && portID == "" {
			return badResource("router", "Either subnet_id or port_id must be specified")
		}
		var p *Port
		if portID != "" {
			p = s.Ports[portID]
			if p == nil || p.DeviceID != x.ID || !strings.HasPrefix(p.DeviceOwner, ownerRouterInterface) {
				return errf(http.StatusNotFound, "RouterInterfaceNotFound", "Router %s does not have an interface with id %s", x.ID, portID)
			}
			if subnetID != "" && !slices.Contains(portSubnets(p), subnetID) {
				return errf(http.StatusBadRequest, "SubnetMismatchForPort", "Subnet on port %s does not match the requested subnet %s.", portID, subnetID)
			}
		} else {
			if _, err := s.subnet(c, subnetID); err != nil {
				return err
			}
			for _, ip := range s.interfaces(x.ID) {
				if slices.Contains(portSubnets(ip), subnetID) {
					p = ip
				}
			}
			if p == nil {
				return errf(http.StatusNotFound, "RouterInterfaceNotFoundForSubnet", "Router %s has no interface on subnet %s", x.ID, subnetID)
			}
		}
		subnets := portSubnets(p)
		for _, sid := range subnets {
			sub := s.Subnets[sid]
			if sub == nil {
				continue
			}
			prefix := mustPrefix(sub.CIDR)
			for _, fip := range s.FloatingIPs {
				if fip.RouterID != nil && *fip.RouterID == x.ID && fip.FixedIPAddress != nil {
					if a, ok := parseIP(*fip.FixedIPAddress); ok && prefix.Contains(a) {
						return errf(http.StatusConflict, "RouterInterfaceInUseByFloatingIP", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", sid, x.ID)
					}
				}
			}
			for _, rt := range x.Routes {
				if a, ok := parseIP(rt.Nexthop); ok && prefix.Contains(a) {
					return errf(http.StatusConflict, "RouterInterfaceInUseByRoute", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more routes.", sid, x.ID)
				}
			}
		}
		out = interfaceInfo(x, p, subnets)
		delete(s.Ports, p.ID)
		n.touch(&x.Std)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// extraRoutesRequest reads {"router": {"routes": [...]}}.
func extraRoutesRequest(r *http.Request) ([]Route, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	in, err := resourceBody(body, "router")
	if err != nil {
		return nil, err
	}
	for k := range in {
		if k != "routes" {
			return nil, badRequest("Unrecognized attribute(s) '%s'", k)
		}
	}
	list, ok := in["routes"].([]any)
	if !ok {
		return nil, badRequest("Invalid input for routes. Reason: Invalid data format for hostroute: '%s'.", pyStr(in["routes"]))
	}
	var out []Route
	for _, e := range list {
		rt, err := parseRoute("routes", e)
		if err != nil {
			return nil, err
		}
		out = append(out, rt)
	}
	return out, nil
}

func (n *Neutron) addExtraRoutes(w http.ResponseWriter, r *http.Request) error {
	return n.editRoutes(w, r, true)
}

func (n *Neutron) removeExtraRoutes(w http.ResponseWriter, r *http.Request) error {
	return n.editRoutes(w, r, false)
}

func (n *Neutron) editRoutes(w http.ResponseWriter, r *http.Request, add bool) error {
	c := callerOf(r)
	routes, err := extraRoutesRequest(r)
	if err != nil {
		return err
	}
	var b map[string]any
	err = n.state.Update(func(s *state) error {
		x, err := s.router(c, r.PathValue("id"))
		if err != nil {
			return err
		}
		next := append([]Route{}, x.Routes...)
		for _, rt := range routes {
			i := slices.Index(next, rt)
			switch {
			case add && i < 0:
				next = append(next, rt)
			case !add && i >= 0:
				next = slices.Delete(next, i, i+1)
			}
		}
		if add {
			if err := s.checkRoutes(x, next); err != nil {
				return err
			}
		}
		x.Routes = next
		n.touch(&x.Std)
		b = x.body(s)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"router": routerKind.view(b, c, nil)})
	return nil
}

// routerFor finds the router that connects a subnet to an external network
// (floating IP association).
func (s *state) routerFor(subnetID, externalNetID string) *Router {
	for _, x := range byCreation(s.Routers) {
		gw := s.Ports[x.GatewayPortID]
		if gw == nil || gw.NetworkID != externalNetID {
			continue
		}
		for _, p := range s.interfaces(x.ID) {
			if slices.Contains(portSubnets(p), subnetID) {
				return x
			}
		}
	}
	return nil
}
