package osbapi

import "context"

// MinAPIMajor.MinAPIMinor is the oldest X-Broker-API-Version accepted
// (2.13 added originating identity, which the broker relies on).
const (
	MinAPIMajor = 2
	MinAPIMinor = 13
	// APIVersion is what the client sends.
	APIVersion = "2.17"
)

// Catalog is the body of GET /v2/catalog.
type Catalog struct {
	Services []Service `json:"services"`
}

// Service is one service offering.
type Service struct {
	Name                 string         `json:"name"`
	ID                   string         `json:"id"`
	Description          string         `json:"description"`
	Tags                 []string       `json:"tags,omitempty"`
	Requires             []string       `json:"requires,omitempty"`
	Bindable             bool           `json:"bindable"`
	InstancesRetrievable bool           `json:"instances_retrievable,omitempty"`
	BindingsRetrievable  bool           `json:"bindings_retrievable,omitempty"`
	AllowContextUpdates  bool           `json:"allow_context_updates,omitempty"`
	Metadata             map[string]any `json:"metadata,omitempty"`
	PlanUpdateable       bool           `json:"plan_updateable,omitempty"`
	Plans                []Plan         `json:"plans"`
}

// Plan is one plan of a service offering.
type Plan struct {
	ID                     string           `json:"id"`
	Name                   string           `json:"name"`
	Description            string           `json:"description"`
	Metadata               map[string]any   `json:"metadata,omitempty"`
	Free                   *bool            `json:"free,omitempty"`
	Bindable               *bool            `json:"bindable,omitempty"`
	PlanUpdateable         *bool            `json:"plan_updateable,omitempty"`
	Schemas                *Schemas         `json:"schemas,omitempty"`
	MaximumPollingDuration int              `json:"maximum_polling_duration,omitempty"`
	MaintenanceInfo        *MaintenanceInfo `json:"maintenance_info,omitempty"`
	// UpdatesTo is an Automation Broker extension kept for its clients.
	UpdatesTo []string `json:"updates_to,omitempty"`
}

// Schemas holds the JSON schemas of a plan's parameters.
type Schemas struct {
	ServiceInstance *ServiceInstanceSchema `json:"service_instance,omitempty"`
	ServiceBinding  *ServiceBindingSchema  `json:"service_binding,omitempty"`
}

type ServiceInstanceSchema struct {
	Create *InputParameters `json:"create,omitempty"`
	Update *InputParameters `json:"update,omitempty"`
}

type ServiceBindingSchema struct {
	Create *InputParameters `json:"create,omitempty"`
}

// InputParameters wraps one JSON schema (draft-04 object).
type InputParameters struct {
	Parameters map[string]any `json:"parameters"`
}

type MaintenanceInfo struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// OrNone reads a maintenance_info without a version as none: generated
// clients send {} (a struct serialised without omitempty) when they mean
// none, and version is the only field a broker compares.
func (m *MaintenanceInfo) OrNone() *MaintenanceInfo {
	if m == nil || m.Version == "" {
		return nil
	}
	return m
}

// RequestInfo is what the HTTP layer learned from headers and the URL; it
// goes with every call into the Broker.
type RequestInfo struct {
	APIVersion          string
	RequestIdentity     string
	OriginatingIdentity *OriginatingIdentity
	// AcceptsIncomplete is the accepts_incomplete query parameter.
	AcceptsIncomplete bool
	// Principal is who authenticated (basic-auth user or token subject).
	Principal string
}

// OriginatingIdentity is the parsed X-Broker-API-Originating-Identity header.
type OriginatingIdentity struct {
	Platform string
	// Value is the decoded JSON object; nil when it could not be decoded.
	Value map[string]any
	// Raw is the header as sent.
	Raw string
}

