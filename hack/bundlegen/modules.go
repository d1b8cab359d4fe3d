package main

// What the generator does with each resource module of openstack.cloud:
// a hand-written bundle covers it, it is left out (with why), or it gets a
// generated bundle described by a resource entry. A module in none of the
// three (a newer collection's) stops the generator, so that no module is
// left out or offered without a decision.

// handWritten: modules a hand-written bundle of registries/ covers.
var handWritten = map[string]string{
	"keypair":           "openstack-keypair-apb",
	"server":            "openstack-server-apb",
	"floating_ip":       "openstack-server-apb (its floating IP option: the module attaches a floating IP to a server)",
	"network":           "openstack-network-apb",
	"subnet":            "openstack-network-apb",
	"router":            "openstack-network-apb",
	"volume":            "openstack-volume-apb",
	"volume_snapshot":   "openstack-volume-apb (snapshot plan)",
	"object_container":  "openstack-object-container-apb",
	"container":         "openstack-object-container-apb (the module's older name for a Swift container)",
	"loadbalancer":      "the load balancer bundle",
	"lb_listener":       "the load balancer bundle",
	"lb_pool":           "the load balancer bundle",
	"lb_member":         "the load balancer bundle",
	"lb_health_monitor": "the load balancer bundle",
	"dns_zone":          "the DNS zone bundle",
	"recordset":         "the DNS zone bundle (recordsets)",
	"stack":             "the Heat stack bundle",
}

// excluded: modules that make no catalog service here, and why.
var excluded = map[string]string{
	"baremetal_node":               "admin only: enrolls Ironic hardware (the server bundle's bare-metal plan gives users bare metal)",
	"baremetal_port":               "admin only: an Ironic node's port",
	"catalog_service":              "admin only: the Keystone service catalog",
	"endpoint":                     "admin only: Keystone endpoints",
	"compute_flavor":               "admin only: Nova flavors",
	"host_aggregate":               "admin only: Nova host aggregates",
	"project_access":               "admin only: flavor and volume type access",
	"quota":                        "admin only: project quotas",
	"project":                      "admin only: Keystone projects",
	"identity_domain":              "admin only: Keystone domains",
	"identity_group":               "admin only: Keystone groups",
	"identity_role":                "admin only: Keystone roles",
	"identity_user":                "admin only: Keystone users",
	"group_assignment":             "admin only: Keystone group membership",
	"role_assignment":              "admin only: Keystone role assignments",
	"federation_idp":               "admin only: Keystone identity providers",
	"federation_mapping":           "admin only: Keystone federation mappings",
	"keystone_federation_protocol": "admin only: Keystone federation protocols",
	"image":                        "uploads a file from the sandbox's disk (filename): a catalog user has none to give, and without it the image has no data",
	"object":                       "uploads a file from the sandbox's disk into a container: data, not a resource (the object container bundle makes containers)",
	"server_metadata":              "changes metadata of an existing server rather than making a resource: deprovision would alter a server the instance does not own",
	"server_volume":                "attaches a volume to an existing server rather than making a resource (the server and volume bundles own both)",
}

// resource describes the bundle of one generated module: what the catalog
// calls it and what the argument spec does not say.
type resource struct {
	// Bundle is the bundle's name (its directory under registries/).
	Bundle string
	// Title names the resource ("Port"); Noun is it in a sentence.
	Title, Noun string
	// Service is the OpenStack service that keeps it.
	Service string
	// Tags besides openstack.
	Tags []string
	// Defaults for options the module has no default for but Neutron,
	// Nova or Cinder need at creation, so that a provision with only the
	// required parameters works on a fresh cloud.
	Defaults map[string]any
	// Required are options the spec leaves optional but creation needs
	// and no default fits.
	Required []string
	// Hidden are options not offered as parameters, with why.
	Hidden map[string]string
	// TagKind is the openstack_apb_tagged resource kind (Neutron's tag
	// extension) the resource is tagged osb-instance-<instance id> as, so
	// that deprovision finds it even renamed; empty where the API has no
	// tags.
	TagKind string
	// Lookup finds the resource when the module's result does not hold
	// it (volume_backup returns nothing for a backup that exists).
	Lookup *lookup
	// GoneMessage matches the module's failure when, at deprovision,
	// what the resource hangs on is gone (so the resource is too).
	GoneMessage string
	// AbsentParams are options the module requires for state absent too
	// (it finds the resource by them): deprovision passes them as
	// provision did (the broker gives deprovision the provision's
	// parameters).
	AbsentParams []string
	// Wait: the module returns at once while the service builds (or
	// deletes) the resource; provision runs it again until the resource
	// is built, deprovision until it is gone.
	Wait *wait
	// Discover are options creation needs that the user may leave out
	// when the project has one obvious value (its only network):
	// provision looks it up, and fails naming the parameter when it finds
	// none or several.
	Discover map[string]discovery
	// Project are options set to the credentials' project id, not offered
	// (the module wants the owner spelled out).
	Project []string
	// Remove finds, at deprovision, a resource the module deletes only by
	// an id it cannot find itself (it has no name).
	Remove *finder
}

// wait says how a resource's build shows: Key is its dict in the module's
// result, whose status is Pending while it builds and Done once built.
type wait struct {
	Key, Pending, Done string
	// Retries times Delay seconds bound the wait (the service's own
	// timeout).
	Retries, Delay int
}

// discovery is an _info module call: Module, its result's Key, the
// candidates a Jinja Select keeps (the Noun Which says), whose one id
// fills the option.
type discovery struct{ Module, Key, Select, Noun, Which string }

