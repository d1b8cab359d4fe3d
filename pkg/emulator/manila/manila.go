// Package manila is the emulator's Shared File Systems service (Manila
// v2, API microversions 2.0-2.73 as Manila 15 "Zed" serves them, chosen
// with X-OpenStack-Manila-API-Version): version discovery, share types
// (a default one, admin CRUD, extra specs), share networks, shares
// (creating -> available after -delay, NFS and CIFS, metadata, export
// locations, extend and shrink), access rules (allow_access / deny_access
// with ip, user and cert rules, rw/ro, queued_to_apply -> active; the
// access_list action of 2.7-2.44 and the share-access-rules API of 2.45+),
// quotas (413), limits and availability zones.
//
// The catalog carries it twice, as shared-file-system and sharev2, at
// /share/v2/<project_id>.
package manila

import (
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Microversion range of Manila 15.
const (
	MinVersion = "2.0"
	MaxVersion = "2.73"
)

// AZ is the one availability zone.
const AZ = "nova"

// DefaultTypeName is the default share type (default_share_type), with
// driver_handles_share_servers False so shares need no share network.
const DefaultTypeName = "default"

// Protocols are enabled_share_protocols.
var Protocols = []string{"NFS", "CIFS"}

// Manila is the Shared File Systems service.
type Manila struct {
	env   *core.Env
	state *core.State[state]
}

type state struct {
	Shares      map[string]*Share        `json:"shares"`
	Rules       map[string]*AccessRule   `json:"access_rules"`
	Types       map[string]*ShareType    `json:"types"`
	Networks    map[string]*ShareNetwork `json:"share_networks"`
	DefaultType string                   `json:"default_type"`
	AZID        string                   `json:"az_id"`
	Quotas      core.Quotas              `json:"quotas"`
}

// Share is one share with its (single) instance and export location.
type Share struct {
	ID          string            `json:"id"`
	ProjectID   string            `json:"project_id"`
	UserID      string            `json:"user_id"`
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	Size        int               `json:"size"`
	Proto       string            `json:"share_proto"`
	TypeID      string            `json:"share_type_id"`
	NetworkID   string            `json:"share_network_id,omitempty"`
	IsPublic    bool              `json:"is_public"`
	Metadata    map[string]string `json:"metadata"`
	InstanceID  string            `json:"instance_id"`
	ExportID    string            `json:"export_location_id"`
	core.Lifecycle
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AccessRule is one access rule of a share.
type AccessRule struct {
	ID        string            `json:"id"`
	ShareID   string            `json:"share_id"`
	ProjectID string            `json:"project_id"`
	Type      string            `json:"access_type"`
	To        string            `json:"access_to"`
	Level     string            `json:"access_level"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// State: queued_to_apply -> active; queued_to_deny -> deleted.
	core.Lifecycle
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ShareType is a share type.
type ShareType struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	IsPublic    bool              `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	Projects    []string          `json:"projects,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
}

// ShareNetwork is a share network with its default subnet.
type ShareNetwork struct {
	ID          string    `json:"id"`
	ProjectID   string    `json:"project_id"`
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	NetID       *string   `json:"neutron_net_id"`
	SubnetID    *string   `json:"neutron_subnet_id"`
	SubnetUUID  string    `json:"subnet_uuid"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Default quotas, as Manila's [quota] options.
var defaultQuotas = map[string]int{
	"shares": 50, "gigabytes": 1000, "snapshots": 50, "snapshot_gigabytes": 1000, "share_networks": 10,
	"share_groups": 50, "share_group_snapshots": 50, "share_replicas": 100, "replica_gigabytes": 1000,
	"per_share_gigabytes": -1,
}

// New returns Manila with its default share type.
func New(env *core.Env) *Manila {
	desc := "Default share type"
	def := &ShareType{ID: core.NewUUID(), Name: DefaultTypeName, Description: &desc, IsPublic: true, CreatedAt: env.Now(),
		ExtraSpecs: map[string]string{"driver_handles_share_servers": "False", "snapshot_support": "True",
			"create_share_from_snapshot_support": "True", "revert_to_snapshot_support": "False", "mount_snapshot_support": "False"}}
	st := state{Shares: map[string]*Share{}, Rules: map[string]*AccessRule{}, Types: map[string]*ShareType{def.ID: def},
		Networks: map[string]*ShareNetwork{}, DefaultType: def.ID, AZID: core.NewUUID(), Quotas: core.NewQuotas(defaultQuotas)}
	return &Manila{env: env, state: core.NewState(env, st)}
}

// Spec implements core.Service.
func (m *Manila) Spec() core.Spec { return spec() }

func spec() core.Spec {
	// Microversions are negotiated by the service itself (versioned):
	// Manila reads only X-OpenStack-Manila-API-Version.
	return core.Spec{Name: "manila", Type: "shared-file-system", Prefix: "/share",
		Endpoint: "/share/v2/$(project_id)s", Errors: core.CinderFaultErrors}
}

// ShareV2 is Manila's second catalog entry, sharev2 (devstack's
// manilav2), which manilaclient looks up; register it right after New's.
func ShareV2() core.Service { return core.Alias(spec(), "manilav2", "sharev2") }

// State implements core.Service.
func (m *Manila) State() core.Persistent { return m.state }

// Resources implements core.Service.
func (m *Manila) Resources() []core.Resource {
	var out []core.Resource
	now := m.env.Now()
	_ = m.state.View(func(s *state) error {
		for _, sh := range s.Shares {
			if st := sh.Current(now); st != "deleted" {
				out = append(out, core.Resource{Type: "share", ID: sh.ID, Name: deref(sh.Name), ProjectID: sh.ProjectID, Status: st})
			}
		}
		for _, r := range s.Rules {
			if st := r.Current(now); st != "deleted" {
				out = append(out, core.Resource{Type: "access_rule", ID: r.ID, Name: r.Type + ":" + r.To, ProjectID: r.ProjectID, Status: st})
			}
		}
		for _, t := range s.Types {
			out = append(out, core.Resource{Type: "share_type", ID: t.ID, Name: t.Name})
		}
		for _, n := range s.Networks {
			out = append(out, core.Resource{Type: "share_network", ID: n.ID, Name: deref(n.Name), ProjectID: n.ProjectID, Status: "active"})
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