// Username returns the platform user's name (Kubernetes "username", Cloud
// Foundry "user_id") or "".
func (o *OriginatingIdentity) Username() string {
	if o == nil || o.Value == nil {
		return ""
	}
	for _, k := range []string{"username", "user_id", "uid"} {
		if s, ok := o.Value[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// ProvisionRequest is the body of PUT /v2/service_instances/:id.
type ProvisionRequest struct {
	ServiceID        string           `json:"service_id"`
	PlanID           string           `json:"plan_id"`
	Context          map[string]any   `json:"context,omitempty"`
	OrganizationGUID string           `json:"organization_guid"`
	SpaceGUID        string           `json:"space_guid"`
	Parameters       map[string]any   `json:"parameters,omitempty"`
	MaintenanceInfo  *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// ProvisionResponse is the broker's answer to a provision.
type ProvisionResponse struct {
	// Async means 202; Exists means 200 (identical instance already there);
	// otherwise 201.
	Async        bool              `json:"-"`
	Exists       bool              `json:"-"`
	DashboardURL string            `json:"dashboard_url,omitempty"`
	Operation    string            `json:"operation,omitempty"`
	Metadata     *InstanceMetadata `json:"metadata,omitempty"`
}

type InstanceMetadata struct {
	Labels     map[string]any `json:"labels,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// PreviousValues is the previous_values object of an update.
type PreviousValues struct {
	ServiceID       string           `json:"service_id,omitempty"`
	PlanID          string           `json:"plan_id,omitempty"`
	OrganizationID  string           `json:"organization_id,omitempty"`
	SpaceID         string           `json:"space_id,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// UpdateRequest is the body of PATCH /v2/service_instances/:id.
type UpdateRequest struct {
	ServiceID       string           `json:"service_id"`
	PlanID          string           `json:"plan_id,omitempty"`
	Parameters      map[string]any   `json:"parameters,omitempty"`
	Context         map[string]any   `json:"context,omitempty"`
	PreviousValues  *PreviousValues  `json:"previous_values,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

type UpdateResponse struct {
	Async        bool              `json:"-"`
	DashboardURL string            `json:"dashboard_url,omitempty"`
	Operation    string            `json:"operation,omitempty"`
	Metadata     *InstanceMetadata `json:"metadata,omitempty"`
}

// DeprovisionRequest comes from the query of DELETE /v2/service_instances/:id.
type DeprovisionRequest struct {
	ServiceID string
	PlanID    string
}

type DeprovisionResponse struct {
	Async     bool   `json:"-"`
	Operation string `json:"operation,omitempty"`
}

// LastOperationRequest comes from the query of a last_operation poll.
type LastOperationRequest struct {
	ServiceID string
	PlanID    string
	Operation string
}

// Operation states.
const (
	StateInProgress = "in progress"
	StateSucceeded  = "succeeded"
	StateFailed     = "failed"
)

type LastOperationResponse struct {
	State            string `json:"state"`
	Description      string `json:"description,omitempty"`
	InstanceUsable   *bool  `json:"instance_usable,omitempty"`
	UpdateRepeatable *bool  `json:"update_repeatable,omitempty"`
	// RetryAfter, in seconds, becomes the Retry-After header when > 0.
	RetryAfter int `json:"-"`
}

// FetchRequest carries the optional service_id/plan_id hints of GET instance
// and GET binding.
type FetchRequest struct {
	ServiceID string
	PlanID    string
}

type GetInstanceResponse struct {
	ServiceID       string            `json:"service_id"`
	PlanID          string            `json:"plan_id"`
	DashboardURL    string            `json:"dashboard_url,omitempty"`
	Parameters      map[string]any    `json:"parameters,omitempty"`
	MaintenanceInfo *MaintenanceInfo  `json:"maintenance_info,omitempty"`
	Metadata        *InstanceMetadata `json:"metadata,omitempty"`
}

type BindResource struct {
	AppGUID string `json:"app_guid,omitempty"`
	Route   string `json:"route,omitempty"`
}

// BindRequest is the body of PUT .../service_bindings/:binding_id.
type BindRequest struct {
	ServiceID            string         `json:"service_id"`
	PlanID               string         `json:"plan_id"`
	Context              map[string]any `json:"context,omitempty"`
	AppGUID              string         `json:"app_guid,omitempty"`
	BindResource         *BindResource  `json:"bind_resource,omitempty"`
	Parameters           map[string]any `json:"parameters,omitempty"`
	PredecessorBindingID string         `json:"predecessor_binding_id,omitempty"`
}

type Endpoint struct {
	Host     string   `json:"host"`
	Ports    []string `json:"ports"`
	Protocol string   `json:"protocol,omitempty"`
}

type BindingMetadata struct {
	ExpiresAt   string `json:"expires_at,omitempty"`
	RenewBefore string `json:"renew_before,omitempty"`
}

type BindResponse struct {
	// Async means 202 (and no credentials); Exists means 200; else 201.
	Async       bool             `json:"-"`
	Exists      bool             `json:"-"`
	Credentials map[string]any   `json:"credentials,omitempty"`
	Endpoints   []Endpoint       `json:"endpoints,omitempty"`
	Operation   string           `json:"operation,omitempty"`
	Metadata    *BindingMetadata `json:"metadata,omitempty"`
}

type GetBindingResponse struct {
	Credentials map[string]any   `json:"credentials,omitempty"`
	Endpoints   []Endpoint       `json:"endpoints,omitempty"`
	Parameters  map[string]any   `json:"parameters,omitempty"`
	Metadata    *BindingMetadata `json:"metadata,omitempty"`
}

// UnbindRequest comes from the query of DELETE .../service_bindings/:id.
type UnbindRequest struct {
	ServiceID string
	PlanID    string
}

type UnbindResponse struct {
	Async     bool   `json:"-"`
	Operation string `json:"operation,omitempty"`
}

// Broker makes the decisions behind every OSB route. Methods return either a
// response or an error; an *Error keeps its HTTP status and OSB error code,
// any other error becomes 500.
type Broker interface {
	Catalog(ctx context.Context, ri RequestInfo) (*Catalog, error)
	Provision(ctx context.Context, ri RequestInfo, instanceID string, req *ProvisionRequest) (*ProvisionResponse, error)
	Update(ctx context.Context, ri RequestInfo, instanceID string, req *UpdateRequest) (*UpdateResponse, error)
	Deprovision(ctx context.Context, ri RequestInfo, instanceID string, req *DeprovisionRequest) (*DeprovisionResponse, error)
	GetInstance(ctx context.Context, ri RequestInfo, instanceID string, req *FetchRequest) (*GetInstanceResponse, error)
	LastOperation(ctx context.Context, ri RequestInfo, instanceID string, req *LastOperationRequest) (*LastOperationResponse, error)
	Bind(ctx context.Context, ri RequestInfo, instanceID, bindingID string, req *BindRequest) (*BindResponse, error)
	Unbind(ctx context.Context, ri RequestInfo, instanceID, bindingID string, req *UnbindRequest) (*UnbindResponse, error)
	GetBinding(ctx context.Context, ri RequestInfo, instanceID, bindingID string, req *FetchRequest) (*GetBindingResponse, error)
	BindingLastOperation(ctx context.Context, ri RequestInfo, instanceID, bindingID string, req *LastOperationRequest) (*LastOperationResponse, error)
}
