package trove

import (
	"net/http"
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Trove is the Database service.
type Trove struct {
	env   *core.Env
	state *core.State[state]
}

// state is everything Trove saves.
type state struct {
	Instances map[string]*Instance `json:"instances"`
	Quotas    core.Quotas          `json:"quotas"`
	// NextAddress numbers the made-up addresses of instances on a
	// network the emulator has no Neutron for.
	NextAddress int `json:"next_address"`
}

// Instance is one database instance: the Trove record, the guest's
// databases and users, and the port Trove created for it.
type Instance struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	ProjectID        string         `json:"project_id"`
	FlavorID         string         `json:"flavor_id"`
	FlavorRAM        int            `json:"flavor_ram"`
	Datastore        string         `json:"datastore"`         // datastore name
	DatastoreVersion string         `json:"datastore_version"` // version name
	VolumeSize       int            `json:"volume_size"`
	VolumeType       *string        `json:"volume_type,omitempty"`
	Region           string         `json:"region"`
	AvailabilityZone string         `json:"availability_zone,omitempty"`
	Locality         string         `json:"locality,omitempty"`
	Access           map[string]any `json:"access,omitempty"`
	Addresses        []Address      `json:"addresses,omitempty"`
	PortID           string         `json:"port_id,omitempty"`
	ServerID         string         `json:"server_id"`
	VolumeID         string         `json:"volume_id"`
	// Lifecycle: BUILD -> ACTIVE, RESIZE/REBOOT/UPGRADE -> ACTIVE,
	// BUILD -> ERROR (port creation failed), SHUTDOWN -> deleted.
	core.Lifecycle
	Fault       *Fault               `json:"fault,omitempty"`
	Databases   map[string]*Database `json:"databases"`
	Users       map[string]*User     `json:"users"` // by name@host
	RootEnabled bool                 `json:"root_enabled"`
	Created     time.Time            `json:"created"`
	Updated     time.Time            `json:"updated"`
}

// Address is one of an instance's addresses as Trove shows it.
type Address struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Network string `json:"network,omitempty"`
}

// Fault is why an instance is in ERROR.
type Fault struct {
	Message string    `json:"message"`
	Details string    `json:"details"`
	Created time.Time `json:"created"`
}

// Database is a schema on an instance.
type Database struct {
	Name         string `json:"name"`
	CharacterSet string `json:"character_set"`
	Collate      string `json:"collate"`
}

// User is a database user on an instance.
type User struct {
	Name      string   `json:"name"`
	Host      string   `json:"host"`
	Password  string   `json:"password"`
	Databases []string `json:"databases"`
}

func userKey(name, host string) string { return name + "@" + host }

// Trove's default quotas (trove/common/cfg.py): instances 10, volumes
// 40 GB, backups 50, ram unlimited; an instance's volume at most 10 GB.
const (
	maxVolumeSize = 10
)

var quotaResources = []string{"instances", "ram", "volumes", "backups"}

// New returns Trove with no instances.
func New(env *core.Env) *Trove {
	return &Trove{env: env, state: core.NewState(env, state{
		Instances: map[string]*Instance{},
		Quotas:    core.NewQuotas(map[string]int{"instances": 10, "ram": -1, "volumes": 40, "backups": 50}),
	})}
}

// Spec implements core.Service.
func (t *Trove) Spec() core.Spec {
	return core.Spec{Name: "trove", Type: "database", Prefix: "/database",
		Endpoint: "/database/v1.0/$(project_id)s", Errors: Errors}
}

// State implements core.Service.
func (t *Trove) State() core.Persistent { return t.state }

// Resources implements core.Service.
func (t *Trove) Resources() []core.Resource {
	var out []core.Resource
	now := t.env.Now()
	_ = t.state.View(func(s *state) error {
		for _, in := range s.Instances {
			if in.gone(now) {
				continue
			}
			out = append(out, core.Resource{Type: "instance", ID: in.ID, Name: in.Name, ProjectID: in.ProjectID, Status: in.status(now)})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// faultNames are the keys trove/common/wsgi.py's Fault gives each status
// (webob's class name without HTTP, first letter lowered, when not listed).
var faultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
	405: "badMethod", 406: "notAcceptable", 409: "conflict", 413: "overLimit", 415: "badMediaType",
	422: "unprocessableEntity", 500: "instanceFault", 501: "notImplemented", 503: "serviceUnavailable",
}

// Errors renders Trove's fault shape: {"itemNotFound": {"code": 404,
// "message": "..."}}, with Trove's names (409 is "conflict", 422
// "unprocessableEntity", 500 "instanceFault").
func Errors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	if e.Type == "" {
		if name, ok := faultNames[e.Status]; ok {
			c := *e
			c.Type = name
			e = &c
		}
	}
	core.FaultErrors(w, r, e)
}

// status is the instance's status at now, as Trove computes it.
func (in *Instance) status(now time.Time) string { return in.Current(now) }

// gone reports whether a deleted instance's SHUTDOWN is over.
func (in *Instance) gone(now time.Time) bool { return in.Current(now) == "deleted" }

// purge drops the instances whose deletion finished.
func (s *state) purge(now time.Time) {
	for id, in := range s.Instances {
		if in.gone(now) {
			delete(s.Instances, id)
		}
	}
}

// usage is what a project uses against its quotas.
func (s *state) usage(project string, now time.Time) map[string]int {
	u := map[string]int{"instances": 0, "ram": 0, "volumes": 0, "backups": 0}
	for _, in := range s.Instances {
		if in.ProjectID != project || in.gone(now) {
			continue
		}
		u["instances"]++
		u["ram"] += in.FlavorRAM
		u["volumes"] += in.VolumeSize
	}
	return u
}
