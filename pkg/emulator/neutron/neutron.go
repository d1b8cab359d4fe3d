package neutron

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Neutron is the Networking service.
type Neutron struct {
	env   *core.Env
	state *core.State[state]
}

// state is everything Neutron saves.
type state struct {
	Networks       map[string]*Network       `json:"networks"`
	Subnets        map[string]*Subnet        `json:"subnets"`
	SubnetPools    map[string]*SubnetPool    `json:"subnetpools"`
	Ports          map[string]*Port          `json:"ports"`
	Routers        map[string]*Router        `json:"routers"`
	FloatingIPs    map[string]*FloatingIP    `json:"floatingips"`
	SecurityGroups map[string]*SecurityGroup `json:"security_groups"`
	Rules          map[string]*Rule          `json:"security_group_rules"`
	AddressScopes  map[string]*AddressScope  `json:"address_scopes"`
	RBAC           map[string]*RBACPolicy    `json:"rbac_policies"`
	Quotas         core.Quotas               `json:"quotas"`
	// Seq orders resources by creation (the default listing order).
	Seq int64 `json:"seq"`
	// NextVNI is the next segmentation id of a project (vxlan) network.
	NextVNI int `json:"next_vni"`
}

// UnmarshalJSON restores a saved state; one saved before RBAC policies
// existed gets the entries its shared and external resources imply.
func (s *state) UnmarshalJSON(b []byte) error {
	type plain state
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = state(p)
	if s.AddressScopes == nil {
		s.AddressScopes = map[string]*AddressScope{}
	}
	if s.RBAC == nil {
		s.RBAC = map[string]*RBACPolicy{}
		add := func(project, objectType, objectID, action string, seq int64) {
			id := core.NewUUID()
			s.RBAC[id] = &RBACPolicy{ID: id, ProjectID: project, ObjectType: objectType, ObjectID: objectID, Action: action, Target: "*", Seq: seq}
		}
		for _, x := range s.Networks {
			if x.Shared {
				add(x.ProjectID, "network", x.ID, accessShared, x.Seq)
			}
			if x.External {
				add(x.ProjectID, "network", x.ID, accessExternal, x.Seq)
			}
		}
		for _, x := range s.SubnetPools {
			if x.Shared {
				add(x.ProjectID, "subnetpool", x.ID, accessShared, x.Seq)
			}
		}
	}
	return nil
}

// Std is what every standard-attribute resource has.
type Std struct {
	ID          string    `json:"id"`
	ProjectID   string    `json:"project_id"`
	Name        string    `json:"name,omitempty"`
	Description string    `json:"description,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Revision    int       `json:"revision_number"`
	Seq         int64     `json:"seq"`
}

// Network is a network.
type Network struct {
	Std
	AdminStateUp    bool     `json:"admin_state_up"`
	Shared          bool     `json:"shared"`
	External        bool     `json:"router_external"`
	NetworkType     string   `json:"network_type"`
	PhysicalNetwork *string  `json:"physical_network"`
	SegmentationID  *int     `json:"segmentation_id"`
	MTU             int      `json:"mtu"`
	PortSecurity    bool     `json:"port_security_enabled"`
	AZHints         []string `json:"availability_zone_hints,omitempty"`
}

// Pool is an allocation pool of a subnet.
type Pool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Route is a subnet host route or a router's extra route.
type Route struct {
	Destination string `json:"destination"`
	Nexthop     string `json:"nexthop"`
}

// Subnet is a subnet of a network.
type Subnet struct {
	Std
	NetworkID    string   `json:"network_id"`
	IPVersion    int      `json:"ip_version"`
	CIDR         string   `json:"cidr"`
	GatewayIP    *string  `json:"gateway_ip"`
	Pools        []Pool   `json:"allocation_pools"`
	DNS          []string `json:"dns_nameservers"`
	HostRoutes   []Route  `json:"host_routes"`
	EnableDHCP   bool     `json:"enable_dhcp"`
	RAMode       *string  `json:"ipv6_ra_mode"`
	AddressMode  *string  `json:"ipv6_address_mode"`
	SubnetPoolID *string  `json:"subnetpool_id"`
	ServiceTypes []string `json:"service_types,omitempty"`
}

// SubnetPool is a pool of prefixes subnets are carved from.
type SubnetPool struct {
	Std
	Prefixes         []string `json:"prefixes"`
	IPVersion        int      `json:"ip_version"`
	DefaultPrefixLen int      `json:"default_prefixlen"`
	MinPrefixLen     int      `json:"min_prefixlen"`
	MaxPrefixLen     int      `json:"max_prefixlen"`
	Shared           bool     `json:"shared"`
	IsDefault        bool     `json:"is_default"`
	DefaultQuota     *int     `json:"default_quota"`
	// AddressScopeID is the address scope the pool is in ("" none).
	AddressScopeID string `json:"address_scope_id,omitempty"`
}

// FixedIP is an address of a port.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// AddressPair is an allowed address pair of a port.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address"`
}

