package heat

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// neutronRes is the common shape of the Neutron resources: POST a body,
// PUT changes, DELETE, GET for show and attributes.
type neutronRes struct {
	name, kind, coll string
	props            map[string]*prop
	attrs            []string
	build            func(c *rctx, r *Resource, p map[string]any) (map[string]any, error)
	change           func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error)
	after            func(c *rctx, r *Resource, p map[string]any) error
}

func (n neutronRes) register() {
	path := func(r *Resource) string { return "/v2.0/" + n.coll + "/" + r.PhysicalID }
	t := &rtype{name: n.name, service: "network", props: n.props, attrs: n.attrs,
		create: func(c *rctx, r *Resource, p map[string]any) error {
			body, err := n.build(c, r, p)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.call("network", http.MethodPost, "/v2.0/"+n.coll, nil, map[string]any{n.kind: body}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(obj(out[n.kind]), "id")
			if n.after != nil {
				return n.after(c, r, p)
			}
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("network", http.MethodDelete, path(r), nil, nil, nil)
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			o, err := c.get("network", path(r), n.kind)
			return o == nil && err == nil, err
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) { return c.get("network", path(r), n.kind) },
	}
	if n.change != nil {
		t.update = func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			body, err := n.change(c, r, p, changed)
			if err != nil || len(body) == 0 {
				return err
			}
			return c.call("network", http.MethodPut, path(r), nil, map[string]any{n.kind: body}, nil)
		}
	}
	register(t)
}

// plainChanges copies the changed properties that map one to one.
func plainChanges(p map[string]any, changed []string, names map[string]string) map[string]any {
	out := map[string]any{}
	for _, k := range changed {
		if to, ok := names[k]; ok {
			out[to] = p[k]
		}
	}
	return out
}

func valueSpecs(body map[string]any, p map[string]any) {
	for k, v := range obj(p["value_specs"]) {
		body[k] = v
	}
}

