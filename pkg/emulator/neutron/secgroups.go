package neutron

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

var sgKind = &kind{
	path: "security-groups", collection: "security_groups", resource: "security_group", tagged: true,
	attrs: attrs(`id: name:pu description:pu tenant_id:p project_id:p security_group_rules: stateful:pu created_at:
		updated_at: revision_number: tags:`),
	filters: filters(`id name description tenant_id project_id stateful:b revision_number:i created_at updated_at`),
	sorts:   []string{"id", "name", "tenant_id", "project_id", "created_at", "updated_at", "revision_number"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.SecurityGroups) {
			if c.owns(x.ProjectID) || s.sharedWith("security_group", x.ID, c.ProjectID) {
				out = append(out, x.body(s))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.securityGroup(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(s), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		return n.createSG(s, c, in)
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateSG(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error { return n.deleteSG(s, c, id) },
	std: func(s *state, c *caller, id string) (*Std, error) {
		x, err := s.securityGroup(c, id)
		if err != nil {
			return nil, err
		}
		return &x.Std, nil
	},
}

var ruleKind = &kind{
	path: "security-group-rules", collection: "security_group_rules", resource: "security_group_rule", bulk: true,
	attrs: attrs(`id: security_group_id:pr remote_group_id:p direction:pr protocol:p port_range_min:p port_range_max:p
		ethertype:p remote_ip_prefix:p tenant_id:p project_id:p description:pu created_at: updated_at: revision_number:`),
	filters: filters(`id security_group_id remote_group_id direction protocol port_range_min:i port_range_max:i ethertype
		remote_ip_prefix tenant_id project_id description revision_number:i created_at updated_at`),
	sorts: []string{"id", "security_group_id", "remote_group_id", "direction", "protocol", "port_range_min", "port_range_max", "ethertype", "remote_ip_prefix", "tenant_id", "project_id", "created_at", "updated_at"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.Rules) {
			if x.visible(c, s) {
				out = append(out, x.body())
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.rule(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		return n.createRule(s, c, in, true)
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		x, err := s.rule(c, id)
		if err != nil {
			return err
		}
		std := x.Std
		if err := setStdFields(&std, in, false); err != nil {
			return err
		}
		x.Description = std.Description
		n.touch(&x.Std)
		return nil
	},
	del: func(n *Neutron, s *state, c *caller, id string) error {
		x, err := s.rule(c, id)
		if err != nil {
			return err
		}
		if !c.owns(x.ProjectID) {
			if sg := s.SecurityGroups[x.SecurityGroupID]; sg == nil || !c.owns(sg.ProjectID) {
				return policyRefused("rule:delete_security_group_rule")
			}
		}
		delete(s.Rules, id)
		if sg := s.SecurityGroups[x.SecurityGroupID]; sg != nil {
			n.touch(&sg.Std)
		}
		return nil
	},
}

func init() { kinds = append(kinds, sgKind, ruleKind) }

func sgNotFound(id string) error {
	return errf(http.StatusNotFound, "SecurityGroupNotFound", "Security group %s does not exist", id)
}

func (s *state) securityGroup(c *caller, id string) (*SecurityGroup, error) {
	x := s.SecurityGroups[id]
	if x == nil || !(c.owns(x.ProjectID) || s.sharedWith("security_group", id, c.ProjectID)) {
		return nil, sgNotFound(id)
	}
	return x, nil
}

func (x *Rule) visible(c *caller, s *state) bool {
	if c.owns(x.ProjectID) {
		return true
	}
	sg := s.SecurityGroups[x.SecurityGroupID]
	return sg != nil && c.owns(sg.ProjectID)
}

func (s *state) rule(c *caller, id string) (*Rule, error) {
	x := s.Rules[id]
	if x == nil || !x.visible(c, s) {
		return nil, errf(http.StatusNotFound, "SecurityGroupRuleNotFound", "Security group rule %s does not exist", id)
	}
	return x, nil
}

func (x *SecurityGroup) body(s *state) map[string]any {
	rules := []map[string]any{}
	for _, r := range byCreation(s.Rules) {
		if r.SecurityGroupID == x.ID {
			rules = append(rules, r.body())
		}
	}
	return x.put(map[string]any{"security_group_rules": rules, "stateful": x.Stateful}, true)
}

func intPtr(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func (x *Rule) body() map[string]any {
	b := x.put(map[string]any{
		"security_group_id": x.SecurityGroupID, "direction": x.Direction, "ethertype": x.Ethertype,
		"protocol": strPtr(x.Protocol), "port_range_min": intPtr(x.PortRangeMin), "port_range_max": intPtr(x.PortRangeMax),
		"remote_ip_prefix": strPtr(x.RemoteIPPrefix), "remote_group_id": strPtr(x.RemoteGroupID),
	}, false)
	delete(b, "tags")
	return b
}

// DefaultSGName is the name of a project's default group.
const DefaultSGName = "default"

// ensureDefaultSG makes the project's default security group when it has
// none, as Neutron does on a project's first use, and returns its id.
func (n *Neutron) ensureDefaultSG(s *state, project string) string {
	if project == "" {
		return ""
	}
	for _, sg := range s.SecurityGroups {
		if sg.ProjectID == project && sg.Name == DefaultSGName {
			return sg.ID
		}
	}
	sg := &SecurityGroup{Stateful: true}
	sg.Std = n.newStd(s, project)
	sg.Name, sg.Description = DefaultSGName, "Default security group"
	s.SecurityGroups[sg.ID] = sg
	for _, eth := range []string{"IPv4", "IPv6"} {
		n.addRule(s, project, sg.ID, "egress", eth, nil)
		self := sg.ID
		n.addRule(s, project, sg.ID, "ingress", eth, &self)
	}
	return sg.ID
}

// ensureDefaultSGOnce is ensureDefaultSG outside a state change: the
// state changes (and is saved) only when the group is new.
func (n *Neutron) ensureDefaultSGOnce(project string) {
	if project == "" {
		return
	}
	found := false
	_ = n.state.View(func(s *state) error {
		for _, sg := range s.SecurityGroups {
			found = found || (sg.ProjectID == project && sg.Name == DefaultSGName)
		}
		return nil
	})
	if !found {
		_ = n.state.Update(func(s *state) error { n.ensureDefaultSG(s, project); return nil })
	}
}

func (n *Neutron) addRule(s *state, project, sgID, direction, ethertype string, remote *string) {
	r := &Rule{SecurityGroupID: sgID, Direction: direction, Ethertype: ethertype, RemoteGroupID: remote}
	r.Std = n.newStd(s, project)
	s.Rules[r.ID] = r
}

func parseSG(in map[string]any, x *SecurityGroup) error {
	if v, ok := in["name"]; ok {
		name, err := str("name", v, 255)
		if err != nil {
			return err
		}
		if strings.ToLower(name) == DefaultSGName {
			return errf(http.StatusConflict, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
		}
	}
	if err := setStdFields(&x.Std, in, true); err != nil {
		return err
	}
	if v, ok := in["stateful"]; ok {
		b, err := toBool(v)
		if err != nil {
			return err
		}
		x.Stateful = b
	}
	return nil
}

func (n *Neutron) createSG(s *state, c *caller, in map[string]any) (string, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	x := &SecurityGroup{Stateful: true}
	if err := parseSG(in, x); err != nil {
		return "", err
	}
	n.ensureDefaultSG(s, project)
	if err := s.checkQuota(project, "security_group", 1); err != nil {
		return "", err
	}
	std := x.Std
	x.Std = n.newStd(s, project)
	x.Name, x.Description = std.Name, std.Description
	s.SecurityGroups[x.ID] = x
	for _, eth := range []string{"IPv4", "IPv6"} {
		n.addRule(s, project, x.ID, "egress", eth, nil)
	}
	return x.ID, nil
}

func (n *Neutron) updateSG(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.securityGroup(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		return policyRefused("rule:update_security_group")
	}
	cp := *x
	if x.Name == DefaultSGName {
		if v, ok := in["name"]; ok && v != DefaultSGName {
			return errf(http.StatusConflict, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
		}
		delete(in, "name")
	}
	if err := parseSG(in, &cp); err != nil {
		return err
	}
	if cp.Stateful != x.Stateful {
		for _, p := range s.Ports {
			if slices.Contains(p.SecurityGroups, id) {
				return errf(http.StatusConflict, "SecurityGroupInUse", "Security Group %s in use.", id)
			}
		}
	}
	*x = cp
	n.touch(&x.Std)
	return nil
}

func (n *Neutron) deleteSG(s *state, c *caller, id string) error {
	x, err := s.securityGroup(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		return policyRefused("rule:delete_security_group")
	}
	if x.Name == DefaultSGName && !c.admin() {
		return errf(http.StatusConflict, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
	}
	for _, p := range s.Ports {
		if slices.Contains(p.SecurityGroups, id) {
			return errf(http.StatusConflict, "SecurityGroupInUse", "Security Group %s in use.", id)
		}
	}
	for rid, r := range s.Rules {
		if r.SecurityGroupID == id || (r.RemoteGroupID != nil && *r.RemoteGroupID == id) {
			delete(s.Rules, rid)
		}
	}
	delete(s.SecurityGroups, id)
	s.dropRBAC("security_group", id, "", "")
	return nil
}

var sgProtocols = map[string]int{"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
	"ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
	"ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17,
	"udplite": 136, "vrrp": 112}

// sgProtocolNames is sg_supported_protocols as Neutron prints it.
var sgProtocolNames = []any{nil, "ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "igmp", "ip", "ipip", "ipv6-encap",
	"ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "tcp",
	"udp", "udplite", "vrrp"}

// convertProtocol is securitygroup.convert_protocol.
func convertProtocol(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	bad := errf(http.StatusBadRequest, "SecurityGroupRuleInvalidProtocol", "Security group rule protocol %s not supported. Only protocol values %s and integer representations [0 to 255] are supported.", pyStr(v), pyStr(sgProtocolNames))
	switch x := v.(type) {
	case float64:
		if x != float64(int(x)) || x < 0 || x > 255 {
			return nil, bad
		}
		s := strconv.Itoa(int(x))
		return &s, nil
	case string:
		if i, err := strconv.Atoi(x); err == nil {
			if i < 0 || i > 255 {
				return nil, bad
			}
			return &x, nil
		}
		l := strings.ToLower(x)
		if _, ok := sgProtocols[l]; ok {
			return &l, nil
		}
	}
	return nil, bad
}

// protoNumber is a protocol's number ("tcp" and "6" are both 6).
func protoNumber(p string) int {
	if n, ok := sgProtocols[p]; ok {
		return n
	}
	n, _ := strconv.Atoi(p)
	return n
}

func convertPort(v any) (*int, error) {
	if v == nil {
		return nil, nil
	}
	i, err := toInt(v)
	if _, isBool := v.(bool); err != nil || isBool || i < 0 || i > 65535 {
		return nil, errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port %s", pyStr(v))
	}
	return &i, nil
}

// ruleKey is _rule_to_key: the fields that make two rules the same.
func ruleKey(r *Rule) string {
	norm := func(p *string) string {
		if p == nil {
			return "+"
		}
		return *p
	}
	prefix := norm(r.RemoteIPPrefix)
	if prefix == "0.0.0.0/0" || prefix == "::/0" {
		prefix = "+"
	}
	proto := "+"
	if r.Protocol != nil {
		proto = strconv.Itoa(protoNumber(*r.Protocol))
	}
	port := func(p *int) string {
		if p == nil {
			return "+"
		}
		return strconv.Itoa(*p)
	}
	return strings.Join([]string{r.Direction, r.Ethertype, port(r.PortRangeMax), port(r.PortRangeMin), proto,
		norm(r.RemoteGroupID), prefix, r.SecurityGroupID}, "_")
}

func (n *Neutron) createRule(s *state, c *caller, in map[string]any, checkQuota bool) (string, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	sgID, err := str("security_group_id", in["security_group_id"], 36)
	if err != nil {
		return "", err
	}
	r := &Rule{SecurityGroupID: sgID, Ethertype: "IPv4"}
	if err := setStdFields(&r.Std, in, false); err != nil {
		return "", err
	}
	dir, _ := in["direction"].(string)
	if dir != "ingress" && dir != "egress" {
		return "", badRequest("Invalid input for direction. Reason: %s is not in ['ingress', 'egress'].", pyStr(in["direction"]))
	}
	r.Direction = dir
	if r.Protocol, err = convertProtocol(in["protocol"]); err != nil {
		return "", err
	}
	if r.PortRangeMin, err = convertPort(in["port_range_min"]); err != nil {
		return "", err
	}
	if r.PortRangeMax, err = convertPort(in["port_range_max"]); err != nil {
		return "", err
	}
	if v, ok := in["ethertype"]; ok {
		s, _ := v.(string)
		switch strings.ToLower(s) {
		case "ipv4":
			r.Ethertype = "IPv4"
		case "ipv6":
			r.Ethertype = "IPv6"
		default:
			return "", errf(http.StatusBadRequest, "SecurityGroupRuleInvalidEtherType", "Security group rule for ethertype '%s' not supported. Allowed values are ['IPv4', 'IPv6'].", pyStr(v))
		}
	}
	if v, ok := in["remote_ip_prefix"]; ok && v != nil && v != "" {
		sv, _ := v.(string)
		var p netip.Prefix
		if a, ok := parseIP(sv); ok {
			p = netip.PrefixFrom(a, a.BitLen())
		} else if p, err = netip.ParsePrefix(sv); err != nil {
			return "", errf(http.StatusBadRequest, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", pyStr(v))
		}
		ps := p.String()
		r.RemoteIPPrefix = &ps
	}
	if v, ok := in["remote_group_id"]; ok && v != nil {
		id, _ := v.(string)
		r.RemoteGroupID = &id
	}
	// _validate_security_group_rule.
	if r.Ethertype == "IPv6" && r.Protocol != nil {
		switch *r.Protocol {
		case "icmp", "icmpv6":
			p := "ipv6-icmp"
			r.Protocol = &p
		case "1":
			p := "58"
			r.Protocol = &p
		}
	}
	if r.PortRangeMin != nil && r.PortRangeMax != nil && *r.PortRangeMin == 1 && *r.PortRangeMax == 65535 {
		r.PortRangeMin, r.PortRangeMax = nil, nil
	}
	if err := checkPortRange(r); err != nil {
		return "", err
	}
	if r.RemoteIPPrefix != nil {
		p := mustPrefix(*r.RemoteIPPrefix)
		if (r.Ethertype == "IPv4") != p.Addr().Is4() {
			return "", errf(http.StatusBadRequest, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype %s for CIDR %s", r.Ethertype, pyStr(in["remote_ip_prefix"]))
		}
	}
	if r.Protocol != nil && r.Ethertype == "IPv4" {
		switch *r.Protocol {
		case "ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "41", "44", "58", "59", "60", "43":
			return "", errf(http.StatusBadRequest, "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype %s for protocol %s.", r.Ethertype, *r.Protocol)
		}
	}
	if r.RemoteIPPrefix != nil && r.RemoteGroupID != nil {
		return "", errf(http.StatusBadRequest, "SecurityGroupMultipleRemoteEntites", "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
	}
	if r.RemoteGroupID != nil {
		if g := s.SecurityGroups[*r.RemoteGroupID]; g == nil || !(g.ProjectID == project || c.admin()) {
			return "", sgNotFound(*r.RemoteGroupID)
		}
	}
	sg := s.SecurityGroups[sgID]
	if sg == nil || !(sg.ProjectID == project || c.admin()) {
		return "", sgNotFound(sgID)
	}
	key := ruleKey(r)
	for _, o := range byCreation(s.Rules) {
		if o.SecurityGroupID == sgID && ruleKey(o) == key {
			return "", errf(http.StatusConflict, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", o.ID)
		}
	}
	if checkQuota {
		if err := s.checkQuota(project, "security_group_rule", 1); err != nil {
			return "", err
		}
	}
	desc := r.Description
	r.Std = n.newStd(s, project)
	r.Description = desc
	s.Rules[r.ID] = r
	n.touch(&sg.Std)
	return r.ID, nil
}

// checkPortRange is _validate_port_range.
func checkPortRange(r *Rule) error {
	if r.PortRangeMin == nil && r.PortRangeMax == nil {
		return nil
	}
	if r.Protocol == nil {
		return errf(http.StatusBadRequest, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
	}
	switch protoNumber(*r.Protocol) {
	case 6, 17, 33, 132:
		if (r.PortRangeMin != nil && *r.PortRangeMin == 0) || (r.PortRangeMax != nil && *r.PortRangeMax == 0) {
			return errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port 0")
		}
		if r.PortRangeMin == nil || r.PortRangeMax == nil || *r.PortRangeMin > *r.PortRangeMax {
			return errf(http.StatusBadRequest, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
		}
	case 1, 58:
		for _, f := range []struct {
			v           *int
			attr, field string
		}{{r.PortRangeMin, "port_range_min", "type"}, {r.PortRangeMax, "port_range_max", "code"}} {
			if f.v != nil && (*f.v < 0 || *f.v > 255) {
				return errf(http.StatusBadRequest, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP %s (%s) %d. It must be 0 to 255.", f.field, f.attr, *f.v)
			}
		}
		if r.PortRangeMin == nil && r.PortRangeMax != nil {
			return errf(http.StatusBadRequest, "SecurityGroupMissingIcmpType", "ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *r.PortRangeMax)
		}
	default:
		return errf(http.StatusBadRequest, "SecurityGroupInvalidProtocolForPort", "Ports cannot be specified for protocol %d. Ports are only supported for DCCP, SCTP, TCP, UDP.", protoNumber(*r.Protocol))
	}
	return nil
}
