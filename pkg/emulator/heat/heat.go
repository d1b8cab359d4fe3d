package heat

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Heat is the orchestration service.
type Heat struct {
	env   *core.Env
	state *core.State[state]

	// engine serialises the steps that move stacks on (they call other
	// services outside the state lock); idents are the tokens stacks act
	// with (not saved: after a restart a stack moves on when its owner
	// reads it); scheduled is whether a timer is pending.
	engine    sync.Mutex
	mu        sync.Mutex
	idents    map[string]*core.Identity
	scheduled bool
}

type state struct {
	Stacks map[string]*Stack `json:"stacks"`
}

// Stack is one stack.
type Stack struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ProjectID string `json:"project_id"`
	Owner     string `json:"owner"`
	// Host is the address clients reached the emulator at (for URLs in
	// attributes).
	Host            string            `json:"host"`
	Template        map[string]any    `json:"template"`
	Files           map[string]string `json:"files,omitempty"`
	Environment     map[string]any    `json:"environment"`
	Params          map[string]any    `json:"params"`
	Tags            []string          `json:"tags,omitempty"`
	TimeoutMins     *int              `json:"timeout_mins,omitempty"`
	DisableRollback bool              `json:"disable_rollback"`
	Action          string            `json:"action"`
	Status          string            `json:"status"`
	Reason          string            `json:"reason"`
	Created         time.Time         `json:"created"`
	Updated         *time.Time        `json:"updated,omitempty"`
	Deleted         *time.Time        `json:"deleted,omitempty"`
	// NotBefore: the action in progress completes no earlier (-delay).
	NotBefore time.Time `json:"not_before"`
	// Resources by name; Old are resources an update replaced or
	// dropped, deleted once the update has made the new ones.
	Resources map[string]*Resource `json:"resources"`
	Old       []*Resource          `json:"old,omitempty"`
	Events    []*Event             `json:"events"`
	// Phase is what the engine is doing: "create", "update", "delete",
	// "rollback", "cleanup" (an update deleting what it replaced) or "".
	Phase string `json:"phase,omitempty"`
	// Failure is the reason the phase failed, kept while a rollback runs.
	Failure string `json:"failure,omitempty"`
}

// Resource is one resource of a stack.
type Resource struct {
	UUID       string            `json:"uuid"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	PhysicalID string            `json:"physical_id"`
	Action     string            `json:"action"`
	Status     string            `json:"status"`
	Reason     string            `json:"reason"`
	Props      map[string]any    `json:"props,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	Created    time.Time         `json:"created"`
	Updated    *time.Time        `json:"updated,omitempty"`
	// Description and DeletionPolicy from the template.
	Description string `json:"description,omitempty"`
	Retain      bool   `json:"retain,omitempty"`
	// Waiting: the resource's action was sent and the engine waits for
	// the service to finish it (an ACTIVE server, a gone volume).
	Waiting bool `json:"waiting,omitempty"`
}

// Event is one line of a stack's history.
type Event struct {
	ID         string         `json:"id"`
	Resource   string         `json:"resource"`
	PhysicalID string         `json:"physical_id"`
	Type       string         `json:"type"`
	Action     string         `json:"action"`
	Status     string         `json:"status"`
	Reason     string         `json:"reason"`
	Time       time.Time      `json:"time"`
	Props      map[string]any `json:"props,omitempty"`
}

// New returns Heat with no stacks.
func New(env *core.Env) *Heat {
	return &Heat{env: env, idents: map[string]*core.Identity{},
		state: core.NewState(env, state{Stacks: map[string]*Stack{}})}
}

// Spec implements core.Service: devstack's endpoint with the project id.
func (h *Heat) Spec() core.Spec {
	return core.Spec{Name: "heat", Type: "orchestration", Prefix: "/heat-api",
		Endpoint: "/heat-api/v1/$(project_id)s", Errors: Errors}
}

// State implements core.Service.
func (h *Heat) State() core.Persistent { return h.state }

// Resources implements core.Service.
func (h *Heat) Resources() []core.Resource {
	var out []core.Resource
	_ = h.state.View(func(s *state) error {
		for _, st := range s.Stacks {
			if st.Deleted != nil {
				continue
			}
			out = append(out, core.Resource{Type: "stack", ID: st.ID, Name: st.Name, ProjectID: st.ProjectID,
				Status: st.Action + "_" + st.Status})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// explanations are WebOb's for the statuses Heat answers.
var explanations = map[int]string{
	400: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
	403: "Access was denied to this resource.",
	404: "The resource could not be found.",
	405: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
	409: "There was a conflict when trying to complete your request.",
	413: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
	415: "The request media type is not supported by this server.",
	500: "The server has either erred or is incapable of performing the requested operation.",
}

// Errors renders Heat's fault middleware shape: {"code": 404, "title":
// "Not Found", "explanation": "...", "error": {"type": "EntityNotFound",
// "message": "...", "traceback": null}}; an error without a Heat type is
// WebOb's (HTTPBadRequest, HTTPForbidden, ...), its message the detail or
// the explanation.
func Errors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	typ := e.Type
	inner := map[string]any{"traceback": nil}
	if typ == "" {
		typ = "HTTP" + strings.NewReplacer(" ", "", "-", "").Replace(http.StatusText(e.Status))
	}
	expl := explanations[e.Status]
	if expl == "" {
		expl = http.StatusText(e.Status)
	}
	msg := e.Message
	if msg == "" {
		msg = expl
	}
	inner["type"], inner["message"] = typ, msg
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	core.WriteJSON(w, e.Status, map[string]any{"code": e.Status, "title": http.StatusText(e.Status),
		"explanation": expl, "error": inner})
}

// Heat's exceptions (heat/common/exception.py) and the status the fault
// middleware maps them to.
func heatErr(status int, typ, format string, args ...any) *core.APIError {
	return core.Errorf(status, format, args...).WithType(typ)
}

func stackNotFound(name string) *core.APIError {
	return heatErr(404, "EntityNotFound", "The Stack (%s) could not be found.", name)
}

func validationFailed(format string, args ...any) *core.APIError {
	return heatErr(400, "StackValidationFailed", format, args...)
}

func formatTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return core.FormatTime(*t, core.TimeSeconds)
}

func itoa(n int) string { return strconv.Itoa(n) }