func init() {
	neutronRes{name: "OS::Neutron::Net", kind: "network", coll: "networks",
		attrs: []string{"status", "name", "subnets", "admin_state_up", "tenant_id", "port_security_enabled", "mtu", "segments", "qos_policy_id", "l2_adjacency"},
		props: map[string]*prop{"name": pStr().upd(), "value_specs": pMap().upd(), "admin_state_up": pBool().upd().dflt(true),
			"tenant_id": pStr(), "shared": pBool().upd().dflt(false), "dhcp_agent_ids": pList(pStr()).upd(),
			"port_security_enabled": pBool().upd(), "qos_policy": pStr().upd(), "dns_domain": pStr().upd(),
			"tags": pList(pStr()).upd(), "availability_zone_hints": pList(pStr())},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			b := map[string]any{"name": c.nameOr(p, r), "admin_state_up": p["admin_state_up"]}
			if p["shared"] == true {
				b["shared"] = true
			}
			setIf(b, p, "tenant_id", "tenant_id")
			setIf(b, p, "port_security_enabled", "port_security_enabled")
			setIf(b, p, "availability_zone_hints", "availability_zone_hints")
			valueSpecs(b, p)
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := plainChanges(p, changed, map[string]string{"admin_state_up": "admin_state_up", "shared": "shared",
				"port_security_enabled": "port_security_enabled"})
			for _, k := range changed {
				if k == "name" {
					b["name"] = c.nameOr(p, r)
				}
				if k == "value_specs" {
					valueSpecs(b, p)
				}
			}
			return b, nil
		},
	}.register()

	pool := pObj(map[string]*prop{"start": pStr().req(), "end": pStr().req()})
	route := pObj(map[string]*prop{"destination": pStr().req(), "nexthop": pStr().req()})
	neutronRes{name: "OS::Neutron::Subnet", kind: "subnet", coll: "subnets",
		attrs: []string{"name", "network_id", "tenant_id", "allocation_pools", "gateway_ip", "host_routes", "ip_version", "cidr", "dns_nameservers", "enable_dhcp"},
		props: map[string]*prop{"network": pStr().req(), "subnetpool": pStr(), "prefixlen": pInt(), "cidr": pStr(),
			"value_specs": pMap().upd(), "name": pStr().upd(), "ip_version": pInt().dflt(int64(4)).only("4", "6"),
			"dns_nameservers": pList(pStr()).upd(), "gateway_ip": pStr().upd(), "enable_dhcp": pBool().upd().dflt(true),
			"allocation_pools": pList(pool).upd(), "tenant_id": pStr(), "host_routes": pList(route).upd(),
			"ipv6_ra_mode":      pStr().only("dhcpv6-stateful", "dhcpv6-stateless", "slaac"),
			"ipv6_address_mode": pStr().only("dhcpv6-stateful", "dhcpv6-stateless", "slaac"),
			"segment":           pStr().upd(), "tags": pList(pStr()).upd(), "use_default_subnetpool": pBool()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			nid, err := c.neutronID("network", str(p, "network"))
			if err != nil {
				return nil, err
			}
			b := map[string]any{"name": c.nameOr(p, r), "network_id": nid, "ip_version": p["ip_version"],
				"enable_dhcp": p["enable_dhcp"]}
			for _, k := range []string{"cidr", "prefixlen", "dns_nameservers", "allocation_pools", "host_routes",
				"ipv6_ra_mode", "ipv6_address_mode", "tenant_id", "use_default_subnetpool"} {
				setIf(b, p, k, k)
			}
			if g, ok := p["gateway_ip"]; ok {
				if g == "" {
					b["gateway_ip"] = nil
				} else if g != nil {
					b["gateway_ip"] = g
				}
			}
			if sp := str(p, "subnetpool"); sp != "" {
				id, err := c.neutronID("subnetpool", sp)
				if err != nil {
					return nil, err
				}
				b["subnetpool_id"] = id
			}
			valueSpecs(b, p)
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := plainChanges(p, changed, map[string]string{"dns_nameservers": "dns_nameservers", "enable_dhcp": "enable_dhcp",
				"allocation_pools": "allocation_pools", "host_routes": "host_routes"})
			for _, k := range changed {
				switch k {
				case "name":
					b["name"] = c.nameOr(p, r)
				case "gateway_ip":
					b["gateway_ip"] = p["gateway_ip"]
					if p["gateway_ip"] == "" {
						b["gateway_ip"] = nil
					}
				case "value_specs":
					valueSpecs(b, p)
				}
			}
			return b, nil
		},
	}.register()

	gw := pObj(map[string]*prop{"network": pStr().req(), "enable_snat": pBool(),
		"external_fixed_ips": pList(pObj(map[string]*prop{"ip_address": pStr(), "subnet": pStr()}))})
	neutronRes{name: "OS::Neutron::Router", kind: "router", coll: "routers",
		attrs: []string{"status", "external_gateway_info", "name", "admin_state_up", "tenant_id"},
		props: map[string]*prop{"name": pStr().upd(), "external_gateway_info": gw.upd(), "value_specs": pMap().upd(),
			"admin_state_up": pBool().upd().dflt(true), "l3_agent_ids": pList(pStr()).upd(), "distributed": pBool(),
			"ha": pBool(), "tags": pList(pStr()).upd()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			b := map[string]any{"name": c.nameOr(p, r), "admin_state_up": p["admin_state_up"]}
			setIf(b, p, "distributed", "distributed")
			setIf(b, p, "ha", "ha")
			if g := obj(p["external_gateway_info"]); g != nil {
				info, err := c.gatewayInfo(g)
				if err != nil {
					return nil, err
				}
				b["external_gateway_info"] = info
			}
			valueSpecs(b, p)
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := plainChanges(p, changed, map[string]string{"admin_state_up": "admin_state_up"})
			for _, k := range changed {
				switch k {
				case "name":
					b["name"] = c.nameOr(p, r)
				case "external_gateway_info":
					if g := obj(p["external_gateway_info"]); g != nil {
						info, err := c.gatewayInfo(g)
						if err != nil {
							return nil, err
						}
						b["external_gateway_info"] = info
					} else {
						b["external_gateway_info"] = map[string]any{}
					}
				case "value_specs":
					valueSpecs(b, p)
				}
			}
			return b, nil
		},
	}.register()

	register(&rtype{name: "OS::Neutron::RouterInterface", service: "network",
		props: map[string]*prop{"router": pStr().req(), "subnet": pStr(), "port": pStr()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			rid, err := c.neutronID("router", str(p, "router"))
			if err != nil {
				return err
			}
			body := map[string]any{}
			key := ""
			switch {
			case str(p, "subnet") != "":
				sid, err := c.neutronID("subnet", str(p, "subnet"))
				if err != nil {
					return err
				}
				body["subnet_id"], key = sid, "subnet_id="+sid
			case str(p, "port") != "":
				pid, err := c.neutronID("port", str(p, "port"))
				if err != nil {
					return err
				}
				body["port_id"], key = pid, "port_id="+pid
			default:
				return propErr(r.Name, nil, "At least one of the following properties must be specified: subnet, port.")
			}
			if err := c.call("network", http.MethodPut, "/v2.0/routers/"+rid+"/add_router_interface", nil, body, nil); err != nil {
				return err
			}
			r.PhysicalID = rid + ":" + key
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			rid, key, _ := strings.Cut(r.PhysicalID, ":")
			k, v, _ := strings.Cut(key, "=")
			return c.call("network", http.MethodPut, "/v2.0/routers/"+rid+"/remove_router_interface", nil, map[string]any{k: v}, nil)
		},
	})

	fixedIP := pObj(map[string]*prop{"subnet": pStr(), "subnet_id": pStr(), "ip_address": pStr()})
	pair := pObj(map[string]*prop{"mac_address": pStr(), "ip_address": pStr().req()})
	neutronRes{name: "OS::Neutron::Port", kind: "port", coll: "ports",
		attrs: []string{"admin_state_up", "device_id", "device_owner", "fixed_ips", "mac_address", "name", "network_id",
			"security_groups", "status", "tenant_id", "allowed_address_pairs", "subnets", "port_security_enabled", "dns_assignment"},
		props: map[string]*prop{"network": pStr().req(), "name": pStr().upd(), "value_specs": pMap().upd(),
			"admin_state_up": pBool().upd().dflt(true), "fixed_ips": pList(fixedIP).upd(), "security_groups": pList(pStr()).upd(),
			"mac_address": pStr(), "device_id": pStr().upd(), "device_owner": pStr().upd(), "allowed_address_pairs": pList(pair).upd(),
			"port_security_enabled": pBool().upd(), "binding:vnic_type": pStr().upd(), "qos_policy": pStr().upd(),
			"dns_name": pStr().upd(), "tags": pList(pStr()).upd(), "replacement_policy": pStr().upd(), "no_fixed_ips": pBool().upd()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			nid, err := c.neutronID("network", str(p, "network"))
			if err != nil {
				return nil, err
			}
			b := map[string]any{"name": c.nameOr(p, r), "network_id": nid, "admin_state_up": p["admin_state_up"]}
			if err := c.portCommon(b, p, nil); err != nil {
				return nil, err
			}
			setIf(b, p, "mac_address", "mac_address")
			valueSpecs(b, p)
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := plainChanges(p, changed, map[string]string{"admin_state_up": "admin_state_up"})
			for _, k := range changed {
				switch k {
				case "name":
					b["name"] = c.nameOr(p, r)
				case "value_specs":
					valueSpecs(b, p)
				}
			}
			if err := c.portCommon(b, p, changed); err != nil {
				return nil, err
			}
			return b, nil
		},
	}.register()

	neutronRes{name: "OS::Neutron::FloatingIP", kind: "floatingip", coll: "floatingips",
		attrs: []string{"router_id", "tenant_id", "floating_network_id", "fixed_ip_address", "floating_ip_address", "port_id"},
		props: map[string]*prop{"floating_network": pStr().req(), "floating_subnet": pStr(), "value_specs": pMap(),
			"port_id": pStr().upd(), "fixed_ip_address": pStr().upd(), "floating_ip_address": pStr(),
			"dns_name": pStr(), "dns_domain": pStr()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			nid, err := c.neutronID("network", str(p, "floating_network"))
			if err != nil {
				return nil, err
			}
			b := map[string]any{"floating_network_id": nid}
			if pid := str(p, "port_id"); pid != "" {
				id, err := c.neutronID("port", pid)
				if err != nil {
					return nil, err
				}
				b["port_id"] = id
			}
			if s := str(p, "floating_subnet"); s != "" {
				id, err := c.neutronID("subnet", s)
				if err != nil {
					return nil, err
				}
				b["subnet_id"] = id
			}
			setIf(b, p, "fixed_ip_address", "fixed_ip_address")
			setIf(b, p, "floating_ip_address", "floating_ip_address")
			valueSpecs(b, p)
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := map[string]any{"port_id": nil}
			if pid := str(p, "port_id"); pid != "" {
				id, err := c.neutronID("port", pid)
				if err != nil {
					return nil, err
				}
				b["port_id"] = id
				setIf(b, p, "fixed_ip_address", "fixed_ip_address")
			}
			return b, nil
		},
	}.register()

	register(&rtype{name: "OS::Neutron::FloatingIPAssociation", service: "network",
		props: map[string]*prop{"floatingip_id": pStr().req().upd(), "port_id": pStr().req().upd(), "fixed_ip_address": pStr().upd()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			if err := c.associate(p); err != nil {
				return err
			}
			r.PhysicalID = physName(c.stack.Name, r.Name)
			r.Data = map[string]string{"floatingip_id": str(p, "floatingip_id")}
			return nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			if old := r.Data["floatingip_id"]; old != "" && old != str(p, "floatingip_id") {
				if err := c.call("network", http.MethodPut, "/v2.0/floatingips/"+old, nil,
					map[string]any{"floatingip": map[string]any{"port_id": nil}}, nil); err != nil && !isStatus(err, 404) {
					return err
				}
			}
			r.Data = map[string]string{"floatingip_id": str(p, "floatingip_id")}
			return c.associate(p)
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("network", http.MethodPut, "/v2.0/floatingips/"+r.Data["floatingip_id"], nil,
				map[string]any{"floatingip": map[string]any{"port_id": nil}}, nil)
		},
	})

	rule := pObj(map[string]*prop{"direction": pStr().dflt("ingress").only("ingress", "egress"),
		"ethertype": pStr().dflt("IPv4").only("IPv4", "IPv6"), "port_range_min": pInt(), "port_range_max": pInt(),
		"protocol": pStr(), "remote_mode": pStr().dflt("remote_ip_prefix").only("remote_ip_prefix", "remote_group_id"),
		"remote_group_id": pStr(), "remote_ip_prefix": pStr(), "description": pStr()})
	register(&rtype{name: "OS::Neutron::SecurityGroup", service: "network",
		props: map[string]*prop{"name": pStr().upd(), "description": pStr().upd(), "rules": pList(rule).upd()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			var out struct {
				SecurityGroup map[string]any `json:"security_group"`
			}
			body := map[string]any{"name": c.nameOr(p, r), "description": str(p, "description")}
			if err := c.call("network", http.MethodPost, "/v2.0/security-groups", nil, map[string]any{"security_group": body}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out.SecurityGroup, "id")
			return c.setRules(r.PhysicalID, list(p, "rules"))
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			body := map[string]any{}
			for _, k := range changed {
				switch k {
				case "name":
					body["name"] = c.nameOr(p, r)
				case "description":
					body["description"] = str(p, "description")
				case "rules":
					if err := c.setRules(r.PhysicalID, list(p, "rules")); err != nil {
						return err
					}
				}
			}
			if len(body) == 0 {
				return nil
			}
			return c.call("network", http.MethodPut, "/v2.0/security-groups/"+r.PhysicalID, nil, map[string]any{"security_group": body}, nil)
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("network", http.MethodDelete, "/v2.0/security-groups/"+r.PhysicalID, nil, nil, nil)
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("network", "/v2.0/security-groups/"+r.PhysicalID, "security_group")
		},
	})

	register(&rtype{name: "OS::Neutron::SecurityGroupRule", service: "network",
		props: map[string]*prop{"security_group": pStr().req(), "description": pStr(), "direction": pStr().dflt("ingress").only("ingress", "egress"),
			"ethertype": pStr().dflt("IPv4").only("IPv4", "IPv6"), "port_range_min": pInt(), "port_range_max": pInt(),
			"protocol": pStr(), "remote_group": pStr(), "remote_ip_prefix": pStr()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			sg, err := c.neutronID("security_group", str(p, "security_group"))
			if err != nil {
				return err
			}
			body := map[string]any{"security_group_id": sg, "direction": p["direction"], "ethertype": p["ethertype"]}
			for _, k := range []string{"description", "port_range_min", "port_range_max", "protocol", "remote_ip_prefix"} {
				setIf(body, p, k, k)
			}
			if g := str(p, "remote_group"); g != "" {
				id, err := c.neutronID("security_group", g)
				if err != nil {
					return err
				}
				body["remote_group_id"] = id
			}
			var out struct {
				Rule map[string]any `json:"security_group_rule"`
			}
			if err := c.call("network", http.MethodPost, "/v2.0/security-group-rules", nil, map[string]any{"security_group_rule": body}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out.Rule, "id")
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("network", http.MethodDelete, "/v2.0/security-group-rules/"+r.PhysicalID, nil, nil, nil)
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("network", "/v2.0/security-group-rules/"+r.PhysicalID, "security_group_rule")
		},
	})
}

