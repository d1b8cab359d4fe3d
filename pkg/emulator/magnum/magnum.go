package magnum

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Magnum is the Container Infrastructure Management service.
type Magnum struct {
	env   *core.Env
	state *core.State[state]
}

type state struct {
	Templates map[string]*Template `json:"clustertemplates"`
	Clusters  map[string]*Cluster  `json:"clusters"`
	Quotas    []*Quota             `json:"quotas"`
	// NextQuotaID: quotas have Magnum's integer ids.
	NextQuotaID int `json:"next_quota_id"`
}

// Template is a cluster template; the json names are the API's.
type Template struct {
	UUID                string         `json:"uuid"`
	Name                string         `json:"name"`
	ProjectID           string         `json:"project_id"`
	UserID              string         `json:"user_id"`
	COE                 string         `json:"coe"`
	ImageID             string         `json:"image_id"`
	FlavorID            *string        `json:"flavor_id"`
	MasterFlavorID      *string        `json:"master_flavor_id"`
	DNSNameserver       *string        `json:"dns_nameserver"`
	KeypairID           *string        `json:"keypair_id"`
	ExternalNetworkID   *string        `json:"external_network_id"`
	FixedNetwork        *string        `json:"fixed_network"`
	FixedSubnet         *string        `json:"fixed_subnet"`
	NetworkDriver       *string        `json:"network_driver"`
	APIServerPort       *int           `json:"apiserver_port"`
	DockerVolumeSize    *int           `json:"docker_volume_size"`
	ClusterDistro       *string        `json:"cluster_distro"`
	HTTPProxy           *string        `json:"http_proxy"`
	HTTPSProxy          *string        `json:"https_proxy"`
	NoProxy             *string        `json:"no_proxy"`
	VolumeDriver        *string        `json:"volume_driver"`
	RegistryEnabled     bool           `json:"registry_enabled"`
	Labels              map[string]any `json:"labels"`
	TLSDisabled         bool           `json:"tls_disabled"`
	Public              bool           `json:"public"`
	ServerType          string         `json:"server_type"`
	InsecureRegistry    *string        `json:"insecure_registry"`
	DockerStorageDriver *string        `json:"docker_storage_driver"`
	MasterLBEnabled     bool           `json:"master_lb_enabled"`
	FloatingIPEnabled   bool           `json:"floating_ip_enabled"`
	Hidden              bool           `json:"hidden"`
	Tags                *string        `json:"tags"`
	Created             time.Time      `json:"created_at"`
	Updated             *time.Time     `json:"updated_at"`
}

// Cluster is a COE cluster. Its Heat stack is not built: the emulator
// answers with the stack id, addresses and statuses Magnum would report.
type Cluster struct {
	UUID              string         `json:"uuid"`
	Name              string         `json:"name"`
	ProjectID         string         `json:"project_id"`
	UserID            string         `json:"user_id"`
	TemplateID        string         `json:"cluster_template_id"`
	Keypair           *string        `json:"keypair"`
	DockerVolumeSize  *int           `json:"docker_volume_size"`
	Labels            map[string]any `json:"labels"`
	TemplateLabels    map[string]any `json:"template_labels"`
	MasterFlavorID    *string        `json:"master_flavor_id"`
	FlavorID          *string        `json:"flavor_id"`
	CreateTimeout     int            `json:"create_timeout"`
	DiscoveryURL      *string        `json:"discovery_url"`
	FixedNetwork      *string        `json:"fixed_network"`
	FixedSubnet       *string        `json:"fixed_subnet"`
	FloatingIPEnabled bool           `json:"floating_ip_enabled"`
	MasterLBEnabled   bool           `json:"master_lb_enabled"`
	NodeCount         int            `json:"node_count"`
	MasterCount       int            `json:"master_count"`
	StackID           string         `json:"stack_id"`
	COE               string         `json:"coe"`
	// Operation is what the pending status is about: CREATE, UPDATE, DELETE.
	Operation string     `json:"operation"`
	Created   time.Time  `json:"created_at"`
	Updated   *time.Time `json:"updated_at"`
	// Lifecycle: CREATE_IN_PROGRESS -> CREATE_COMPLETE, UPDATE_IN_PROGRESS
	// -> UPDATE_COMPLETE, DELETE_IN_PROGRESS -> deleted (gone).
	core.Lifecycle
}

const (
	minVersion = "1.1"
	maxVersion = "1.10"
	// maxLimit is CONF.api.max_limit; maxClusters CONF.quotas.max_clusters_per_project.
	maxLimit    = 1000
	maxClusters = 20
	deleted     = "deleted"
)