// finder is an _info module given the options By, its result's Key, the
// resources whose fields equal the options Match, each deleted by the
// module with IDOption.
type finder struct {
	Module   string
	By       []string
	Key      string
	Match    []string
	IDOption string
}

// lookup is an _info module call: Module with NameOption osb-<instance
// id>, the resources in its result's Key.
type lookup struct{ Module, NameOption, Key string }

// hiddenEverywhere: options no generated bundle offers.
var hiddenEverywhere = map[string]string{
	"state":   "the action decides: present on provision, absent on deprovision",
	"project": "the credentials' project is where the resource lives; another project's needs admin",
}

var resources = map[string]resource{
	"address_scope": {
		Bundle: "openstack-address-scope-apb", Title: "Address Scope", Noun: "address scope",
		Service: "OpenStack Networking (Neutron)", Tags: []string{"network"},
		Hidden: map[string]string{
			"shared":      "admin only: a scope shared with every project (an RBAC policy bundle shares one with a project)",
			"extra_specs": "sent to Neutron as they are: an address scope has no other attributes, so any would be refused",
		},
	},
	"neutron_rbac_policy": {
		Bundle: "openstack-rbac-policy-apb", Title: "RBAC Policy", Noun: "RBAC policy",
		Service: "OpenStack Networking (Neutron)", Tags: []string{"network", "sharing"},
		// Which object, shared with whom: only the user knows.
		Required: []string{"object_id", "target_project_id"},
		Defaults: map[string]any{"object_type": "network", "action": "access_as_shared"},
		Project:  []string{"project_id"},
		Hidden: map[string]string{
			"policy_id": "the bundle's policy is found by its parameters: provision finds or creates it, deprovision looks it up",
		},
		Remove: &finder{Module: "neutron_rbac_policies_info", By: []string{"object_id", "target_project_id"}, Key: "policies",
			Match: []string{"action"}, IDOption: "policy_id"},
	},
	"port": {
		Bundle: "openstack-port-apb", Title: "Port", Noun: "port",
		Service: "OpenStack Networking (Neutron)", Tags: []string{"network", "port"},
		TagKind: "port",
		Discover: map[string]discovery{"network": {Module: "networks_info", Key: "openstack_networks",
			Select: "selectattr('is_router_external', 'equalto', false) | selectattr('is_shared', 'equalto', false)",
			Noun:   "network", Which: "of its own, neither shared nor external"}},
		Hidden: map[string]string{
			"binding_profile": "admin only (binding:profile)",
			"device_id":       "set by Nova when a server uses the port",
			"device_owner":    "set by the service that uses the port",
		},
	},
	"security_group": {
		Bundle: "openstack-security-group-apb", Title: "Security Group", Noun: "security group",
		Service: "OpenStack Networking (Neutron)", Tags: []string{"network", "security"},
		TagKind: "security_group",
	},
	"security_group_rule": {
		Bundle: "openstack-security-group-rule-apb", Title: "Security Group Rule", Noun: "security group rule",
		Service: "OpenStack Networking (Neutron)", Tags: []string{"network", "security"},
		GoneMessage: "Could not find security group",
	},
	"server_group": {
		Bundle: "openstack-server-group-apb", Title: "Server Group", Noun: "server group",
		Service: "OpenStack Compute (Nova)", Tags: []string{"compute"},
		Defaults: map[string]any{"policies": []any{"anti-affinity"}},
	},
	"subnet_pool": {
		Bundle: "openstack-subnet-pool-apb", Title: "Subnet Pool", Noun: "subnet pool",
		Service: "OpenStack Networking (Neutron)", Tags: []string{"network"},
		Defaults: map[string]any{"prefixes": []any{"10.240.0.0/16"}},
		TagKind:  "subnetpool",
		Hidden: map[string]string{
			"is_default": "admin only: the cloud's default pool",
			"shared":     "admin only: a pool shared with every project",
		},
	},
	"coe_cluster_template": {
		Bundle: "openstack-coe-cluster-template-apb", Title: "Container Cluster Template", Noun: "cluster template",
		Service: "OpenStack Container Infrastructure (Magnum)", Tags: []string{"containers", "kubernetes"},
		Defaults:     map[string]any{"coe": "kubernetes"},
		AbsentParams: []string{"coe", "image_id"},
		Hidden: map[string]string{
			"public": "admin only: a template every project sees",
		},
	},
	"coe_cluster": {
		Bundle: "openstack-coe-cluster-apb", Title: "Container Cluster", Noun: "cluster",
		Service: "OpenStack Container Infrastructure (Magnum)", Tags: []string{"containers", "kubernetes"},
		AbsentParams: []string{"cluster_template_id"},
		// Magnum's create_timeout is 60 minutes.
		Wait: &wait{Key: "cluster", Pending: "CREATE_IN_PROGRESS", Done: "CREATE_COMPLETE", Retries: 720, Delay: 5},
	},
	"volume_backup": {
		Bundle: "openstack-volume-backup-apb", Title: "Volume Backup", Noun: "volume backup",
		Service: "OpenStack Block Storage (Cinder)", Tags: []string{"storage", "volume", "backup"},
		Lookup: &lookup{Module: "volume_backup_info", NameOption: "name", Key: "volume_backups"},
		Hidden: map[string]string{
			"metadata": "openstacksdk 0.101 sends it without the microversion Cinder needs for backup metadata (3.43): the backup would be refused",
		},
	},
}