// Port is a port.
type Port struct {
	Std
	NetworkID      string         `json:"network_id"`
	AdminStateUp   bool           `json:"admin_state_up"`
	MACAddress     string         `json:"mac_address"`
	FixedIPs       []FixedIP      `json:"fixed_ips"`
	DeviceID       string         `json:"device_id"`
	DeviceOwner    string         `json:"device_owner"`
	SecurityGroups []string       `json:"security_groups"`
	AddressPairs   []AddressPair  `json:"allowed_address_pairs"`
	PortSecurity   bool           `json:"port_security_enabled"`
	HostID         string         `json:"binding_host_id"`
	Profile        map[string]any `json:"binding_profile,omitempty"`
	VNICType       string         `json:"binding_vnic_type"`
	// Life is DOWN -> ACTIVE once the port has a device (after -delay).
	Life core.Lifecycle `json:"life"`
}

// Router is a router.
type Router struct {
	Std
	AdminStateUp bool     `json:"admin_state_up"`
	Distributed  bool     `json:"distributed"`
	HA           bool     `json:"ha"`
	AZHints      []string `json:"availability_zone_hints,omitempty"`
	Routes       []Route  `json:"routes"`
	// GatewayPortID is the router's port on the external network ("" when
	// it has no gateway); the gateway's network and addresses are that
	// port's.
	GatewayPortID string `json:"gw_port_id,omitempty"`
	EnableSNAT    bool   `json:"enable_snat"`
}

// FloatingIP is a floating IP.
type FloatingIP struct {
	Std
	FloatingNetworkID string  `json:"floating_network_id"`
	FloatingIPAddress string  `json:"floating_ip_address"`
	SubnetID          string  `json:"subnet_id"`
	PortID            *string `json:"port_id"`
	FixedIPAddress    *string `json:"fixed_ip_address"`
	RouterID          *string `json:"router_id"`
	// FIPPortID is the floating IP's own port on the external network.
	FIPPortID string `json:"fip_port_id"`
	// Life is DOWN, or DOWN -> ACTIVE after an association (after -delay).
	Life core.Lifecycle `json:"life"`
}

// SecurityGroup is a security group.
type SecurityGroup struct {
	Std
	Stateful bool `json:"stateful"`
}

// Rule is a security group rule.
type Rule struct {
	Std
	SecurityGroupID string  `json:"security_group_id"`
	Direction       string  `json:"direction"`
	Ethertype       string  `json:"ethertype"`
	Protocol        *string `json:"protocol"`
	PortRangeMin    *int    `json:"port_range_min"`
	PortRangeMax    *int    `json:"port_range_max"`
	RemoteIPPrefix  *string `json:"remote_ip_prefix"`
	RemoteGroupID   *string `json:"remote_group_id"`
}

// Start-state names, as devstack makes them.
const (
	PublicNetwork  = "public"
	PublicSubnet   = "public-subnet"
	PublicCIDR     = "172.24.4.0/24"
	PrivateNetwork = "private"
	PrivateSubnet  = "private-subnet"
	PrivateCIDR    = "10.0.0.0/26"
	RouterName     = "router1"
	// AvailabilityZone is the one zone of networks and routers.
	AvailabilityZone = "nova"
	// TenantMTU is the MTU of project (vxlan) networks; external flat
	// networks have 1500.
	TenantMTU = 1450
)

// defaultQuotas are Neutron's defaults (neutron/conf/quota.py).
func defaultQuotas() map[string]int {
	return map[string]int{"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
		"security_group": 10, "security_group_rule": 100, "rbac_policy": 10, "subnetpool": -1}
}

// Projects names the projects of the start state: the admin project owns
// `public`; each of Private gets a private network, subnet and router.
type Projects struct {
	Admin   string
	Private []string
}

