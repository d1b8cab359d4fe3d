// Package cinder is the emulator's Block Storage service (Cinder v3, API
// microversions 3.0-3.70 as Cinder 21 "Zed" serves them): version
// discovery, volumes (creating -> available after -delay, from a snapshot,
// a volume or a Glance image, metadata, actions: extend, retype, bootable,
// readonly, the attach/detach actions Nova uses, force-delete and
// reset-status for admins), snapshots, volume types with extra specs and
// access, the v3 attachments API (3.27+), backups, quotas (413 OverLimit),
// limits and availability zones.
//
// The catalog carries it twice, as block-storage and volumev3 (devstack's
// cinder and cinderv3), at /volume/v3/<project_id>.
package cinder

import (
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// MaxVersion is the newest microversion (Cinder 21's _MAX_API_VERSION).
const MaxVersion = "3.70"

// AZ is the one availability zone.
const AZ = "nova"

// Built-in volume types: Cinder's own __DEFAULT__ and devstack's
// lvmdriver-1, the default (default_volume_type).
const (
	DefaultTypeName = "lvmdriver-1"
	BuiltinTypeName = "__DEFAULT__"
)

// Cinder is the Block Storage service.
type Cinder struct {
	env   *core.Env
	state *core.State[state]
}

type state struct {
	Volumes     map[string]*Volume     `json:"volumes"`
	Snapshots   map[string]*Snapshot   `json:"snapshots"`
	Types       map[string]*VolumeType `json:"types"`
	Attachments map[string]*Attachment `json:"attachments"`
	Backups     map[string]*Backup     `json:"backups"`
	DefaultType string                 `json:"default_type"`
	Quotas      core.Quotas            `json:"quotas"`
}

// Volume is one volume.
type Volume struct {
	ID          string            `json:"id"`
	ProjectID   string            `json:"project_id"`
	UserID      string            `json:"user_id"`
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	Size        int               `json:"size"`
	AZ          string            `json:"availability_zone"`
	TypeID      string            `json:"volume_type_id"`
	SnapshotID  string            `json:"snapshot_id,omitempty"`
	SourceVolID string            `json:"source_volid,omitempty"`
	BackupID    string            `json:"backup_id,omitempty"`
	Metadata    map[string]string `json:"metadata"`
	// ImageMetadata is volume_image_metadata (from Glance for image volumes).
	ImageMetadata map[string]string `json:"image_metadata,omitempty"`
	Bootable      bool              `json:"bootable"`
	Readonly      bool              `json:"readonly"`
	Multiattach   bool              `json:"multiattach"`
	AttachStatus  string            `json:"attach_status"`
	core.Lifecycle
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Snapshot is one volume snapshot.
type Snapshot struct {
	ID          string            `json:"id"`
	ProjectID   string            `json:"project_id"`
	UserID      string            `json:"user_id"`
	VolumeID    string            `json:"volume_id"`
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	Size        int               `json:"size"`
	Metadata    map[string]string `json:"metadata"`
	core.Lifecycle
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// VolumeType is a volume type with its extra specs and private access.
type VolumeType struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	IsPublic    bool              `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	Projects    []string          `json:"projects,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
}

// Attachment is a volume attachment (the v3 attachments API and the
// legacy os-attach action both make them).
type Attachment struct {
	ID             string         `json:"id"`
	VolumeID       string         `json:"volume_id"`
	ProjectID      string         `json:"project_id"`
	InstanceUUID   *string        `json:"instance_uuid"`
	Status         string         `json:"attach_status"` // reserved, attaching, attached
	Mode           string         `json:"attach_mode"`   // null, rw, ro
	Connector      map[string]any `json:"connector,omitempty"`
	ConnectionInfo map[string]any `json:"connection_info,omitempty"`
	Host           *string        `json:"attached_host"`
	Mountpoint     *string        `json:"mountpoint"`
	AttachTime     *time.Time     `json:"attach_time,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
}

// Backup is one volume backup.
type Backup struct {
	ID           string            `json:"id"`
	ProjectID    string            `json:"project_id"`
	UserID       string            `json:"user_id"`
	VolumeID     string            `json:"volume_id"`
	SnapshotID   *string           `json:"snapshot_id"`
	Name         *string           `json:"name"`
	Description  *string           `json:"description"`
	Size         int               `json:"size"`
	Container    *string           `json:"container"`
	Incremental  bool              `json:"is_incremental"`
	HasDependent bool              `json:"has_dependent_backups"`
	Metadata     map[string]string `json:"metadata"`
	core.Lifecycle
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Default quotas, as Cinder's [DEFAULT] quota_* options.
var defaultQuotas = map[string]int{
	"volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10,
	"backup_gigabytes": 1000, "per_volume_gigabytes": -1, "groups": 10,
}

// New returns Cinder with its two built-in volume types.
func New(env *core.Env) *Cinder {
	now := env.Now()
	defDesc := "Default Volume Type"
	builtin := &VolumeType{ID: core.NewUUID(), Name: BuiltinTypeName, Description: &defDesc, IsPublic: true,
		ExtraSpecs: map[string]string{}, CreatedAt: now}
	lvm := &VolumeType{ID: core.NewUUID(), Name: DefaultTypeName, IsPublic: true,
		ExtraSpecs: map[string]string{"volume_backend_name": "lvmdriver-1"}, CreatedAt: now.Add(time.Microsecond)}
	st := state{
		Volumes: map[string]*Volume{}, Snapshots: map[string]*Snapshot{},
		Types:       map[string]*VolumeType{builtin.ID: builtin, lvm.ID: lvm},
		Attachments: map[string]*Attachment{}, Backups: map[string]*Backup{},
		DefaultType: lvm.ID, Quotas: core.NewQuotas(defaultQuotas),
	}
	return &Cinder{env: env, state: core.NewState(env, st)}
}

// Spec implements core.Service.
func (c *Cinder) Spec() core.Spec { return spec() }

func spec() core.Spec {
	return core.Spec{
		Name: "cinder", Type: "block-storage", Prefix: "/volume",
		Endpoint:      "/volume/v3/$(project_id)s",
		Errors:        core.CinderFaultErrors,
		Microversions: &core.Microversions{Service: "volume", Min: "3.0", Max: MaxVersion},
	}
}

// VolumeV3 is Cinder's second catalog entry, volumev3 (devstack's
// cinderv3), which cinderclient looks up; register it right after New's.
func VolumeV3() core.Service { return core.Alias(spec(), "cinderv3", "volumev3") }

// State implements core.Service.
func (c *Cinder) State() core.Persistent { return c.state }

// Resources implements core.Service.
func (c *Cinder) Resources() []core.Resource {
	var out []core.Resource
	now := c.env.Now()
	_ = c.state.View(func(s *state) error {
		for _, v := range s.Volumes {
			if st := v.Current(now); st != "deleted" {
				out = append(out, core.Resource{Type: "volume", ID: v.ID, Name: deref(v.Name), ProjectID: v.ProjectID, Status: st})
			}
		}
		for _, sn := range s.Snapshots {
			if st := sn.Current(now); st != "deleted" {
				out = append(out, core.Resource{Type: "snapshot", ID: sn.ID, Name: deref(sn.Name), ProjectID: sn.ProjectID, Status: st})
			}
		}
		for _, b := range s.Backups {
			if st := b.Current(now); st != "deleted" {
				out = append(out, core.Resource{Type: "backup", ID: b.ID, Name: deref(b.Name), ProjectID: b.ProjectID, Status: st})
			}
		}
		for _, t := range s.Types {
			out = append(out, core.Resource{Type: "volume_type", ID: t.ID, Name: t.Name})
		}
		for _, a := range s.Attachments {
			out = append(out, core.Resource{Type: "attachment", ID: a.ID, ProjectID: a.ProjectID, Status: a.Status})
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
