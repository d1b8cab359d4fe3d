package ironic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// MaxMicroversion is Ironic 2023.1's.
const MaxMicroversion = "1.82"

// Ironic is the Bare Metal service.
type Ironic struct {
	env   *core.Env
	state *core.State[state]
}

type state struct {
	Nodes map[string]*Node `json:"nodes"`
	Ports map[string]*Port `json:"ports"`
}

// Node is a bare-metal node.
type Node struct {
	UUID           string         `json:"uuid"`
	Name           *string        `json:"name"`
	Driver         string         `json:"driver"`
	DriverInfo     map[string]any `json:"driver_info"`
	DriverInternal map[string]any `json:"driver_internal_info"`
	Extra          map[string]any `json:"extra"`
	InstanceInfo   map[string]any `json:"instance_info"`
	InstanceUUID   *string        `json:"instance_uuid"`
	Properties     map[string]any `json:"properties"`
	ResourceClass  *string        `json:"resource_class"`
	Maintenance    bool           `json:"maintenance"`
	MaintReason    *string        `json:"maintenance_reason"`
	Fault          *string        `json:"fault"`
	LastError      *string        `json:"last_error"`
	PowerState     *string        `json:"power_state"`
	Provision      core.Lifecycle `json:"provision"`
	// Target is target_provision_state while Provision is pending.
	Target           string            `json:"target,omitempty"`
	ProvisionUpdated *time.Time        `json:"provision_updated_at"`
	Owner            *string           `json:"owner"`
	Lessee           *string           `json:"lessee"`
	Description      *string           `json:"description"`
	ConductorGroup   string            `json:"conductor_group"`
	Protected        bool              `json:"protected"`
	ProtectedReason  *string           `json:"protected_reason"`
	Retired          bool              `json:"retired"`
	RetiredReason    *string           `json:"retired_reason"`
	AutomatedClean   *bool             `json:"automated_clean"`
	Traits           []string          `json:"traits"`
	ConsoleEnabled   bool              `json:"console_enabled"`
	NetworkData      map[string]any    `json:"network_data"`
	Interfaces       map[string]string `json:"interfaces"`
	Shard            *string           `json:"shard"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        *time.Time        `json:"updated_at"`
}

// Port is a node's NIC.
type Port struct {
	UUID                string         `json:"uuid"`
	Address             string         `json:"address"`
	NodeUUID            string         `json:"node_uuid"`
	Extra               map[string]any `json:"extra"`
	LocalLinkConnection map[string]any `json:"local_link_connection"`
	PXEEnabled          bool           `json:"pxe_enabled"`
	PhysicalNetwork     *string        `json:"physical_network"`
	IsSmartNIC          bool           `json:"is_smartnic"`
	InternalInfo        map[string]any `json:"internal_info"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           *time.Time     `json:"updated_at"`
}

// Drivers are the hardware types the emulator's conductor has.
var Drivers = []string{"fake-hardware", "ipmi", "redfish"}

// StartNodes is how many nodes are available at start.
const StartNodes = 3

func strp(s string) *string { return &s }

var interfaceNames = []string{"bios", "boot", "console", "deploy", "firmware", "inspect", "management", "network",
	"power", "raid", "rescue", "storage", "vendor"}

func defaultInterfaces(driver string) map[string]string {
	m := map[string]string{}
	for _, k := range interfaceNames {
		m[k] = "no-" + k
	}
	switch driver {
	case "ipmi":
		m["boot"], m["console"], m["deploy"], m["inspect"], m["management"], m["power"] = "ipxe", "no-console", "direct", "inspector", "ipmitool", "ipmitool"
	case "redfish":
		m["boot"], m["deploy"], m["inspect"], m["management"], m["power"], m["bios"] = "redfish-virtual-media", "direct", "redfish", "redfish", "redfish", "redfish"
	default:
		m["boot"], m["deploy"], m["management"], m["power"], m["console"], m["inspect"] = "fake", "fake", "fake", "fake", "no-console", "fake"
	}
	m["network"], m["storage"], m["raid"], m["rescue"], m["vendor"] = "noop", "noop", "no-raid", "no-rescue", "no-vendor"
	return m
}

