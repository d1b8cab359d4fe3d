package neutron

import "net/http"

// Address scopes (the address-scope extension, neutron/db/address_scope_db.py):
// subnet pools join one of their IP version; a network's subnets from
// pools of one scope give the network its ipv4/ipv6_address_scope. An
// address scope has no standard attributes (no description, tags,
// timestamps nor revision number).

// AddressScope is an address scope.
type AddressScope struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	Name      string `json:"name"`
	IPVersion int    `json:"ip_version"`
	// Shared mirrors an access_as_shared "*" RBAC entry.
	Shared bool  `json:"shared"`
	Seq    int64 `json:"seq"`
}

func (x *AddressScope) seq() int64 { return x.Seq }

var addressScopeKind = &kind{
	path: "address-scopes", collection: "address_scopes", resource: "address_scope", bulk: true,
	attrs:   attrs(`id: name:pu tenant_id:p project_id:p shared:pu ip_version:pr`),
	filters: filters(`id name tenant_id project_id shared:b ip_version:i`),
	sorts:   []string{"id", "name", "tenant_id", "project_id", "shared", "ip_version"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.AddressScopes) {
			if s.addressScopeVisible(x, c) {
				out = append(out, x.body(s, c))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.addressScope(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(s, c), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		return n.createAddressScope(s, c, in)
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateAddressScope(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error {
		x, err := s.addressScope(c, id)
		if err != nil {
			return err
		}
		if !c.owns(x.ProjectID) {
			return policyRefused("rule:delete_address_scope")
		}
		for _, p := range s.SubnetPools {
			if p.AddressScopeID == id {
				return errf(http.StatusConflict, "AddressScopeInUse", "Unable to complete operation on address scope %s. There are one or more subnet pools in use on the address scope.", id)
			}
		}
		delete(s.AddressScopes, id)
		s.dropRBAC("address_scope", id, "", "")
		return nil
	},
}

func init() { kinds = append(kinds, addressScopeKind) }

func addressScopeNotFound(id any) error {
	return errf(http.StatusNotFound, "AddressScopeNotFound", "Address scope %s could not be found.", pyStr(id))
}

// addressScopeVisible is AddressScope.is_accessible: the owner, admins,
// projects it is shared with.
func (s *state) addressScopeVisible(x *AddressScope, c *caller) bool {
	return c.owns(x.ProjectID) || s.sharedWith("address_scope", x.ID, c.ProjectID)
}

func (s *state) addressScope(c *caller, id string) (*AddressScope, error) {
	x := s.AddressScopes[id]
	if x == nil || !s.addressScopeVisible(x, c) {
		return nil, addressScopeNotFound(id)
	}
	return x, nil
}

// body: shared is whether it is shared with the caller's project (or
// everyone), as the RBAC object's to_dict says.
func (x *AddressScope) body(s *state, c *caller) map[string]any {
	return map[string]any{"id": x.ID, "name": x.Name, "tenant_id": x.ProjectID, "project_id": x.ProjectID,
		"ip_version": x.IPVersion, "shared": s.sharedWith("address_scope", x.ID, c.ProjectID)}
}

func (n *Neutron) createAddressScope(s *state, c *caller, in map[string]any) (string, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	x := &AddressScope{}
	if v, ok := in["name"]; ok {
		name, err := str("name", v, 255)
		if err != nil {
			return "", err
		}
		x.Name = name
	}
	version, err := toInt(in["ip_version"])
	if err != nil {
		return "", err
	}
	if version != 4 && version != 6 {
		return "", badRequest("Invalid input for ip_version. Reason: %d is not in [4, 6].", version)
	}
	x.IPVersion = version
	shared := false
	if v, ok := in["shared"]; ok {
		if shared, err = toBool(v); err != nil {
			return "", err
		}
		if shared && !c.admin() {
			return "", policyAttr("create_address_scope", "shared")
		}
	}
	if s.AddressScopes == nil {
		s.AddressScopes = map[string]*AddressScope{}
	}
	st := n.newStd(s, project)
	x.ID, x.ProjectID, x.Seq = st.ID, project, st.Seq
	s.AddressScopes[x.ID] = x
	if shared {
		n.addRBAC(s, project, "address_scope", x.ID, accessShared, "*")
	}
	return x.ID, nil
}

func (n *Neutron) updateAddressScope(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.addressScope(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		return policyRefused("rule:update_address_scope")
	}
	name := x.Name
	if v, ok := in["name"]; ok {
		if name, err = str("name", v, 255); err != nil {
			return err
		}
	}
	var shared *bool
	if v, ok := in["shared"]; ok {
		b, err := toBool(v)
		if err != nil {
			return err
		}
		if !c.admin() {
			return policyAttr("update_address_scope", "shared")
		}
		if x.Shared && !b {
			return errf(http.StatusBadRequest, "AddressScopeUpdateError", "Unable to update address scope %s : Shared address scope can't be unshared.", id)
		}
		shared = &b
	}
	x.Name = name
	if shared != nil && *shared {
		n.addRBAC(s, x.ProjectID, "address_scope", x.ID, accessShared, "*")
	}
	return nil
}

// checkAddressScope is _validate_address_scope_id: the pool (id, its
// prefixes and IP version) may join the scope.
func (s *state) checkAddressScope(c *caller, scopeID, poolID string, prefixes []string, version int) error {
	as, err := s.addressScope(c, scopeID)
	if err != nil {
		return err
	}
	if as.IPVersion != version {
		return errf(http.StatusBadRequest, "IllegalSubnetPoolIpVersionAssociationToAddressScope",
			"Illegal subnetpool association: subnetpool %s cannot associate with address scope %s because subnetpool ip_version is not %d.", poolID, scopeID, as.IPVersion)
	}
	// Re-scoping must not leave a network with subnets in two scopes.
	nets := map[string]bool{}
	rescoped := map[string]bool{}
	for _, sub := range s.Subnets {
		if sub.SubnetPoolID != nil && *sub.SubnetPoolID == poolID {
			nets[sub.NetworkID] = true
			rescoped[sub.ID] = true
		}
	}
	for _, sub := range s.Subnets {
		if nets[sub.NetworkID] && sub.IPVersion == version && !rescoped[sub.ID] {
			return errf(http.StatusBadRequest, "NetworkAddressScopeAffinityError", "Subnets of the same address family hosted on the same network must all participate in the same address scope.")
		}
	}
	for _, other := range s.SubnetPools {
		if other.ID == poolID || other.AddressScopeID != scopeID {
			continue
		}
		for _, a := range other.Prefixes {
			for _, b := range prefixes {
				if mustPrefix(a).Overlaps(mustPrefix(b)) {
					return errf(http.StatusConflict, "AddressScopePrefixConflict", "Failed to associate address scope: subnetpools within an address scope must have unique prefixes.")
				}
			}
		}
	}
	return nil
}

// networkAddressScope is the scope of the network's subnets of one IP
// version (from their pools), or nil.
func (s *state) networkAddressScope(netID string, version int) any {
	for _, sub := range s.Subnets {
		if sub.NetworkID != netID || sub.SubnetPoolID == nil {
			continue
		}
		if p := s.SubnetPools[*sub.SubnetPoolID]; p != nil && p.IPVersion == version && p.AddressScopeID != "" {
			return p.AddressScopeID
		}
	}
	return nil
}