func (c *rctx) gatewayInfo(g map[string]any) (map[string]any, error) {
	nid, err := c.neutronID("network", str(g, "network"))
	if err != nil {
		return nil, err
	}
	info := map[string]any{"network_id": nid}
	setIf(info, g, "enable_snat", "enable_snat")
	if ips := list(g, "external_fixed_ips"); len(ips) > 0 {
		var l []any
		for _, x := range ips {
			m := obj(x)
			e := map[string]any{}
			setIf(e, m, "ip_address", "ip_address")
			if s := str(m, "subnet"); s != "" {
				id, err := c.neutronID("subnet", s)
				if err != nil {
					return nil, err
				}
				e["subnet_id"] = id
			}
			l = append(l, e)
		}
		info["external_fixed_ips"] = l
	}
	return info, nil
}

// portCommon fills a port body's fixed IPs, security groups and address
// pairs (all of them on create; the changed ones on update).
func (c *rctx) portCommon(b, p map[string]any, changed []string) error {
	want := func(k string) bool {
		if changed == nil {
			_, ok := p[k]
			return ok && p[k] != nil
		}
		for _, x := range changed {
			if x == k {
				return true
			}
		}
		return false
	}
	if want("fixed_ips") {
		var l []any
		for _, f := range list(p, "fixed_ips") {
			m := obj(f)
			e := map[string]any{}
			setIf(e, m, "ip_address", "ip_address")
			s := str(m, "subnet")
			if s == "" {
				s = str(m, "subnet_id")
			}
			if s != "" {
				id, err := c.neutronID("subnet", s)
				if err != nil {
					return err
				}
				e["subnet_id"] = id
			}
			l = append(l, e)
		}
		if l == nil {
			l = []any{}
		}
		b["fixed_ips"] = l
	}
	if want("security_groups") {
		var l []any
		for _, g := range list(p, "security_groups") {
			id, err := c.neutronID("security_group", pyStr(g))
			if err != nil {
				return err
			}
			l = append(l, id)
		}
		if l == nil {
			l = []any{}
		}
		b["security_groups"] = l
	}
	for _, k := range []string{"allowed_address_pairs", "port_security_enabled", "device_id", "device_owner", "binding:vnic_type"} {
		if want(k) {
			b[k] = p[k]
		}
	}
	return nil
}