// New returns Ironic with StartNodes available nodes of resource class
// "baremetal" (1 CPU, 1024 MiB, 10 GiB: Nova's bare-metal flavor), each
// with one port.
func New(env *core.Env) *Ironic {
	now := env.Now()
	s := state{Nodes: map[string]*Node{}, Ports: map[string]*Port{}}
	for i := 1; i <= StartNodes; i++ {
		n := newNode(now, "ipmi")
		n.Name = strp(fmt.Sprintf("node-%d", i))
		n.ResourceClass = strp("baremetal")
		n.Properties = map[string]any{"cpus": 1, "memory_mb": 1024, "local_gb": 10, "cpu_arch": "x86_64",
			"capabilities": "boot_mode:uefi"}
		n.DriverInfo = map[string]any{"ipmi_address": fmt.Sprintf("192.0.2.%d", 10+i), "ipmi_username": "admin",
			"ipmi_password": "******", "deploy_kernel": "file:///ironic/agent.kernel", "deploy_ramdisk": "file:///ironic/agent.ramdisk"}
		n.Provision = core.Lifecycle{Status: "available"}
		n.PowerState = strp("power off")
		n.ProvisionUpdated = &now
		s.Nodes[n.UUID] = n
		p := &Port{UUID: core.NewUUID(), Address: fmt.Sprintf("52:54:00:00:00:%02x", i), NodeUUID: n.UUID,
			Extra: map[string]any{}, LocalLinkConnection: map[string]any{}, PXEEnabled: true, InternalInfo: map[string]any{}, CreatedAt: now}
		s.Ports[p.UUID] = p
	}
	return &Ironic{env: env, state: core.NewState(env, s)}
}

func newNode(now time.Time, driver string) *Node {
	return &Node{UUID: core.NewUUID(), Driver: driver, DriverInfo: map[string]any{}, DriverInternal: map[string]any{},
		Extra: map[string]any{}, InstanceInfo: map[string]any{}, Properties: map[string]any{}, Traits: []string{},
		Interfaces: defaultInterfaces(driver), CreatedAt: now, Provision: core.Lifecycle{Status: "enroll"}}
}

// Spec implements core.Service.
func (ir *Ironic) Spec() core.Spec {
	return core.Spec{Name: "ironic", Type: "baremetal", Prefix: "/baremetal", Errors: Errors,
		Microversions: &core.Microversions{Service: "baremetal", Min: "1.1", Max: MaxMicroversion,
			Legacy: "X-OpenStack-Ironic-API-Version"}}
}

// State implements core.Service.
func (ir *Ironic) State() core.Persistent { return ir.state }

// Resources implements core.Service.
func (ir *Ironic) Resources() []core.Resource {
	var out []core.Resource
	now := ir.env.Now()
	_ = ir.state.View(func(s *state) error {
		for _, n := range s.Nodes {
			name := ""
			if n.Name != nil {
				name = *n.Name
			}
			owner := ""
			if n.Owner != nil {
				owner = *n.Owner
			}
			out = append(out, core.Resource{Type: "node", ID: n.UUID, Name: name, ProjectID: owner, Status: n.Provision.Current(now)})
		}
		for _, p := range s.Ports {
			out = append(out, core.Resource{Type: "port", ID: p.UUID, Name: p.Address})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

// Errors is Ironic's error shape: the WSME-style fault, JSON-encoded as a
// string inside {"error_message": ...}.
func Errors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	faultcode := "Client"
	if e.Status >= 500 {
		faultcode = "Server"
	}
	inner, _ := json.Marshal(map[string]any{"faultcode": faultcode, "faultstring": e.Message, "debuginfo": nil})
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	versionHeaders(w)
	core.WriteJSON(w, e.Status, map[string]any{"error_message": string(inner)})
}

func versionHeaders(w http.ResponseWriter) {
	w.Header().Set("X-OpenStack-Ironic-API-Minimum-Version", "1.1")
	w.Header().Set("X-OpenStack-Ironic-API-Maximum-Version", MaxMicroversion)
}
