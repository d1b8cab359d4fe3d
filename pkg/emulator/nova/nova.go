package nova

import (
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// MaxMicroversion is the highest compute microversion served: Nova
// 2023.1 (Antelope)'s.
const MaxMicroversion = "2.95"

// AZ is the one availability zone.
const AZ = "nova"

// ComputeHost is the emulator's one libvirt-like compute host; Ironic
// nodes are the hypervisors of IronicHost.
const (
	ComputeHost = "emulator-compute"
	IronicHost  = "emulator-ironic"
)

// Nova is the Compute service.
type Nova struct {
	env   *core.Env
	state *core.State[state]
}

// state is everything Nova saves.
type state struct {
	Flavors  map[string]*Flavor      `json:"flavors"`
	Keypairs map[string]*Keypair     `json:"keypairs"` // by userID + "/" + name
	Servers  map[string]*Server      `json:"servers"`
	Groups   map[string]*ServerGroup `json:"server_groups"`
	Quotas   core.Quotas             `json:"quotas"`
	Serial   int                     `json:"serial"` // keypair ids, instance names
	Services map[string]*Service     `json:"services"`
}

// Flavor is a flavor with its extra specs and access list.
type Flavor struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	VCPUs       int               `json:"vcpus"`
	RAM         int               `json:"ram"`
	Disk        int               `json:"disk"`
	Ephemeral   int               `json:"ephemeral"`
	Swap        int               `json:"swap"`
	RxTx        float64           `json:"rxtx_factor"`
	Public      bool              `json:"is_public"`
	Disabled    bool              `json:"disabled"`
	Description *string           `json:"description"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	Projects    []string          `json:"projects,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
}

// Keypair belongs to a user (not a project), as in Nova.
type Keypair struct {
	ID          int       `json:"id"`
	Name        string    `json:"name"`
	UserID      string    `json:"user_id"`
	Type        string    `json:"type"`
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	CreatedAt   time.Time `json:"created_at"`
}

// Server is an instance.
type Server struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ProjectID string `json:"project_id"`
	UserID    string `json:"user_id"`
	core.Lifecycle
	// Task is the task_state while the lifecycle is pending.
	Task string `json:"task,omitempty"`
	// Gone: deleted, shown until the lifecycle reaches "deleted".
	Deleting bool `json:"deleting,omitempty"`

	Flavor         FlavorSnap        `json:"flavor"`
	OldFlavor      *FlavorSnap       `json:"old_flavor,omitempty"`
	ImageID        string            `json:"image_id,omitempty"`
	KeyName        string            `json:"key_name,omitempty"`
	KeyData        string            `json:"key_data,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	Tags           []string          `json:"tags"`
	SecurityGroups []string          `json:"security_groups"`
	AZ             string            `json:"az"`
	RequestedAZ    string            `json:"requested_az,omitempty"`
	UserData       string            `json:"user_data,omitempty"`
	ConfigDrive    bool              `json:"config_drive"`
	Description    *string           `json:"description"`
	Hostname       string            `json:"hostname"`
	AccessIPv4     string            `json:"access_ipv4,omitempty"`
	AccessIPv6     string            `json:"access_ipv6,omitempty"`
	DiskConfig     string            `json:"disk_config"`
	Locked         bool              `json:"locked"`
	LockedReason   *string           `json:"locked_reason"`
	LockedByAdmin  bool              `json:"locked_by_admin,omitempty"`
	Ports          []Port            `json:"ports,omitempty"`
	Volumes        []Attachment      `json:"volumes,omitempty"`
	Group          string            `json:"group,omitempty"`
	Host           string            `json:"host,omitempty"`
	Node           string            `json:"node,omitempty"`
	BareMetal      bool              `json:"bare_metal,omitempty"`
	InstanceName   string            `json:"instance_name"`
	ReservationID  string            `json:"reservation_id"`
	LaunchIndex    int               `json:"launch_index"`
	Created        time.Time         `json:"created"`
	Updated        time.Time         `json:"updated"`
	Launched       *time.Time        `json:"launched,omitempty"`
	Fault          *Fault            `json:"fault,omitempty"`
	// Rescued remembers the status to go back to on unrescue.
	AdminPass string `json:"-"`
}

// FlavorSnap is the flavor as it was when the server got it (Nova keeps a
// copy: the flavor may be deleted later).
type FlavorSnap struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	VCPUs      int               `json:"vcpus"`
	RAM        int               `json:"ram"`
	Disk       int               `json:"disk"`
	Ephemeral  int               `json:"ephemeral"`
	Swap       int               `json:"swap"`
	ExtraSpecs map[string]string `json:"extra_specs"`
}

// Port is a Neutron port of a server, as Nova's network info cache holds it.
type Port struct {
	ID        string `json:"id"`
	NetworkID string `json:"network_id"`
	MAC       string `json:"mac"`
	Created   bool   `json:"created"` // Nova created it: deleted with the server
	Tag       string `json:"tag,omitempty"`
}

// Attachment is a volume attached to a server.
type Attachment struct {
	ID                  string `json:"id"` // the BDM uuid
	VolumeID            string `json:"volume_id"`
	AttachmentID        string `json:"attachment_id,omitempty"`
	Device              string `json:"device"`
	Tag                 string `json:"tag,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
	BootIndex           *int   `json:"boot_index,omitempty"`
}