func (c *rctx) associate(p map[string]any) error {
	fip := str(p, "floatingip_id")
	body := map[string]any{"port_id": str(p, "port_id")}
	setIf(body, p, "fixed_ip_address", "fixed_ip_address")
	return c.call("network", http.MethodPut, "/v2.0/floatingips/"+fip, nil, map[string]any{"floatingip": body}, nil)
}

// setRules makes a security group's rules the given ones (Heat drops
// Neutron's default egress rules when the template has egress rules).
func (c *rctx) setRules(sg string, rules []any) error {
	existing, err := c.listOf("network", "/v2.0/security-group-rules", url.Values{"security_group_id": {sg}}, "security_group_rules")
	if err != nil {
		return err
	}
	hasEgress := false
	for _, x := range rules {
		if str(obj(x), "direction") == "egress" {
			hasEgress = true
		}
	}
	for _, x := range existing {
		m := obj(x)
		if str(m, "direction") == "egress" && !hasEgress {
			continue
		}
		if err := c.call("network", http.MethodDelete, "/v2.0/security-group-rules/"+str(m, "id"), nil, nil, nil); err != nil && !isStatus(err, 404) {
			return err
		}
	}
	for _, x := range rules {
		m := obj(x)
		body := map[string]any{"security_group_id": sg, "direction": m["direction"], "ethertype": m["ethertype"]}
		for _, k := range []string{"port_range_min", "port_range_max", "protocol", "description"} {
			setIf(body, m, k, k)
		}
		if str(m, "remote_mode") == "remote_group_id" {
			g := str(m, "remote_group_id")
			if g == "" {
				g = sg
			} else {
				id, err := c.neutronID("security_group", g)
				if err != nil {
					return err
				}
				g = id
			}
			body["remote_group_id"] = g
		} else if ip := str(m, "remote_ip_prefix"); ip != "" {
			body["remote_ip_prefix"] = ip
		}
		if err := c.call("network", http.MethodPost, "/v2.0/security-group-rules", nil, map[string]any{"security_group_rule": body}, nil); err != nil {
			if isStatus(err, 409) && strings.Contains(err.Error(), "already exists") {
				continue
			}
			return fmt.Errorf("%w", err)
		}
	}
	return nil
}