// New returns Magnum with no templates and no clusters.
func New(env *core.Env) *Magnum {
	return &Magnum{env: env, state: core.NewState(env, state{Templates: map[string]*Template{}, Clusters: map[string]*Cluster{}})}
}

// Spec implements core.Service. The catalog has /v1, as devstack
// registers Magnum (magnumclient strips /v1 from its paths and needs it
// in the endpoint).
func (m *Magnum) Spec() core.Spec {
	return core.Spec{Name: "magnum", Type: "container-infra", Prefix: "/container-infra",
		Endpoint: "/container-infra/v1", Errors: Errors}
}

// State implements core.Service.
func (m *Magnum) State() core.Persistent { return m.state }

// Resources implements core.Service.
func (m *Magnum) Resources() []core.Resource {
	var out []core.Resource
	now := m.env.Now()
	_ = m.state.View(func(s *state) error {
		for _, t := range s.Templates {
			out = append(out, core.Resource{Type: "clustertemplate", ID: t.UUID, Name: t.Name, ProjectID: t.ProjectID})
		}
		for _, c := range s.Clusters {
			if st := c.status(now); st != deleted {
				out = append(out, core.Resource{Type: "cluster", ID: c.UUID, Name: c.Name, ProjectID: c.ProjectID, Status: st})
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

// Routes implements core.Service.
func (m *Magnum) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", m.root, core.Public)
	rt.Handle("GET /v1", m.versioned(m.v1), core.Public)
	rt.Handle("GET /v1/{$}", m.versioned(m.v1), core.Public)

	rt.Handle("GET /v1/clustertemplates", m.versioned(m.listTemplates))
	rt.Handle("GET /v1/clustertemplates/detail", m.versioned(m.listTemplates))
	rt.Handle("POST /v1/clustertemplates", m.versioned(m.createTemplate))
	rt.Handle("GET /v1/clustertemplates/{ident}", m.versioned(m.showTemplate))
	rt.Handle("PATCH /v1/clustertemplates/{ident}", m.versioned(m.updateTemplate))
	rt.Handle("DELETE /v1/clustertemplates/{ident}", m.versioned(m.deleteTemplate))

	rt.Handle("GET /v1/clusters", m.versioned(m.listClusters))
	rt.Handle("GET /v1/clusters/detail", m.versioned(m.listClusters))
	rt.Handle("POST /v1/clusters", m.versioned(m.createCluster))
	rt.Handle("GET /v1/clusters/{ident}", m.versioned(m.showCluster))
	rt.Handle("PATCH /v1/clusters/{ident}", m.versioned(m.updateCluster))
	rt.Handle("DELETE /v1/clusters/{ident}", m.versioned(m.deleteCluster))
	rt.Handle("POST /v1/clusters/{ident}/actions/resize", m.versioned(m.resizeCluster))

	rt.Handle("GET /v1/quotas", m.versioned(m.listQuotas), core.AdminOnly)
	rt.Handle("POST /v1/quotas", m.versioned(m.createQuota), core.AdminOnly)
	rt.Handle("GET /v1/quotas/{project_id}/{resource}", m.versioned(m.showQuota))
	rt.Handle("PATCH /v1/quotas/{project_id}/{resource}", m.versioned(m.updateQuota), core.AdminOnly)
	rt.Handle("DELETE /v1/quotas/{project_id}/{resource}", m.versioned(m.deleteQuota), core.AdminOnly)

}

// clientError is a MagnumException or wsme ClientSideError as Magnum
// renders it: faultcode Client.
func clientError(status int, format string, args ...any) *core.APIError {
	return core.Errorf(status, format, args...).WithType("client")
}

// Errors renders Magnum's ParsableErrorMiddleware shape:
// {"errors": [{"request_id": "", "code": "client", "status": 404,
// "title": "Cluster x could not be found", "detail": "Cluster x could not
// be found.", "links": []}]}. An error without a fault code (pecan's 404
// and 405) has webob's title and an empty code.
func Errors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	var item map[string]any
	switch e.Type {
	case "client":
		title, _, _ := strings.Cut(e.Message, ".")
		item = map[string]any{"request_id": "", "code": "client", "status": e.Status, "title": title, "detail": e.Message, "links": []any{}}
	case "microversion":
		item = map[string]any{"request_id": "", "code": "magnum.microversion-unsupported", "status": e.Status,
			"title": "Requested microversion is unsupported", "detail": e.Message,
			"max_version": maxVersion, "min_version": minVersion,
			"links": []any{map[string]any{"rel": "help", "href": "http://docs.openstack.org/api-guide/compute/microversions.html"}}}
	default:
		item = map[string]any{"request_id": "", "code": "", "status": e.Status, "title": http.StatusText(e.Status), "detail": e.Message, "links": []any{}}
	}
	core.WriteJSON(w, e.Status, map[string]any{"errors": []any{item}})
}

// versioned negotiates container-infra's microversion as Magnum's v1
// controller does: the minimum without a header, the basic headers on
// every answer, 406 for a malformed or unsupported one.
func (m *Magnum) versioned(h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		hd := w.Header()
		hd.Set("OpenStack-API-Minimum-Version", "container-infra "+minVersion)
		hd.Set("OpenStack-API-Maximum-Version", "container-infra "+maxVersion)
		hd.Set("Vary", "OpenStack-API-Version")
		raw := r.Header.Get("OpenStack-API-Version")
		v := core.MustVersion(minVersion)
		if raw != "" {
			parts := strings.Fields(raw)
			if len(parts) != 2 {
				return core.Errorf(http.StatusNotAcceptable, "Invalid service type for OpenStack-API-Version header")
			}
			if strings.EqualFold(parts[1], "latest") {
				parts[1] = maxVersion
			}
			if parts[0] != "container-infra" {
				return core.Errorf(http.StatusNotAcceptable, "Invalid service type for OpenStack-API-Version header")
			}
			p, err := core.ParseVersion(parts[1])
			if err != nil {
				return core.Errorf(http.StatusNotAcceptable, "Invalid value for OpenStack-API-Version header")
			}
			v = p
		}
		hd.Set("OpenStack-API-Version", "container-infra "+v.String())
		if v.Major != 1 {
			return core.Errorf(http.StatusNotAcceptable, "Mutually exclusive versions requested. Version %s requested but not supported by this service.The supported version range is: [container-infra %s, container-infra %s].", v, minVersion, maxVersion).WithType("microversion")
		}
		if v.Less(core.MustVersion(minVersion)) || core.MustVersion(maxVersion).Less(v) {
			return core.Errorf(http.StatusNotAcceptable, "Version %s was requested but the minor version is not supported by this service. The supported version range is: [container-infra %s, container-infra %s].", v, minVersion, maxVersion).WithType("microversion")
		}
		return h(w, r.WithContext(core.WithMicroversion(r.Context(), v)))
	}
}

// link is Magnum's Link.make_link: bookmarks without /v1.
func link(r *http.Request, rel, res, id string, bookmark bool) map[string]any {
	base := core.ServiceURL(r)
	if !bookmark {
		base += "/v1"
	}
	return map[string]any{"href": base + "/" + res + "/" + id, "rel": rel}
}

func links(r *http.Request, res, id string) []any {
	return []any{link(r, "self", res, id, false), link(r, "bookmark", res, id, true)}
}

// root is GET /: the API's versions.
func (m *Magnum) root(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"name":        "OpenStack Magnum API",
		"description": "Magnum is an OpenStack project which aims to provide container cluster management.",
		"versions": []any{map[string]any{
			"id": "v1", "status": "CURRENT", "max_version": maxVersion, "min_version": minVersion,
			"links": []any{map[string]any{"href": core.ServiceURL(r) + "/v1/", "rel": "self"}},
		}},
	})
	return nil
}

// v1 is GET /v1: the version's resources.
func (m *Magnum) v1(w http.ResponseWriter, r *http.Request) error {
	base := core.ServiceURL(r)
	res := func(name string) []any {
		return []any{
			map[string]any{"href": base + "/v1/" + name + "/", "rel": "self"},
			map[string]any{"href": base + "/" + name + "/", "rel": "bookmark"},
		}
	}
	body := map[string]any{
		"id": "v1",
		"links": []any{
			map[string]any{"href": base + "/v1/", "rel": "self"},
			map[string]any{"href": "http://docs.openstack.org/developer/magnum/dev/api-spec-v1.html", "rel": "describedby", "type": "text/html"},
		},
		"media_types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.magnum.v1+json"}},
	}
	for _, n := range []string{"baymodels", "bays", "clustertemplates", "clusters", "quotas", "certificates", "mservices", "stats", "federations"} {
		body[n] = res(n)
	}
	body["nodegroups"] = []any{
		map[string]any{"href": base + "/v1/clusters/{cluster_id}/nodegroups", "rel": "self"},
		map[string]any{"href": base + "/clusters/{cluster_id}/nodegroups", "rel": "bookmark"},
	}
	core.WriteJSON(w, http.StatusOK, body)
	return nil
}
