package neutron

import (
	"net/http"
	"slices"
	"sort"
)

var networkKind = &kind{
	path: "networks", collection: "networks", resource: "network", tagged: true, bulk: true,
	attrs: attrs(`id: name:pu description:pu admin_state_up:pu status: subnets: shared:pu tenant_id:p project_id:p
		router:external:pu provider:network_type:pu provider:physical_network:pu provider:segmentation_id:pu
		mtu:pu port_security_enabled:pu availability_zone_hints:p availability_zones: created_at: updated_at:
		revision_number: tags:`),
	filters: filters(`id name description admin_state_up:b status tenant_id project_id shared:b router:external:b
		provider:network_type provider:physical_network provider:segmentation_id:i mtu:i port_security_enabled:b
		revision_number:i created_at updated_at`),
	sorts: []string{"id", "name", "admin_state_up", "status", "tenant_id", "project_id", "mtu", "created_at", "updated_at", "revision_number"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.Networks) {
			if s.netVisible(x, c) {
				out = append(out, x.body(s, c))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.network(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(s, c), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		x, err := n.createNetwork(s, c, in)
		if err != nil {
			return "", err
		}
		return x.ID, nil
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateNetwork(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error { return n.deleteNetwork(s, c, id) },
	std: func(s *state, c *caller, id string) (*Std, error) {
		x, err := s.network(c, id)
		if err != nil {
			return nil, err
		}
		return &x.Std, nil
	},
}

func init() { kinds = append(kinds, networkKind) }

// byCreation returns a map's values in creation order.
func byCreation[T interface{ seq() int64 }](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq() < out[j].seq() })
	return out
}

func (st *Std) seq() int64 { return st.Seq }

// netVisible is get_network's policy with the RBAC query hook: the owner,
// admins, and the projects an access_as_shared or access_as_external
// entry names (or every project, "*").
func (s *state) netVisible(x *Network, c *caller) bool {
	return c.owns(x.ProjectID) || s.rbacGrants("network", x.ID, accessShared, c.ProjectID) ||
		s.rbacGrants("network", x.ID, accessExternal, c.ProjectID)
}

// netUsable: the project may put ports and subnets on the network (its
// own, or shared with it).
func (s *state) netUsable(x *Network, project string) bool {
	return x.ProjectID == project || s.sharedWith("network", x.ID, project)
}

func networkNotFound(id string) error {
	return errf(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", id)
}

// network returns the network the caller may see.
func (s *state) network(c *caller, id string) (*Network, error) {
	x := s.Networks[id]
	if x == nil || !s.netVisible(x, c) {
		return nil, networkNotFound(id)
	}
	return x, nil
}

// body: shared is whether it is shared with the caller's project (or
// everyone), as is_network_shared says.
func (x *Network) body(s *state, c *caller) map[string]any {
	subnets := []string{}
	for _, sub := range byCreation(s.Subnets) {
		if sub.NetworkID == x.ID {
			subnets = append(subnets, sub.ID)
		}
	}
	hints := x.AZHints
	if hints == nil {
		hints = []string{}
	}
	var segID any
	if x.SegmentationID != nil {
		segID = *x.SegmentationID
	}
	var physnet any
	if x.PhysicalNetwork != nil {
		physnet = *x.PhysicalNetwork
	}
	return x.put(map[string]any{
		"admin_state_up": x.AdminStateUp, "status": "ACTIVE", "subnets": subnets, "shared": s.sharedWith("network", x.ID, c.ProjectID),
		"router:external": x.External, "mtu": x.MTU, "port_security_enabled": x.PortSecurity,
		"availability_zone_hints": hints, "availability_zones": []string{AvailabilityZone},
		"provider:network_type": x.NetworkType, "provider:physical_network": physnet, "provider:segmentation_id": segID,
		"ipv4_address_scope": s.networkAddressScope(x.ID, 4), "ipv6_address_scope": s.networkAddressScope(x.ID, 6),
	}, true)
}

// overQuota is Neutron's OverQuota (409).
func overQuota(resource string) error {
	return errf(http.StatusConflict, "OverQuota", "Quota exceeded for resources: ['%s'].", resource)
}

// checkQuota fails when one more resource would exceed the project's quota.
func (s *state) checkQuota(project, resource string, delta int) error {
	if project == "" {
		return nil
	}
	if !s.Quotas.Allows(project, resource, s.usage(project, resource), delta) {
		return overQuota(resource)
	}
	return nil
}

// usage counts a project's resources of a quota resource.
func (s *state) usage(project, resource string) int {
	n := 0
	count := func(p string) {
		if p == project {
			n++
		}
	}
	switch resource {
	case "network":
		for _, x := range s.Networks {
			count(x.ProjectID)
		}
	case "subnet":
		for _, x := range s.Subnets {
			count(x.ProjectID)
		}
	case "subnetpool":
		for _, x := range s.SubnetPools {
			count(x.ProjectID)
		}
	case "port":
		for _, x := range s.Ports {
			count(x.ProjectID)
		}
	case "router":
		for _, x := range s.Routers {
			count(x.ProjectID)
		}
	case "floatingip":
		for _, x := range s.FloatingIPs {
			count(x.ProjectID)
		}
	case "security_group":
		for _, x := range s.SecurityGroups {
			count(x.ProjectID)
		}
	case "security_group_rule":
		for _, x := range s.Rules {
			count(x.ProjectID)
		}
	case "rbac_policy":
		for _, x := range s.RBAC {
			count(x.ProjectID)
		}
	}
	return n
}

var networkTypes = []string{"flat", "vlan", "vxlan", "geneve", "gre", "local"}

// networkSpec is the validated input of a network create or update.
type networkSpec struct {
	set map[string]bool
	Network
}

// parseNetwork validates the attributes present in in (create or update)
// into spec, checking the attribute policies.
func parseNetwork(c *caller, in map[string]any, create bool, spec *networkSpec) error {
	spec.set = map[string]bool{}
	if err := setStdFields(&spec.Std, in, true); err != nil {
		return err
	}
	action := "update_network"
	if create {
		action = "create_network"
	}
	// Attribute policies: on a create only a value other than the default
	// needs them, on an update any value does.
	adminAttr := func(name string, isDefault bool) error {
		if !c.admin() && (!create || !isDefault) {
			return policyAttr(action, name)
		}
		return nil
	}
	for _, key := range sortedKeys(in) {
		v := in[key]
		spec.set[key] = true
		switch key {
		case "admin_state_up", "shared", "router:external", "port_security_enabled":
			b, err := toBool(v)
			if err != nil {
				return err
			}
			switch key {
			case "admin_state_up":
				spec.AdminStateUp = b
			case "shared":
				if err := adminAttr(key, !b); err != nil {
					return err
				}
				spec.Shared = b
			case "router:external":
				if err := adminAttr(key, !b); err != nil {
					return err
				}
				spec.External = b
			case "port_security_enabled":
				spec.PortSecurity = b
			}
		case "provider:network_type":
			if err := adminAttr(key, false); err != nil {
				return err
			}
			s, err := str(key, v, 255)
			if err != nil {
				return err
			}
			if !slices.Contains(networkTypes, s) {
				return invalidInput("network_type value '%s' not supported", s)
			}
			spec.NetworkType = s
		case "provider:physical_network":
			if err := adminAttr(key, false); err != nil {
				return err
			}
			if v != nil {
				s, err := str(key, v, 64)
				if err != nil {
					return err
				}
				spec.PhysicalNetwork = &s
			}
		case "provider:segmentation_id":
			if err := adminAttr(key, false); err != nil {
				return err
			}
			if v != nil {
				i, err := toInt(v)
				if err != nil {
					return err
				}
				spec.SegmentationID = &i
			}
		case "mtu":
			i, err := toInt(v)
			if err != nil {
				return err
			}
			if i < 0 {
				return badRequest("Invalid input for mtu. Reason: '%d' should be non-negative.", i)
			}
			spec.MTU = i
		case "availability_zone_hints":
			hints, err := stringList(key, v)
			if err != nil {
				return err
			}
			for _, h := range hints {
				if h != AvailabilityZone {
					return errf(http.StatusNotFound, "AvailabilityZoneNotFound", "AvailabilityZone %s could not be found.", h)
				}
			}
			spec.AZHints = hints
		}
	}
	return nil
}

func (n *Neutron) createNetwork(s *state, c *caller, in map[string]any) (*Network, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	spec := networkSpec{Network: Network{AdminStateUp: true, PortSecurity: true}}
	if err := parseNetwork(c, in, true, &spec); err != nil {
		return nil, err
	}
	x := spec.Network
	if spec.NetworkType == "" {
		if spec.PhysicalNetwork != nil || spec.SegmentationID != nil {
			return nil, invalidInput("network_type required")
		}
		x.NetworkType = "vxlan"
	}
	maxMTU := TenantMTU
	switch x.NetworkType {
	case "flat":
		if x.PhysicalNetwork == nil {
			return nil, invalidInput("physical_network required for flat provider network")
		}
		if x.SegmentationID != nil {
			return nil, invalidInput("segmentation_id specified for flat provider network")
		}
		for _, o := range s.Networks {
			if o.NetworkType == "flat" && o.PhysicalNetwork != nil && *o.PhysicalNetwork == *x.PhysicalNetwork {
				return nil, errf(http.StatusConflict, "FlatNetworkInUse", "Unable to create the flat network. Physical network %s is in use.", *x.PhysicalNetwork)
			}
		}
		maxMTU = 1500
	case "vlan":
		if x.PhysicalNetwork == nil {
			return nil, invalidInput("physical_network required for VLAN provider network")
		}
		if x.SegmentationID != nil && (*x.SegmentationID < 1 || *x.SegmentationID > 4094) {
			return nil, invalidInput("segmentation_id out of range (1 through 4094)")
		}
		maxMTU = 1500
	case "local":
		x.SegmentationID, x.PhysicalNetwork = nil, nil
		maxMTU = 1500
	}
	if x.NetworkType == "vlan" || x.NetworkType == "vxlan" || x.NetworkType == "geneve" || x.NetworkType == "gre" {
		if x.SegmentationID == nil {
			id := s.NextVNI
			x.SegmentationID = &id
		}
		for _, o := range s.Networks {
			if o.NetworkType == x.NetworkType && o.SegmentationID != nil && *o.SegmentationID == *x.SegmentationID &&
				(x.NetworkType != "vlan" || *o.PhysicalNetwork == *x.PhysicalNetwork) {
				if x.NetworkType == "vlan" {
					return nil, errf(http.StatusConflict, "VlanIdInUse", "Unable to create the network. The VLAN %d on physical network %s is in use.", *x.SegmentationID, *x.PhysicalNetwork)
				}
				return nil, errf(http.StatusConflict, "TunnelIdInUse", "Unable to create the network. The tunnel ID %d is in use.", *x.SegmentationID)
			}
		}
	}
	if !spec.set["mtu"] {
		x.MTU = maxMTU
	} else if x.MTU > maxMTU {
		return nil, invalidInput("Requested MTU is too big, maximum is %d", maxMTU)
	} else if x.MTU < 68 {
		return nil, invalidInput("Requested MTU is too small, minimum is 68")
	}
	if err := s.checkQuota(project, "network", 1); err != nil {
		return nil, err
	}
	if x.SegmentationID != nil && *x.SegmentationID >= s.NextVNI && x.NetworkType != "vlan" {
		s.NextVNI = *x.SegmentationID + 1
	}
	x.Std = n.newStd(s, project)
	x.Name, x.Description = spec.Name, spec.Description
	s.Networks[x.ID] = &x
	// Neutron records sharing and external access as RBAC entries.
	if x.Shared {
		n.addRBAC(s, project, "network", x.ID, accessShared, "*")
	}
	if x.External {
		n.addRBAC(s, project, "network", x.ID, accessExternal, "*")
	}
	n.ensureDefaultSG(s, project)
	return &x, nil
}

func (n *Neutron) updateNetwork(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.network(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		return policyRefused("rule:update_network")
	}
	spec := networkSpec{Network: *x}
	if err := parseNetwork(c, in, false, &spec); err != nil {
		return err
	}
	if spec.set["mtu"] {
		maxMTU := TenantMTU
		if x.NetworkType == "flat" || x.NetworkType == "vlan" || x.NetworkType == "local" {
			maxMTU = 1500
		}
		if spec.MTU > maxMTU {
			return invalidInput("Requested MTU is too big, maximum is %d", maxMTU)
		}
		if spec.MTU < 68 {
			return invalidInput("Requested MTU is too small, minimum is 68")
		}
	}
	if x.Shared && spec.set["shared"] && !spec.Shared {
		// _validate_shared_update: other projects' ports need an entry of
		// their own.
		for _, p := range s.Ports {
			if p.NetworkID == x.ID && p.ProjectID != x.ProjectID && p.ProjectID != "" &&
				!slices.ContainsFunc(s.rbacEntries("network", x.ID, accessShared), func(e *RBACPolicy) bool { return e.Target == p.ProjectID }) {
				return errf(http.StatusConflict, "InvalidSharedSetting", "Unable to reconfigure sharing settings for network %s. Multiple tenants are using it.", x.Name)
			}
		}
	}
	if x.External && spec.set["router:external"] && !spec.External {
		for _, p := range s.Ports {
			if p.NetworkID == x.ID && p.DeviceOwner == ownerRouterGateway {
				return errf(http.StatusConflict, "ExternalNetworkInUse", "External network %s cannot be updated to be made non-external, since it has existing gateway ports.", x.ID)
			}
		}
	}
	std := x.Std
	wasShared, wasExternal := x.Shared, x.External
	*x = spec.Network
	x.Std = std
	x.Name, x.Description = spec.Name, spec.Description
	n.touch(&x.Std)
	switch {
	case x.Shared && !wasShared:
		n.addRBAC(s, x.ProjectID, "network", x.ID, accessShared, "*")
	case !x.Shared && wasShared:
		s.dropRBAC("network", x.ID, accessShared, "*")
	}
	switch {
	case x.External && !wasExternal:
		n.addRBAC(s, x.ProjectID, "network", x.ID, accessExternal, "*")
	case !x.External && wasExternal:
		s.dropRBAC("network", x.ID, accessExternal, "")
	}
	return nil
}

// autoDeletedOwners are ports a network delete removes by itself.
var autoDeletedOwners = []string{"network:dhcp", "network:distributed"}

func (n *Neutron) deleteNetwork(s *state, c *caller, id string) error {
	x, err := s.network(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		return policyRefused("rule:delete_network")
	}
	for _, p := range s.Ports {
		if p.NetworkID == id && !slices.Contains(autoDeletedOwners, p.DeviceOwner) {
			return errf(http.StatusConflict, "NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
		}
	}
	for pid, p := range s.Ports {
		if p.NetworkID == id {
			delete(s.Ports, pid)
		}
	}
	for sid, sub := range s.Subnets {
		if sub.NetworkID == id {
			delete(s.Subnets, sid)
		}
	}
	delete(s.Networks, id)
	s.dropRBAC("network", id, "", "")
	return nil
}
