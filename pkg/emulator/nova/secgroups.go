package nova

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// The os-security-groups and os-security-group-rules proxies: Nova still
// serves them up to microversion 2.35 (404 from 2.36), forwarding each
// call to Neutron with the caller's token as nova/network/
// security_group_api.py does, in Nova's formats. Clients in use reach
// them: python-openstackclient 6.0's `server add/remove security group`
// looks the group up through GET /os-security-groups[/{id}].

// proxyGone answers 404 past MAX_PROXY_API_SUPPORT_VERSION (2.35).
func proxyGone(r *http.Request) error {
	if core.MicroversionOf(r).AtLeast("2.36") {
		return core.NotFound("The resource could not be found.")
	}
	return nil
}

type neutronSGRule struct {
	ID              string  `json:"id"`
	SecurityGroupID string  `json:"security_group_id"`
	Direction       string  `json:"direction"`
	Protocol        *string `json:"protocol"`
	PortRangeMin    *int    `json:"port_range_min"`
	PortRangeMax    *int    `json:"port_range_max"`
	RemoteGroupID   *string `json:"remote_group_id"`
	RemoteIPPrefix  *string `json:"remote_ip_prefix"`
}

type neutronSG struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	ProjectID   string          `json:"project_id"`
	Rules       []neutronSGRule `json:"security_group_rules"`
}

var uuidLike = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// validateSGID is security_group_api.validate_id.
func validateSGID(id string) error {
	if !uuidLike.MatchString(strings.TrimSpace(id)) {
		return core.BadRequest("Security group id should be uuid")
	}
	return nil
}

// neutronError maps Neutron's answer to a call the way the proxy does:
// 404 to 404, 409 and 400 to 400 (exception.Invalid), anything else to
// itself, each with Neutron's message.
func neutronError(err error, conflict int) error {
	switch s := callStatus(err); s {
	case 0:
		return err
	case http.StatusNotFound:
		return core.NotFound("%s", callMessage(err))
	case http.StatusConflict:
		return core.Errorf(conflict, "%s", callMessage(err))
	case http.StatusBadRequest:
		return core.BadRequest("%s", callMessage(err))
	default:
		return core.Errorf(s, "%s", callMessage(err))
	}
}

