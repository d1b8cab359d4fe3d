package store

import (
	"errors"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

var (
	// ErrNotFound: no such key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap lost a race; re-read and decide again.
	ErrConflict = errors.New("state changed concurrently")
	// ErrUnavailable: etcd did not answer.
	ErrUnavailable = errors.New("state store unavailable")
	// ErrNoSpace: etcd refused a write because its database reached its
	// quota (the NOSPACE alarm); reads and deletes still work, and writes
	// again once maintenance freed space and disarmed the alarm.
	ErrNoSpace = errors.New("state store full")
	// ErrTooLarge: the change is larger than etcd takes in one request;
	// retrying cannot help.
	ErrTooLarge = errors.New("change too large for the state store")
)

// Instance statuses (ours).
const (
	StatusProvisioning   = "provisioning"
	StatusReady          = "ready"
	StatusFailed         = "failed"
	StatusDeprovisioning = "deprovisioning"
	StatusBinding        = "binding"
	StatusUnbinding      = "unbinding"
)

// Job states, as the Automation Broker wrote them.
const (
	JobNotStarted = "not yet started"
	JobInProgress = "in progress"
	JobSucceeded  = "succeeded"
	JobFailed     = "failed"
)

// ServiceInstance is /service_instance/<id>.
type ServiceInstance struct {
	ID           string          `json:"id"`
	Spec         *apb.Spec       `json:"spec"`
	Context      map[string]any  `json:"context"`
	Parameters   map[string]any  `json:"parameters"`
	BindingIDs   map[string]bool `json:"binding_ids"`
	DashboardURL string          `json:"dashboard_url"`

	// Ours.
	ServiceID          string         `json:"service_id,omitempty"`
	PlanID             string         `json:"plan_id,omitempty"`
	UserParameters     map[string]any `json:"user_parameters,omitempty"`
	OrganizationGUID   string         `json:"organization_guid,omitempty"`
	SpaceGUID          string         `json:"space_guid,omitempty"`
	MaintenanceVersion string         `json:"maintenance_version,omitempty"`
	// Status is empty for records imported from the Automation Broker,
	// which only stored provisioned instances; treat empty as ready.
	Status string `json:"status,omitempty"`
	// Operation is the token of the instance mutation in flight, if any.
	Operation string `json:"operation,omitempty"`

	Revision int64 `json:"-"`
}

// BindInstance is /bind_instance/<id>.
type BindInstance struct {
	ID         string         `json:"id"`
	InstanceID string         `json:"service_id"` // Automation Broker's name for it
	Parameters map[string]any `json:"parameters"`
	// CreateJobKey keeps the original's capitalised name (it had no tag).
	CreateJobKey string `json:"CreateJobKey"`

	// Ours.
	ServiceID      string         `json:"osb_service_id,omitempty"`
	PlanID         string         `json:"plan_id,omitempty"`
	UserParameters map[string]any `json:"user_parameters,omitempty"`
	AppGUID        string         `json:"app_guid,omitempty"`
	Status         string         `json:"status,omitempty"`
	Operation      string         `json:"operation,omitempty"`

	Revision int64 `json:"-"`
}

// Job is /state/<instance or binding id>/job/<token>.
type Job struct {
	Token       string `json:"token"`
	State       string `json:"state"`
	Podname     string `json:"podname"`
	Method      string `json:"method"`
	Error       string `json:"error"`
	Description string `json:"description"`

	// Ours.
	InstanceID string `json:"instance_id,omitempty"`
	BindingID  string `json:"binding_id,omitempty"`
	// PlanID is the plan the action runs with (the new plan of an update).
	PlanID string `json:"plan_id,omitempty"`
	// Parameters are the user's parameters the action runs with.
	Parameters map[string]any `json:"parameters,omitempty"`
	// User is the platform user who asked (_apb_last_requesting_user).
	User string `json:"user,omitempty"`
	// Attempts counts how often a runtime was started for this job.
	Attempts  int       `json:"attempts,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`

	Revision int64 `json:"-"`
}

// ResourceID is the id the job is filed under: the binding for bind and
// unbind, the instance otherwise.
func (j *Job) ResourceID() string {
	if j.BindingID != "" {
		return j.BindingID
	}
	return j.InstanceID
}

// ForBinding reports whether the job is a binding's (bind, unbind).
func (j *Job) ForBinding() bool { return j.BindingID != "" }

// Finished reports whether the job reached a final state.
func (j *Job) Finished() bool { return j.State == JobSucceeded || j.State == JobFailed }

// Credentials is /extracted_credentials/<instance or binding id>.
type Credentials struct {
	Credentials map[string]any `json:"credentials"`
	Revision    int64          `json:"-"`
}
