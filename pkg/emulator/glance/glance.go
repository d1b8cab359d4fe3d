package glance

import (
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// MaxImageSize bounds an upload (413 past it): the emulator keeps data in
// memory and in the -state file.
const MaxImageSize = 64 << 20

// Glance is the Image service.
type Glance struct {
	env   *core.Env
	state *core.State[state]
}

// state is everything Glance saves. Exported fields only: it is JSON.
type state struct {
	Images map[string]*Image `json:"images"`
}

// Image is one image with its data.
type Image struct {
	ID              string             `json:"id"`
	Name            *string            `json:"name"`
	Status          string             `json:"status"`
	Visibility      string             `json:"visibility"`
	Owner           string             `json:"owner"`
	Protected       bool               `json:"protected"`
	Hidden          bool               `json:"os_hidden"`
	DiskFormat      *string            `json:"disk_format"`
	ContainerFormat *string            `json:"container_format"`
	MinDisk         int                `json:"min_disk"`
	MinRAM          int                `json:"min_ram"`
	Tags            []string           `json:"tags"`
	Properties      map[string]string  `json:"properties"`
	Members         map[string]*Member `json:"members,omitempty"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
	Data            []byte             `json:"data,omitempty"`
	Checksum        string             `json:"checksum,omitempty"`
	HashValue       string             `json:"os_hash_value,omitempty"`
}

// Member is a project an image is shared with.
type Member struct {
	MemberID  string    `json:"member_id"`
	Status    string    `json:"status"` // pending, accepted, rejected
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CirrosName is the image present at start, public, owned by no project
// (as an operator's image would be).
const CirrosName = "cirros-0.6.2-x86_64-disk"

// New returns Glance with the cirros image.
func New(env *core.Env) *Glance {
	now := env.Now()
	name, disk, container := CirrosName, "qcow2", "bare"
	cirros := &Image{ID: core.NewUUID(), Name: &name, Status: "active", Visibility: "public",
		DiskFormat: &disk, ContainerFormat: &container, Tags: []string{}, Properties: map[string]string{
			"hw_rng_model": "virtio", "os_distro": "cirros", "os_type": "linux"},
		CreatedAt: now, UpdatedAt: now}
	cirros.setData(fakeQcow2())
	return &Glance{env: env, state: core.NewState(env, state{Images: map[string]*Image{cirros.ID: cirros}})}
}

// fakeQcow2 is a small blob that starts like a qcow2 file.
func fakeQcow2() []byte {
	b := make([]byte, 4096)
	copy(b, []byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, 3})
	return b
}

func (img *Image) setData(b []byte) {
	img.Data = b
	sum := md5.Sum(b)
	img.Checksum = hex.EncodeToString(sum[:])
	h := sha512.Sum512(b)
	img.HashValue = hex.EncodeToString(h[:])
}

// Spec implements core.Service.
func (g *Glance) Spec() core.Spec {
	return core.Spec{Name: "glance", Type: "image", Prefix: "/image", Errors: core.WebObErrors}
}

// State implements core.Service.
func (g *Glance) State() core.Persistent { return g.state }

// Resources implements core.Service.
func (g *Glance) Resources() []core.Resource {
	var out []core.Resource
	_ = g.state.View(func(s *state) error {
		for _, img := range s.Images {
			out = append(out, core.Resource{Type: "image", ID: img.ID, Name: deref(img.Name), ProjectID: img.Owner, Status: img.Status})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