func (n *Nova) neutronSG(r *http.Request, id string) (*neutronSG, error) {
	if !n.has("network") {
		return nil, core.NotFound("Security group %s not found.", id)
	}
	var out struct {
		SG neutronSG `json:"security_group"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/security-groups/"+id, nil, nil, &out); err != nil {
		return nil, neutronError(err, http.StatusBadRequest)
	}
	return &out.SG, nil
}

// sgRuleFormat is _convert_to_nova_security_group_rule_format then
// _format_security_group_rule: group names the remote group, ip_range the
// CIDR (0.0.0.0/0 when Neutron has none). ok is false when the remote
// group no longer exists (Nova leaves the rule out).
func sgRuleFormat(rule neutronSGRule, groups map[string]map[string]any) (map[string]any, bool) {
	out := map[string]any{"id": rule.ID, "parent_group_id": rule.SecurityGroupID, "ip_protocol": rule.Protocol,
		"group": map[string]any{}, "ip_range": map[string]any{}}
	if rule.Protocol != nil && rule.PortRangeMin == nil && rule.PortRangeMax == nil {
		if p := strings.ToUpper(*rule.Protocol); p == "TCP" || p == "UDP" {
			out["from_port"], out["to_port"] = 1, 65535
		} else {
			out["from_port"], out["to_port"] = -1, -1
		}
	} else {
		out["from_port"], out["to_port"] = rule.PortRangeMin, rule.PortRangeMax
	}
	if rule.RemoteGroupID != nil && *rule.RemoteGroupID != "" {
		g, ok := groups[*rule.RemoteGroupID]
		if !ok || g == nil {
			return nil, false
		}
		out["group"] = g
		return out, true
	}
	cidr := "0.0.0.0/0"
	if rule.RemoteIPPrefix != nil && *rule.RemoteIPPrefix != "" {
		cidr = *rule.RemoteIPPrefix
	}
	out["ip_range"] = map[string]any{"cidr": cidr}
	return out, true
}

// sgFormat is _format_security_group: ingress rules only. groups holds
// the {name, tenant_id} of the groups rules may name; missing ones are
// looked up in Neutron (nil when gone).
func (n *Nova) sgFormat(r *http.Request, sg neutronSG, groups map[string]map[string]any) map[string]any {
	rules := []any{}
	for _, rule := range sg.Rules {
		if rule.Direction != "ingress" {
			continue
		}
		if g := rule.RemoteGroupID; g != nil && *g != "" {
			if _, known := groups[*g]; !known {
				groups[*g] = nil
				if other, err := n.neutronSG(r, *g); err == nil {
					groups[*g] = map[string]any{"name": other.Name, "tenant_id": other.ProjectID}
				}
			}
		}
		if f, ok := sgRuleFormat(rule, groups); ok {
			rules = append(rules, f)
		}
	}
	return map[string]any{"id": sg.ID, "name": sg.Name, "description": sg.Description, "tenant_id": sg.ProjectID, "rules": rules}
}

// sgFormatAll formats groups sorted by (tenant_id, name), as the index
// answers.
func (n *Nova) sgFormatAll(r *http.Request, sgs []neutronSG) []any {
	groups := map[string]map[string]any{}
	for _, sg := range sgs {
		groups[sg.ID] = map[string]any{"name": sg.Name, "tenant_id": sg.ProjectID}
	}
	sort.SliceStable(sgs, func(i, j int) bool {
		if sgs[i].ProjectID != sgs[j].ProjectID {
			return sgs[i].ProjectID < sgs[j].ProjectID
		}
		return sgs[i].Name < sgs[j].Name
	})
	out := []any{}
	for _, sg := range sgs {
		out = append(out, n.sgFormat(r, sg, groups))
	}
	return out
}

// limited is nova.api.openstack.common.limited: offset, then at most
// limit (0 or none: the maximum, 1000) items.
func limited(r *http.Request, length int) (int, int, error) {
	q := r.URL.Query()
	offset, limit := 0, 1000
	for _, p := range []string{"offset", "limit"} {
		s := q.Get(p)
		if s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || strings.HasPrefix(s, "+") {
			return 0, 0, core.BadRequest("Invalid input for query parameters %s. Value: %s. '%s' does not match '^[0-9]*$'", p, s, s)
		}
		if p == "offset" {
			offset = v
		} else if v > 0 && v < limit {
			limit = v
		}
	}
	if offset > length {
		offset = length
	}
	end := offset + limit
	if end > length {
		end = length
	}
	return offset, end, nil
}

func (n *Nova) listSecurityGroups(w http.ResponseWriter, r *http.Request) error {
	if err := proxyGone(r); err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	var sgs []neutronSG
	if n.has("network") {
		q := url.Values{"project_id": {caller.ProjectID}}
		if caller.IsAdmin() && r.URL.Query().Has("all_tenants") {
			q = nil
		}
		var out struct {
			SGs []neutronSG `json:"security_groups"`
		}
		if err := n.call(r, "network", "GET", "/v2.0/security-groups", q, nil, &out); err != nil {
			return neutronError(err, http.StatusBadRequest)
		}
		sgs = out.SGs
	}
	// Nova sorts the page it cut from Neutron's order (creation), not
	// the whole list.
	start, end, err := limited(r, len(sgs))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"security_groups": n.sgFormatAll(r, sgs[start:end])})
	return nil
}

func (n *Nova) showSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	if err := proxyGone(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := validateSGID(id); err != nil {
		return err
	}
	sg, err := n.neutronSG(r, id)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"security_group": n.sgFormat(r, *sg, map[string]map[string]any{sg.ID: {"name": sg.Name, "tenant_id": sg.ProjectID}})})
	return nil
}

// sgBody is _from_body: the request's object under key.
func sgBody(r *http.Request, key string) (map[string]any, error) {
	var body any
	if r.ContentLength != 0 {
		var err error
		if body, err = readBody(r); err != nil {
			return nil, err
		}
	}
	m, _ := body.(map[string]any)
	if len(m) == 0 {
		return nil, core.BadRequest("The request body can't be empty")
	}
	v, ok := m[key]
	if !ok || v == nil {
		return nil, core.BadRequest("Missing parameter %s", key)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, core.BadRequest("Malformed request body")
	}
	return obj, nil
}

// sgProperties is validate_property on name and description (oslo's
// check_string_length, 0-255 characters).
func sgProperties(in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, k := range []string{"name", "description"} {
		s, ok := in[k].(string)
		if !ok {
			return nil, core.BadRequest("%s is not a string or unicode", k)
		}
		if l := len([]rune(s)); l > 255 {
			return nil, core.BadRequest("%s has %d characters, more than 255.", k, l)
		}
		out[k] = s
	}
	return out, nil
}

func (n *Nova) createSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	if err := proxyGone(r); err != nil {
		return err
	}
	in, err := sgBody(r, "security_group")
	if err != nil {
		return err
	}
	props, err := sgProperties(in)
	if err != nil {
		return err
	}
	if !n.has("network") {
		return core.BadRequest("Bad Request - Invalid Parameters")
	}
	var out struct {
		SG neutronSG `json:"security_group"`
	}
	if err := n.call(r, "network", "POST", "/v2.0/security-groups", nil, map[string]any{"security_group": props}, &out); err != nil {
		// Neutron's 409 is its quota: SecurityGroupLimitExceeded.
		return neutronError(err, http.StatusForbidden)
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"security_group": n.sgFormat(r, out.SG, map[string]map[string]any{out.SG.ID: {"name": out.SG.Name, "tenant_id": out.SG.ProjectID}})})
	return nil
}

func (n *Nova) updateSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	if err := proxyGone(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := validateSGID(id); err != nil {
		return err
	}
	if _, err := n.neutronSG(r, id); err != nil {
		return err
	}
	in, err := sgBody(r, "security_group")
	if err != nil {
		return err
	}
	props, err := sgProperties(in)
	if err != nil {
		return err
	}
	var out struct {
		SG neutronSG `json:"security_group"`
	}
	if err := n.call(r, "network", "PUT", "/v2.0/security-groups/"+id, nil, map[string]any{"security_group": props}, &out); err != nil {
		return neutronError(err, http.StatusBadRequest)
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"security_group": n.sgFormat(r, out.SG, map[string]map[string]any{out.SG.ID: {"name": out.SG.Name, "tenant_id": out.SG.ProjectID}})})
	return nil
}

func (n *Nova) deleteSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	if err := proxyGone(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := validateSGID(id); err != nil {
		return err
	}
	if _, err := n.neutronSG(r, id); err != nil {
		return err
	}
	if err := n.call(r, "network", "DELETE", "/v2.0/security-groups/"+id, nil, nil, nil); err != nil {
		// In use (409 in Neutron): exception.Invalid, 400.
		return neutronError(err, http.StatusBadRequest)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// createSecurityGroupRule is SecurityGroupRulesController.create: an
// ingress rule from a CIDR or a group, with Nova's checks of the protocol
// and ports, sent to Neutron.
func (n *Nova) createSecurityGroupRule(w http.ResponseWriter, r *http.Request) error {
	if err := proxyGone(r); err != nil {
		return err
	}
	in, err := sgBody(r, "security_group_rule")
	if err != nil {
		return err
	}
	parent, _ := in["parent_group_id"].(string)
	if err := validateSGID(parent); err != nil {
		return err
	}
	sg, err := n.neutronSG(r, parent)
	if err != nil {
		return err
	}
	groups := map[string]map[string]any{sg.ID: {"name": sg.Name, "tenant_id": sg.ProjectID}}
	var groupID string
	if g, ok := in["group_id"]; ok && g != nil {
		groupID, _ = g.(string)
		if err := validateSGID(groupID); err != nil {
			return err
		}
		src, err := n.neutronSG(r, groupID)
		if err != nil {
			return err
		}
		groups[src.ID] = map[string]any{"name": src.Name, "tenant_id": src.ProjectID}
	}
	proto, _ := in["ip_protocol"].(string)
	if v, ok := in["ip_protocol"]; ok && v != nil && proto == "" {
		proto = fmt.Sprint(v)
	}
	from, to := portArg(in["from_port"]), portArg(in["to_port"])
	cidr := ""
	if groupID != "" {
		switch strings.ToUpper(proto) {
		case "ICMP":
			if from == nil && to == nil {
				from, to = "-1", "-1"
			}
		case "TCP", "UDP":
			if from == nil && to == nil {
				from, to = "1", "65535"
			}
		}
	} else {
		cidr, _ = in["cidr"].(string)
		if cidr == "" {
			cidr = "0.0.0.0/0"
		} else if c, err := url.PathUnescape(cidr); err == nil {
			cidr = c
		}
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			return core.BadRequest("%s is not a valid IP network.", cidr)
		}
	}
	rule := map[string]any{"direction": "ingress", "security_group_id": sg.ID, "ethertype": "IPv4"}
	if proto == "" || from == nil || to == nil {
		if groupID == "" {
			return core.BadRequest("Not enough parameters to build a valid rule.")
		}
		rule["protocol"] = nil
	} else {
		f, ferr := strconv.Atoi(fmt.Sprint(from))
		t, terr := strconv.Atoi(fmt.Sprint(to))
		up := strings.ToUpper(proto)
		switch {
		case ferr != nil || terr != nil:
			if up == "ICMP" {
				return core.BadRequest("Invalid input received: Type and Code must be integers for ICMP protocol type")
			}
			return core.BadRequest("Invalid input received: To and From ports must be integers")
		case up != "TCP" && up != "UDP" && up != "ICMP":
			return core.BadRequest("Invalid IP protocol %s.", proto)
		case (up == "TCP" || up == "UDP") && f > t:
			return core.BadRequest("Invalid port range %d:%d. Former value cannot be greater than the later", f, t)
		case (up == "TCP" || up == "UDP") && (f < 1 || t > 65535):
			return core.BadRequest("Invalid port range %d:%d. Valid %s ports should be between 1-65535", f, t, up)
		case up == "ICMP" && (f < -1 || f > 255 || t < -1 || t > 255):
			return core.BadRequest("Invalid port range %d:%d. For ICMP, the type:code must be valid", f, t)
		}
		rule["protocol"] = proto
		if f != -1 {
			rule["port_range_min"] = f
		}
		if t != -1 {
			rule["port_range_max"] = t
		}
	}
	if cidr != "" {
		if ip, ipnet, _ := net.ParseCIDR(cidr); ip != nil && ip.To4() == nil {
			rule["ethertype"] = "IPv6"
			if ones, _ := ipnet.Mask.Size(); ones == 0 && !ip.Equal(net.IPv6zero) {
				return core.BadRequest("Bad prefix for network in cidr %s", cidr)
			}
		} else if ip != nil {
			if ones, _ := ipnet.Mask.Size(); ones == 0 && !ip.Equal(net.IPv4zero) {
				return core.BadRequest("Bad prefix for network in cidr %s", cidr)
			}
		}
		rule["remote_ip_prefix"] = cidr
	}
	if groupID != "" {
		rule["remote_group_id"] = groupID
	}
	var out struct {
		Rule neutronSGRule `json:"security_group_rule"`
	}
	if err := n.call(r, "network", "POST", "/v2.0/security-group-rules", nil, map[string]any{"security_group_rule": rule}, &out); err != nil {
		// Neutron's 409 is a duplicate rule or its quota.
		if callStatus(err) == http.StatusConflict && strings.Contains(callMessage(err), "already exists") {
			return core.BadRequest("This rule already exists in group %s", sg.ID)
		}
		return neutronError(err, http.StatusForbidden)
	}
	f, _ := sgRuleFormat(out.Rule, groups)
	core.WriteJSON(w, http.StatusOK, map[string]any{"security_group_rule": f})
	return nil
}

// portArg keeps a port as given (a number or a string), nil when absent.
func portArg(v any) any {
	switch p := v.(type) {
	case nil:
		return nil
	case float64:
		return strconv.FormatFloat(p, 'f', -1, 64)
	default:
		return fmt.Sprint(p)
	}
}

func (n *Nova) deleteSecurityGroupRule(w http.ResponseWriter, r *http.Request) error {
	if err := proxyGone(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := validateSGID(id); err != nil {
		return err
	}
	if !n.has("network") {
		return core.NotFound("Security group %s not found.", id)
	}
	var out struct {
		Rule neutronSGRule `json:"security_group_rule"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/security-group-rules/"+id, nil, nil, &out); err != nil {
		return neutronError(err, http.StatusConflict)
	}
	if _, err := n.neutronSG(r, out.Rule.SecurityGroupID); err != nil {
		return err
	}
	if err := n.call(r, "network", "DELETE", "/v2.0/security-group-rules/"+id, nil, nil, nil); err != nil {
		return neutronError(err, http.StatusConflict)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// lookupSecurityGroup is neutronclient's find_resourceid_by_name_or_id
// as add_to_instance/remove_from_instance use it: an id, else a unique
// name in the caller's project (409 when several match, 404 when none).
func (n *Nova) lookupSecurityGroup(r *http.Request, name string) (string, error) {
	caller := core.IdentityOf(r)
	var byID struct {
		SGs []neutronSG `json:"security_groups"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/security-groups", url.Values{"id": {name}, "fields": {"id"}}, nil, &byID); err != nil {
		return "", neutronError(err, http.StatusConflict)
	}
	if len(byID.SGs) == 1 {
		return byID.SGs[0].ID, nil
	}
	var byName struct {
		SGs []neutronSG `json:"security_groups"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/security-groups", url.Values{"name": {name}, "project_id": {caller.ProjectID}, "fields": {"id"}}, nil, &byName); err != nil {
		return "", neutronError(err, http.StatusConflict)
	}
	switch len(byName.SGs) {
	case 0:
		return "", core.NotFound("Security group %s is not found for project %s", name, caller.ProjectID)
	case 1:
		return byName.SGs[0].ID, nil
	}
	return "", core.Conflict("Multiple security_group matches found for name '%s', use an ID to be more specific.", name)
}