// New returns Neutron with devstack's start state for the given projects
// (Keystone's ids; empty ones are skipped).
func New(env *core.Env, p Projects) *Neutron {
	s := state{
		Networks: map[string]*Network{}, Subnets: map[string]*Subnet{}, SubnetPools: map[string]*SubnetPool{},
		Ports: map[string]*Port{}, Routers: map[string]*Router{}, FloatingIPs: map[string]*FloatingIP{},
		SecurityGroups: map[string]*SecurityGroup{}, Rules: map[string]*Rule{},
		AddressScopes: map[string]*AddressScope{}, RBAC: map[string]*RBACPolicy{},
		Quotas: core.NewQuotas(defaultQuotas()), NextVNI: 1,
	}
	n := &Neutron{env: env}
	if err := n.seed(&s, p); err != nil {
		// The seed is fixed data: an error is a programming error.
		panic("neutron: seeding the start state: " + err.Error())
	}
	n.state = core.NewState(env, s)
	return n
}

// seed builds public, then each project's private network, subnet and
// router, through the same code the API uses.
func (n *Neutron) seed(s *state, p Projects) error {
	if p.Admin == "" {
		return nil
	}
	admin := &caller{Identity: &core.Identity{ProjectID: p.Admin, Roles: []string{"admin", "member", "reader"}}}
	physnet := PublicNetwork
	pub, err := n.createNetwork(s, admin, map[string]any{"name": PublicNetwork, "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": physnet, "description": "the external network"})
	if err != nil {
		return err
	}
	if _, err := n.createSubnet(s, admin, map[string]any{"name": PublicSubnet, "network_id": pub.ID, "ip_version": float64(4),
		"cidr": PublicCIDR, "enable_dhcp": false, "gateway_ip": "172.24.4.1"}); err != nil {
		return err
	}
	for _, project := range p.Private {
		if project == "" {
			continue
		}
		who := &caller{Identity: &core.Identity{ProjectID: project, Roles: []string{"member", "reader"}}}
		net, err := n.createNetwork(s, who, map[string]any{"name": PrivateNetwork})
		if err != nil {
			return err
		}
		sub, err := n.createSubnet(s, who, map[string]any{"name": PrivateSubnet, "network_id": net.ID, "ip_version": float64(4),
			"cidr": PrivateCIDR})
		if err != nil {
			return err
		}
		rt, err := n.createRouter(s, who, map[string]any{"name": RouterName,
			"external_gateway_info": map[string]any{"network_id": pub.ID}})
		if err != nil {
			return err
		}
		if _, err := n.addInterface(s, who, rt.ID, map[string]any{"subnet_id": sub.ID}); err != nil {
			return err
		}
	}
	return nil
}

// Spec implements core.Service.
func (n *Neutron) Spec() core.Spec {
	return core.Spec{Name: "neutron", Type: "network", Prefix: "/networking", Errors: writeError}
}

// State implements core.Service.
func (n *Neutron) State() core.Persistent { return n.state }

// Resources implements core.Service.
func (n *Neutron) Resources() []core.Resource {
	var out []core.Resource
	now := n.env.Now()
	_ = n.state.View(func(s *state) error {
		for _, x := range s.Networks {
			out = append(out, core.Resource{Type: "network", ID: x.ID, Name: x.Name, ProjectID: x.ProjectID, Status: "ACTIVE"})
		}
		for _, x := range s.Subnets {
			out = append(out, core.Resource{Type: "subnet", ID: x.ID, Name: x.Name, ProjectID: x.ProjectID})
		}
		for _, x := range s.SubnetPools {
			out = append(out, core.Resource{Type: "subnetpool", ID: x.ID, Name: x.Name, ProjectID: x.ProjectID})
		}
		for _, x := range s.Ports {
			out = append(out, core.Resource{Type: "port", ID: x.ID, Name: x.Name, ProjectID: x.ProjectID, Status: x.status(now)})
		}
		for _, x := range s.Routers {
			out = append(out, core.Resource{Type: "router", ID: x.ID, Name: x.Name, ProjectID: x.ProjectID, Status: "ACTIVE"})
		}
		for _, x := range s.FloatingIPs {
			out = append(out, core.Resource{Type: "floatingip", ID: x.ID, Name: x.FloatingIPAddress, ProjectID: x.ProjectID, Status: x.Life.Current(now)})
		}
		for _, x := range s.SecurityGroups {
			out = append(out, core.Resource{Type: "security_group", ID: x.ID, Name: x.Name, ProjectID: x.ProjectID})
		}
		for _, x := range s.Rules {
			out = append(out, core.Resource{Type: "security_group_rule", ID: x.ID, ProjectID: x.ProjectID})
		}
		for _, x := range s.AddressScopes {
			out = append(out, core.Resource{Type: "address_scope", ID: x.ID, Name: x.Name, ProjectID: x.ProjectID})
		}
		for _, x := range s.RBAC {
			out = append(out, core.Resource{Type: "rbac_policy", ID: x.ID, ProjectID: x.ProjectID})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}
