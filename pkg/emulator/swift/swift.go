// Package swift is the emulator's Object Storage service (Swift v1 behind
// keystoneauth): /info discovery, accounts (AUTH_<project_id>),
// containers, objects, metadata, container ACLs (with `.r:*` public read
// that needs no token), temp URLs, COPY / X-Copy-From, Range and
// conditional requests, expiring objects, bulk delete, static and dynamic
// large objects, container quotas and object versioning. It answers
// Swift's status codes and its HTML and plain-text error bodies, and sets
// X-Trans-Id on every answer.
package swift

import (
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Limits. Swift's constraints, except MaxFileSize: the emulator keeps
// objects in memory (and in -state), so it refuses objects above 64 MiB
// and says so in /info, which makes the clients segment larger uploads
// into static large objects, as they do on a real cluster for 5 GiB.
const (
	MaxFileSize            = 64 << 20
	MaxMetaNameLength      = 128
	MaxMetaValueLength     = 256
	MaxMetaCount           = 90
	MaxMetaOverallSize     = 4096
	MaxHeaderSize          = 8192
	MaxObjectNameLength    = 1024
	MaxContainerNameLength = 256
	MaxAccountNameLength   = 256
	ContainerListingLimit  = 10000
	AccountListingLimit    = 10000
	MaxManifestSegments    = 1000
	MaxManifestSize        = 8388608
	MaxDeletesPerRequest   = 10000
	MaxFailedDeletes       = 1000
	// ResellerPrefix is keystoneauth's: the account of project P is AUTH_P.
	ResellerPrefix = "AUTH_"
	// PolicyName is the one storage policy.
	PolicyName = "Policy-0"
	// Version is the Swift release the emulator answers as (Debian
	// bookworm's).
	Version = "2.30.1"
)

// Swift is the Object Storage service.
type Swift struct {
	env   *core.Env
	state *core.State[state]
}

// state is everything Swift saves: the accounts that were written to
// (others exist implicitly, empty, as with account_autocreate).
type state struct {
	Accounts map[string]*Account `json:"accounts"`
}

// Account is one project's account.
type Account struct {
	Name       string                `json:"name"` // AUTH_<project_id>
	Meta       map[string]string     `json:"meta,omitempty"`
	Sysmeta    map[string]string     `json:"sysmeta,omitempty"` // quota-bytes (reseller only)
	Created    time.Time             `json:"created"`
	PutTime    time.Time             `json:"put_time"`
	Containers map[string]*Container `json:"containers"`
}

// Container is one container with its objects.
type Container struct {
	Name    string             `json:"name"`
	Meta    map[string]string  `json:"meta,omitempty"` // lower-case suffix of X-Container-Meta-*
	Read    string             `json:"read,omitempty"` // X-Container-Read, cleaned
	Write   string             `json:"write,omitempty"`
	Sysmeta map[string]string  `json:"sysmeta,omitempty"` // versions-location, history-location, ...
	Created time.Time          `json:"created"`
	PutTime time.Time          `json:"put_time"`
	Objects map[string]*Object `json:"objects"`
}

// Object is one object: its data, or for a static large object its
// manifest; a dynamic large object has X-Object-Manifest among Headers.
type Object struct {
	Name         string            `json:"name"`
	Data         []byte            `json:"data,omitempty"`
	ETag         string            `json:"etag"` // md5 hex of Data (a static large object's Data is its manifest JSON)
	ContentType  string            `json:"content_type"`
	Meta         map[string]string `json:"meta,omitempty"`    // lower-case suffix of X-Object-Meta-*
	Headers      map[string]string `json:"headers,omitempty"` // Content-Disposition, Content-Encoding, X-Object-Manifest, ...
	LastModified time.Time         `json:"last_modified"`
	DeleteAt     int64             `json:"delete_at,omitempty"`
	Segments     []Segment         `json:"segments,omitempty"` // static large object
}

// Segment is one entry of a static large object's manifest: an object
// (Path, with its ETag and size when the manifest was written, and an
// optional byte range "M-N") or inline Data.
type Segment struct {
	Path         string `json:"path,omitempty"` // /container/object
	ETag         string `json:"etag,omitempty"`
	Bytes        int64  `json:"bytes"`
	Type         string `json:"content_type,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Range        string `json:"range,omitempty"`
	Data         []byte `json:"data,omitempty"`
}

// New returns Swift with no account written yet.
func New(env *core.Env) *Swift {
	return &Swift{env: env, state: core.NewState(env, state{Accounts: map[string]*Account{}})}
}

// Spec implements core.Service. The catalog URL is the account's, as
// keystoneauth's reseller prefix makes it.
func (s *Swift) Spec() core.Spec {
	return core.Spec{Name: "swift", Type: "object-store", Prefix: "/object-store",
		Endpoint: "/object-store/v1/" + ResellerPrefix + "$(project_id)s",
		Errors:   writeErrors, AuthErrors: writeAuthErrors}
}

// State implements core.Service.
func (s *Swift) State() core.Persistent { return s.state }

// Resources implements core.Service: every container (as
// "<account>/<container>") and object ("<account>/<container>/<object>").
func (s *Swift) Resources() []core.Resource {
	var out []core.Resource
	now := s.env.Now()
	_ = s.state.View(func(st *state) error {
		for _, a := range st.Accounts {
			pid := strings.TrimPrefix(a.Name, ResellerPrefix)
			for _, c := range a.Containers {
				out = append(out, core.Resource{Type: "container", ID: a.Name + "/" + c.Name, Name: c.Name, ProjectID: pid})
				for _, o := range c.Objects {
					if o.expired(now) {
						continue
					}
					out = append(out, core.Resource{Type: "object", ID: a.Name + "/" + c.Name + "/" + o.Name, Name: o.Name, ProjectID: pid})
				}
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (o *Object) expired(now time.Time) bool { return o.DeleteAt > 0 && now.Unix() >= o.DeleteAt }

// size is the object's length as served (a large object's is the sum of
// its segments, computed by the caller for DLOs).
func (o *Object) size() int64 {
	if o.Segments != nil {
		var n int64
		for _, sg := range o.Segments {
			n += sg.Bytes
		}
		return n
	}
	return int64(len(o.Data))
}

// container returns the container or nil.
func (st *state) container(account, name string) *Container {
	if a := st.Accounts[account]; a != nil {
		return a.Containers[name]
	}
	return nil
}

// liveObject returns the object unless missing or expired.
func (c *Container) liveObject(name string, now time.Time) *Object {
	if c == nil {
		return nil
	}
	o := c.Objects[name]
	if o == nil || o.expired(now) {
		return nil
	}
	return o
}

// usage returns the live object count and bytes of a container (a
// static large object counts its manifest's bytes, as Swift stores it).
func (c *Container) usage(now time.Time) (count, bytes int64) {
	for _, o := range c.Objects {
		if o.expired(now) {
			continue
		}
		count++
		bytes += int64(len(o.Data))
	}
	return count, bytes
}