// Fault is a server's fault (status ERROR).
type Fault struct {
	Code    int       `json:"code"`
	Message string    `json:"message"`
	Details string    `json:"details"`
	Created time.Time `json:"created"`
}

// ServerGroup is a server group.
type ServerGroup struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Policy    string         `json:"policy"`
	Rules     map[string]any `json:"rules"`
	Members   []string       `json:"members"`
	ProjectID string         `json:"project_id"`
	UserID    string         `json:"user_id"`
	Metadata  map[string]any `json:"metadata"`
}

// Service is a Nova service (os-services).
type Service struct {
	ID             string    `json:"id"`
	Binary         string    `json:"binary"`
	Host           string    `json:"host"`
	Zone           string    `json:"zone"`
	Disabled       bool      `json:"disabled"`
	DisabledReason *string   `json:"disabled_reason"`
	ForcedDown     bool      `json:"forced_down"`
	UpdatedAt      time.Time `json:"updated_at"`
	Serial         int       `json:"serial"`
}

// Default quotas, as Nova's defaults.
var defaultQuotas = map[string]int{
	"instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
	"server_groups": 10, "server_group_members": 10, "injected_files": 5,
	"injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
}

// BareMetalFlavor is the flavor whose servers land on Ironic nodes.
const BareMetalFlavor = "baremetal"

// New returns Nova with m1.tiny, m1.small, m1.medium, m1.large and the
// bare-metal flavor, and its services.
func New(env *core.Env) *Nova {
	now := env.Now()
	flavors := map[string]*Flavor{}
	add := func(id, name string, vcpus, ram, disk int, specs map[string]string) {
		if specs == nil {
			specs = map[string]string{}
		}
		flavors[id] = &Flavor{ID: id, Name: name, VCPUs: vcpus, RAM: ram, Disk: disk, RxTx: 1, Public: true,
			ExtraSpecs: specs, CreatedAt: now}
	}
	add("1", "m1.tiny", 1, 512, 1, nil)
	add("2", "m1.small", 1, 2048, 20, nil)
	add("3", "m1.medium", 2, 4096, 40, nil)
	add("4", "m1.large", 4, 8192, 80, nil)
	add("bm1", BareMetalFlavor, 1, 1024, 10, map[string]string{
		"resources:CUSTOM_BAREMETAL": "1", "resources:VCPU": "0", "resources:MEMORY_MB": "0", "resources:DISK_GB": "0"})
	services := map[string]*Service{}
	for i, s := range [][2]string{{"nova-scheduler", "emulator"}, {"nova-conductor", "emulator"},
		{"nova-compute", ComputeHost}, {"nova-compute", IronicHost}} {
		zone := "internal"
		if s[0] == "nova-compute" {
			zone = AZ
		}
		id := core.NewUUID()
		services[id] = &Service{ID: id, Binary: s[0], Host: s[1], Zone: zone, UpdatedAt: now, Serial: i + 1}
	}
	return &Nova{env: env, state: core.NewState(env, state{
		Flavors: flavors, Keypairs: map[string]*Keypair{}, Servers: map[string]*Server{},
		Groups: map[string]*ServerGroup{}, Quotas: core.NewQuotas(defaultQuotas), Services: services,
	})}
}

// Spec implements core.Service.
func (n *Nova) Spec() core.Spec {
	return core.Spec{
		Name: "nova", Type: "compute", Prefix: "/compute", Endpoint: "/compute/v2.1",
		Errors: core.FaultErrors,
		Microversions: &core.Microversions{Service: "compute", Min: "2.1", Max: MaxMicroversion,
			Legacy: "X-OpenStack-Nova-API-Version"},
		RequestIDHeaders: []string{"X-Compute-Request-Id"},
	}
}

// State implements core.Service.
func (n *Nova) State() core.Persistent { return n.state }

// Resources implements core.Service.
func (n *Nova) Resources() []core.Resource {
	var out []core.Resource
	now := n.env.Now()
	_ = n.state.View(func(s *state) error {
		for _, srv := range s.Servers {
			if srv.gone(now) {
				continue
			}
			out = append(out, core.Resource{Type: "server", ID: srv.ID, Name: srv.Name, ProjectID: srv.ProjectID, Status: srv.Current(now)})
		}
		for _, f := range s.Flavors {
			out = append(out, core.Resource{Type: "flavor", ID: f.ID, Name: f.Name})
		}
		for _, k := range s.Keypairs {
			out = append(out, core.Resource{Type: "keypair", ID: k.Name, Name: k.Name, ProjectID: ""})
		}
		for _, g := range s.Groups {
			out = append(out, core.Resource{Type: "server_group", ID: g.ID, Name: g.Name, ProjectID: g.ProjectID})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].ID < out[j].ID
	})
	return out
}
