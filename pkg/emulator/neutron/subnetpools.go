package neutron

import (
	"net/http"
	"net/netip"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

var subnetPoolKind = &kind{
	path: "subnetpools", collection: "subnetpools", resource: "subnetpool", tagged: true,
	attrs: attrs(`id: name:pru description:pu tenant_id:p project_id:p prefixes:pru default_quota:pu ip_version:
		default_prefixlen:pu min_prefixlen:pu max_prefixlen:pu is_default:pu shared:p address_scope_id:pu
		created_at: updated_at: revision_number: tags:`),
	filters: filters(`id name description tenant_id project_id ip_version:i default_prefixlen:i min_prefixlen:i
		max_prefixlen:i is_default:b shared:b address_scope_id revision_number:i created_at updated_at`),
	sorts: []string{"id", "name", "tenant_id", "project_id", "ip_version", "default_prefixlen", "min_prefixlen", "max_prefixlen", "is_default", "shared", "created_at", "updated_at"},
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.SubnetPools) {
			if s.subnetPoolVisible(x, c) {
				out = append(out, x.body(s, c))
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.subnetPool(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(s, c), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		return n.createSubnetPool(s, c, in)
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateSubnetPool(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error {
		x, err := s.subnetPool(c, id)
		if err != nil {
			return err
		}
		if !c.owns(x.ProjectID) {
			return policyRefused("rule:delete_subnetpool")
		}
		for _, sub := range s.Subnets {
			if sub.SubnetPoolID != nil && *sub.SubnetPoolID == id {
				return errf(http.StatusBadRequest, "SubnetPoolDeleteError", "Unable to delete subnet pool: Subnet pool has existing allocations.")
			}
		}
		delete(s.SubnetPools, id)
		s.dropRBAC("subnetpool", id, "", "")
		return nil
	},
	std: func(s *state, c *caller, id string) (*Std, error) {
		x, err := s.subnetPool(c, id)
		if err != nil {
			return nil, err
		}
		return &x.Std, nil
	},
}

func init() { kinds = append(kinds, subnetPoolKind) }

// subnetPoolVisible: the owner, admins, projects it is shared with.
func (s *state) subnetPoolVisible(x *SubnetPool, c *caller) bool {
	return c.owns(x.ProjectID) || s.sharedWith("subnetpool", x.ID, c.ProjectID)
}

func (s *state) subnetPool(c *caller, id string) (*SubnetPool, error) {
	x := s.SubnetPools[id]
	if x == nil || !s.subnetPoolVisible(x, c) {
		return nil, errf(http.StatusNotFound, "SubnetPoolNotFound", "Subnet pool %s could not be found.", id)
	}
	return x, nil
}

// body: shared is whether it is shared with the caller's project (or
// everyone), as the RBAC object's to_dict says.
func (x *SubnetPool) body(s *state, c *caller) map[string]any {
	var quota any
	if x.DefaultQuota != nil {
		quota = *x.DefaultQuota
	}
	var scope any
	if x.AddressScopeID != "" {
		scope = x.AddressScopeID
	}
	return x.put(map[string]any{"prefixes": x.Prefixes, "ip_version": x.IPVersion, "default_prefixlen": x.DefaultPrefixLen,
		"min_prefixlen": x.MinPrefixLen, "max_prefixlen": x.MaxPrefixLen, "shared": s.sharedWith("subnetpool", x.ID, c.ProjectID),
		"is_default": x.IsDefault, "default_quota": quota, "address_scope_id": scope}, true)
}

// parseSubnetPool applies the attributes present in in to x.
func parseSubnetPool(c *caller, in map[string]any, x *SubnetPool, create bool) error {
	action := "update_subnetpool"
	if create {
		action = "create_subnetpool"
	}
	if err := setStdFields(&x.Std, in, true); err != nil {
		return err
	}
	lens := map[string]*int{"default_prefixlen": &x.DefaultPrefixLen, "min_prefixlen": &x.MinPrefixLen, "max_prefixlen": &x.MaxPrefixLen}
	set := map[string]bool{}
	for _, key := range sortedKeys(in) {
		v := in[key]
		switch key {
		case "prefixes":
			list, err := stringList(key, v)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				return errf(http.StatusBadRequest, "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list.")
			}
			var out []string
			version := 0
			for _, p := range list {
				pp, err := netip.ParsePrefix(p)
				if err != nil {
					return badRequest("Invalid input for prefixes. Reason: '%s' is not a valid IP subnet.", p)
				}
				v := 6
				if pp.Addr().Is4() {
					v = 4
				}
				if version != 0 && v != version {
					return errf(http.StatusBadRequest, "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
				}
				version = v
				out = append(out, pp.Masked().String())
			}
			if !create && x.IPVersion != version {
				return errf(http.StatusBadRequest, "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
			}
			x.Prefixes, x.IPVersion = out, version
		case "default_prefixlen", "min_prefixlen", "max_prefixlen":
			i, err := toInt(v)
			if err != nil {
				return err
			}
			*lens[key] = i
			set[key] = true
		case "is_default", "shared":
			b, err := toBool(v)
			if err != nil {
				return err
			}
			if b && !c.admin() {
				return policyAttr(action, key)
			}
			if key == "shared" {
				x.Shared = b
			} else {
				x.IsDefault = b
			}
		case "default_quota":
			if v == nil {
				x.DefaultQuota = nil
				continue
			}
			i, err := toInt(v)
			if err != nil {
				return err
			}
			x.DefaultQuota = &i
		case "address_scope_id":
			// type:uuid_or_none; checkAddressScope validates the scope.
			x.AddressScopeID = ""
			if v != nil {
				id, err := uuid(key, v)
				if err != nil {
					return err
				}
				x.AddressScopeID = id
			}
		}
	}
	maxLen := 32
	if x.IPVersion == 6 {
		maxLen = 128
	}
	if create {
		if !set["max_prefixlen"] {
			x.MaxPrefixLen = maxLen
		}
		if !set["min_prefixlen"] {
			x.MinPrefixLen = 8
			if x.IPVersion == 6 {
				x.MinPrefixLen = 64
			}
			for _, p := range x.Prefixes {
				x.MinPrefixLen = min(x.MinPrefixLen, mustPrefix(p).Bits())
			}
		}
		if !set["default_prefixlen"] {
			x.DefaultPrefixLen = x.MinPrefixLen
		}
	}
	for name, l := range map[string]int{"min_prefixlen": x.MinPrefixLen, "max_prefixlen": x.MaxPrefixLen, "default_prefixlen": x.DefaultPrefixLen} {
		if l < 0 || l > maxLen {
			return errf(http.StatusBadRequest, "UnsupportedMinSubnetPoolPrefix", "Prefix '%d' not supported in IPv%d pool.", l, x.IPVersion)
		}
		_ = name
	}
	if x.MinPrefixLen > x.MaxPrefixLen || x.DefaultPrefixLen < x.MinPrefixLen || x.DefaultPrefixLen > x.MaxPrefixLen {
		return errf(http.StatusBadRequest, "IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: default_prefixlen=%d, min_prefixlen=%d, max_prefixlen=%d.", x.DefaultPrefixLen, x.MinPrefixLen, x.MaxPrefixLen)
	}
	return nil
}

func (n *Neutron) createSubnetPool(s *state, c *caller, in map[string]any) (string, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	x := &SubnetPool{}
	if err := parseSubnetPool(c, in, x, true); err != nil {
		return "", err
	}
	if x.IsDefault {
		for _, o := range s.SubnetPools {
			if o.IsDefault && o.IPVersion == x.IPVersion {
				return "", invalidInput("A default subnetpool for this IP family has already been set. Only one default may exist per IP family")
			}
		}
	}
	id := core.NewUUID()
	if x.AddressScopeID != "" {
		if err := s.checkAddressScope(c, x.AddressScopeID, id, x.Prefixes, x.IPVersion); err != nil {
			return "", err
		}
	}
	if err := s.checkQuota(project, "subnetpool", 1); err != nil {
		return "", err
	}
	std := x.Std
	x.Std = n.newStd(s, project)
	x.ID = id
	x.Name, x.Description = std.Name, std.Description
	s.SubnetPools[x.ID] = x
	if x.Shared {
		n.addRBAC(s, project, "subnetpool", x.ID, accessShared, "*")
	}
	return x.ID, nil
}

func (n *Neutron) updateSubnetPool(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.subnetPool(c, id)
	if err != nil {
		return err
	}
	if !c.owns(x.ProjectID) {
		return policyRefused("rule:update_subnetpool")
	}
	cp := *x
	if err := parseSubnetPool(c, in, &cp, false); err != nil {
		return err
	}
	if x.AddressScopeID != "" {
		// _check_subnetpool_update_allowed: a pool in a shared scope of
		// another project is frozen.
		if as := s.AddressScopes[x.AddressScopeID]; as != nil && !c.owns(as.ProjectID) {
			return errf(http.StatusBadRequest, "IllegalSubnetPoolUpdate", "Illegal subnetpool update : subnetpool %s cannot be updated when associated with shared address scope %s.", id, x.AddressScopeID)
		}
	}
	if cp.AddressScopeID != "" {
		if err := s.checkAddressScope(c, cp.AddressScopeID, id, cp.Prefixes, cp.IPVersion); err != nil {
			return err
		}
	}
	if _, ok := in["shared"]; ok && cp.Shared != x.Shared && !cp.Shared {
		for _, e := range s.rbacEntries("subnetpool", id, accessShared) {
			if e.Target == "*" {
				if err := s.checkRBACRemoval(e, ""); err != nil {
					return err
				}
			}
		}
	}
	if _, ok := in["prefixes"]; ok {
		// Prefixes may grow, never shrink.
		for _, old := range x.Prefixes {
			covered := false
			for _, p := range cp.Prefixes {
				if mustPrefix(p).Contains(mustPrefix(old).Addr()) && mustPrefix(p).Bits() <= mustPrefix(old).Bits() {
					covered = true
				}
			}
			if !covered {
				return errf(http.StatusBadRequest, "IllegalSubnetPoolPrefixUpdate", "Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.")
			}
		}
	}
	wasShared := x.Shared
	*x = cp
	n.touch(&x.Std)
	if x.Shared && !wasShared {
		n.addRBAC(s, x.ProjectID, "subnetpool", id, accessShared, "*")
	} else if !x.Shared && wasShared {
		s.dropRBAC("subnetpool", id, accessShared, "*")
	}
	return nil
}

// allocateFromPool returns want when it lies in the pool and is free, or
// the first free prefix of the asked (or default) length.
func (s *state) allocateFromPool(pool *SubnetPool, want netip.Prefix, prefixlen any) (netip.Prefix, error) {
	used := func(p netip.Prefix) bool {
		for _, sub := range s.Subnets {
			if sub.SubnetPoolID != nil && *sub.SubnetPoolID == pool.ID && mustPrefix(sub.CIDR).Overlaps(p) {
				return true
			}
		}
		return false
	}
	if want.IsValid() {
		for _, p := range pool.Prefixes {
			pp := mustPrefix(p)
			if pp.Contains(want.Addr()) && pp.Bits() <= want.Bits() {
				if used(want) {
					return netip.Prefix{}, errf(http.StatusConflict, "SubnetAllocationError", "Failed to allocate subnet: Cidr %s is already allocated.", want)
				}
				return want, nil
			}
		}
		return netip.Prefix{}, errf(http.StatusBadRequest, "SubnetAllocationError", "Failed to allocate subnet: Cidr %s not in subnetpool %s.", want, pool.ID)
	}
	length := pool.DefaultPrefixLen
	if prefixlen != nil {
		l, err := toInt(prefixlen)
		if err != nil {
			return netip.Prefix{}, err
		}
		length = l
	}
	if length < pool.MinPrefixLen {
		return netip.Prefix{}, errf(http.StatusBadRequest, "MinPrefixSubnetAllocationError", "Unable to allocate subnet with prefix length %d, minimum allowed prefix is %d.", length, pool.MinPrefixLen)
	}
	if length > pool.MaxPrefixLen {
		return netip.Prefix{}, errf(http.StatusBadRequest, "MaxPrefixSubnetAllocationError", "Unable to allocate subnet with prefix length %d, maximum allowed prefix is %d.", length, pool.MaxPrefixLen)
	}
	for _, p := range pool.Prefixes {
		pp := mustPrefix(p)
		if pp.Bits() > length {
			continue
		}
		cand := netip.PrefixFrom(pp.Addr(), length)
		for i := 0; i < 1<<16 && pp.Contains(cand.Addr()); i++ {
			if !used(cand) {
				return cand, nil
			}
			next := lastAddr(cand).Next()
			if !next.IsValid() {
				break
			}
			cand = netip.PrefixFrom(next, length)
		}
	}
	return netip.Prefix{}, errf(http.StatusConflict, "SubnetAllocationError", "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /%d.", length)
}
