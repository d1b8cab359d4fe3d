package designate

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Designate is the DNS service.
type Designate struct {
	env   *core.Env
	state *core.State[state]
}

type state struct {
	Zones      map[string]*Zone      `json:"zones"`
	Recordsets map[string]*Recordset `json:"recordsets"`
	Quotas     core.Quotas           `json:"quotas"`
}

// Zone is a DNS zone.
type Zone struct {
	ID           string     `json:"id"`
	ProjectID    string     `json:"project_id"`
	Name         string     `json:"name"`
	Email        *string    `json:"email"`
	Description  *string    `json:"description"`
	TTL          *int       `json:"ttl"`
	Serial       int64      `json:"serial"`
	Refresh      int        `json:"refresh"`
	Type         string     `json:"type"`
	Masters      []string   `json:"masters"`
	ParentZoneID string     `json:"parent_zone_id,omitempty"`
	Version      int        `json:"version"`
	Action       string     `json:"action"` // what the pending status is about
	Created      time.Time  `json:"created_at"`
	Updated      *time.Time `json:"updated_at,omitempty"`
	// Lifecycle: PENDING -> ACTIVE (create, update), PENDING -> DELETED.
	core.Lifecycle
}

// Recordset is a set of records of one name and type in a zone.
type Recordset struct {
	ID          string     `json:"id"`
	ZoneID      string     `json:"zone_id"`
	ProjectID   string     `json:"project_id"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Records     []string   `json:"records"`
	TTL         *int       `json:"ttl"`
	Description *string    `json:"description"`
	Managed     bool       `json:"managed,omitempty"` // SOA and the apex NS: the service's
	Version     int        `json:"version"`
	Action      string     `json:"action"`
	Created     time.Time  `json:"created_at"`
	Updated     *time.Time `json:"updated_at,omitempty"`
	core.Lifecycle
}

// The pool every zone is scheduled to and its name server (Designate's
// default pool id; the emulator's own server name).
const (
	PoolID     = "794ccc2c-d751-44fe-b57f-8894c9f5c842"
	NameServer = "ns1.openstack-emulator.test."
)

// Designate's defaults (designate/conf): quotas, SOA timers, TTL.
const (
	defaultTTL       = 3600
	soaRetry         = 600
	soaExpire        = 86400
	soaMinimum       = 3600
	maxNameLen       = 255
	maxPageLimit     = 1000
	defaultPageLimit = 20
	managedEmail     = "hostmaster@example.com"
)

var validQuotas = []string{"api_export_size", "recordset_records", "zone_records", "zone_recordsets", "zones"}

// New returns Designate with no zones.
func New(env *core.Env) *Designate {
	return &Designate{env: env, state: core.NewState(env, state{
		Zones: map[string]*Zone{}, Recordsets: map[string]*Recordset{},
		Quotas: core.NewQuotas(map[string]int{"zones": 10, "zone_recordsets": 500, "zone_records": 500,
			"recordset_records": 20, "api_export_size": 1000}),
	})}
}

// Spec implements core.Service. The catalog has the unversioned root, as
// devstack registers it; clients find /v2 by discovery.
func (d *Designate) Spec() core.Spec {
	return core.Spec{Name: "designate", Type: "dns", Prefix: "/dns", Errors: Errors}
}

// State implements core.Service.
func (d *Designate) State() core.Persistent { return d.state }

// Resources implements core.Service.
func (d *Designate) Resources() []core.Resource {
	var out []core.Resource
	now := d.env.Now()
	_ = d.state.View(func(s *state) error {
		for _, z := range s.Zones {
			if !z.gone(now) {
				out = append(out, core.Resource{Type: "zone", ID: z.ID, Name: z.Name, ProjectID: z.ProjectID, Status: z.Current(now)})
			}
		}
		for _, rs := range s.Recordsets {
			if !s.rsGone(rs, now) {
				out = append(out, core.Resource{Type: "recordset", ID: rs.ID, Name: rs.Name + " " + rs.Type, ProjectID: rs.ProjectID, Status: rs.Current(now)})
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

func (z *Zone) gone(now time.Time) bool { return z.Current(now) == "DELETED" }

// action is the zone's action: what it is PENDING for, NONE once done.
func (z *Zone) action(now time.Time) string {
	if z.Pending(now) {
		return z.Action
	}
	return "NONE"
}

func (rs *Recordset) action(now time.Time) string {
	if rs.Pending(now) {
		return rs.Action
	}
	return "NONE"
}

// rsGone: a recordset is gone when deleted, or when its zone is.
func (s *state) rsGone(rs *Recordset, now time.Time) bool {
	if rs.Current(now) == "DELETED" {
		return true
	}
	z := s.Zones[rs.ZoneID]
	return z == nil || z.gone(now)
}

// purge drops what finished being deleted.
func (s *state) purge(now time.Time) {
	for id, rs := range s.Recordsets {
		if s.rsGone(rs, now) {
			delete(s.Recordsets, id)
		}
	}
	for id, z := range s.Zones {
		if z.gone(now) {
			delete(s.Zones, id)
		}
	}
}

// errorTypes are the error_type of designate/exceptions.py by status.
var errorTypes = map[int]string{
	400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 406: "unsupported_accept",
	409: "duplicate", 413: "over_quota", 415: "unsupported_content_type",
}

// Errors renders Designate's shape: {"code": 404, "type":
// "zone_not_found", "message": "Could not find Zone", "request_id":
// "req-..."} (no message when the exception had none, as policy's 403).
func Errors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	t := e.Type
	if t == "" {
		t = errorTypes[e.Status]
	}
	if t == "" {
		t = "unknown"
	}
	body := map[string]any{"code": e.Status, "type": t, "request_id": core.RequestID(r)}
	if e.Message != "" {
		body["message"] = e.Message
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	core.WriteJSON(w, e.Status, body)
}

// invalidObject is Designate's schema failure, answered by its
// APIv2ValidationErrorMiddleware with the list of errors and no message.
type invalidObject struct{ errs []map[string]any }

func (e *invalidObject) Error() string { return "invalid_object" }

func fieldError(path []any, validator string, value any, msg string) map[string]any {
	return map[string]any{"path": path, "validator": validator, "validator_value": value, "message": msg}
}

func invalid(errs ...map[string]any) error { return &invalidObject{errs: errs} }

// handler adapts a handler that may return *invalidObject.
func handler(h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		var inv *invalidObject
		if errors.As(err, &inv) {
			core.WriteJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "type": "invalid_object",
				"errors": map[string]any{"errors": inv.errs}, "request_id": core.RequestID(r)})
			return nil
		}
		return err
	}
}

// notValid is InvalidObject raised while parsing (no error list).
func notValid(format string, args ...any) error {
	return core.BadRequest(format, args...).WithType("invalid_object")
}

// bodyDict is designate/api/v2/patches.py's Request.body_dict.
func bodyDict(r *http.Request) (any, error) {
	ct := r.Header.Get("Content-Type")
	if i := strings.Index(ct, ";"); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(strings.ToLower(ct))
	if ct != "application/json" && ct != "application/json-patch+json" {
		return nil, core.Errorf(http.StatusUnsupportedMediaType, "Content-type must be application/json").WithType("unsupported_content_type")
	}
	b, err := core.ReadBody(r, core.MaxJSONBody)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil, core.BadRequest("Request Body is empty").WithType("empty_request_body")
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, core.BadRequest("%s", pyJSONError(err)).WithType("invalid_json")
	}
	if v == nil {
		return nil, core.BadRequest("Request Body is empty").WithType("empty_request_body")
	}
	return v, nil
}

// pyJSONError words a decoding error as Python's json module would,
// near enough.
func pyJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "Expecting value: line 1 column " + strconv.Itoa(int(se.Offset)) + " (char " + strconv.Itoa(max(int(se.Offset)-1, 0)) + ")"
	}
	return err.Error()
}

// dnsContext is the request's DesignateContext: the project it acts for
// (X-Auth-Sudo-Project-ID lets an admin act for another) and whether it
// sees every project (X-Auth-All-Projects, all_projects / all_tenants
// query parameters; admins only). Non-admins get policy's 403.
type dnsContext struct {
	project string
	all     bool
	admin   bool
}

func requestContext(r *http.Request) (*dnsContext, error) {
	id := core.IdentityOf(r)
	c := &dnsContext{project: id.ProjectID, admin: id.IsAdmin()}
	sudo := r.Header.Get("X-Auth-Sudo-Project-ID")
	if sudo == "" {
		sudo = r.Header.Get("X-Auth-Sudo-Tenant-ID")
	}
	if sudo != "" {
		if !c.admin {
			return nil, core.Forbidden("")
		}
		c.project = sudo
	}
	all := ""
	if v := r.Header.Get("X-Auth-All-Projects"); v != "" {
		all = v
	}
	q := r.URL.Query()
	for _, k := range []string{"all_projects", "all_tenants"} {
		if q.Has(k) {
			all = q.Get(k)
		}
	}
	if boolString(all) {
		if !c.admin {
			return nil, core.Forbidden("")
		}
		c.all = true
	}
	return c, nil
}

// boolString is oslo's strutils.bool_from_string (default false).
func boolString(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true
	}
	return false
}

// sees reports whether the context may see a resource of project.
func (c *dnsContext) sees(project string) bool { return c.all || c.project == project }

// incrementSerial is designate.utils.increment_serial: a Unix timestamp,
// or one more than the last serial when that is not greater.
func incrementSerial(serial int64, now time.Time) int64 {
	n := now.Unix()
	if n <= serial {
		n = serial + 1
	}
	return n
}

func timePtr(t time.Time) *time.Time { return &t }

func formatTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return core.FormatTime(*t, core.TimeMicro)
}
