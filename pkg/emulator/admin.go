package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// AdminPrefix is where the emulator's own admin API lives: a path no
// OpenStack service uses. Every route needs a token with the admin role
// (the emulator-admin cloud's).
const AdminPrefix = "/_emulator"

// Resetter is implemented by services whose reset is more than restoring
// their start state (Keystone keeps the tokens already issued).
type Resetter interface {
	Reset(initial json.RawMessage) error
}

func (c *Cloud) adminRoutes(rt *core.Router) {
	rt.Handle("GET /{$}", c.adminIndex, core.AdminOnly)
	rt.Handle("GET /resources", c.adminResources, core.AdminOnly)
	rt.Handle("POST /reset", c.adminReset, core.AdminOnly)
	rt.Handle("GET /faults", c.listFaults, core.AdminOnly)
	rt.Handle("POST /faults", c.addFault, core.AdminOnly)
	rt.Handle("DELETE /faults", c.clearFaults, core.AdminOnly)
	rt.Handle("DELETE /faults/{id}", c.deleteFault, core.AdminOnly)
}

func (c *Cloud) adminIndex(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"links": map[string]string{
		"resources": AdminPrefix + "/resources", "reset": AdminPrefix + "/reset", "faults": AdminPrefix + "/faults"}})
	return nil
}

// adminResources lists every resource of every project; filters:
// service (name or type), type, project_id.
func (c *Cloud) adminResources(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	out := []core.Resource{}
	for _, m := range c.servicesInOrder() {
		if svc := q.Get("service"); svc != "" && svc != m.spec.Name && svc != m.spec.Type {
			continue
		}
		for _, res := range m.svc.Resources() {
			res.Service = m.spec.Name
			if core.MatchFilters(q, map[string]string{"type": res.Type, "project_id": res.ProjectID}) {
				out = append(out, res)
			}
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"resources": out})
	return nil
}

// servicesInOrder is the services in registration order (c.services is
// sorted by prefix length for dispatch).
func (c *Cloud) servicesInOrder() []mounted {
	ms := append([]mounted(nil), c.services...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].spec.Name < ms[j].spec.Name })
	return ms
}

// adminReset puts every service back to its start state (the built-in
// users, projects and application credential keep their ids and secrets,
// so clouds.yaml stays valid) and removes every fault.
func (c *Cloud) adminReset(w http.ResponseWriter, r *http.Request) error {
	for _, m := range c.services {
		st := m.svc.State()
		if st == nil {
			continue
		}
		var err error
		if rs, ok := m.svc.(Resetter); ok {
			err = rs.Reset(c.initial[m.spec.Name])
		} else {
			err = st.Restore(c.initial[m.spec.Name])
		}
		if err != nil {
			return err
		}
	}
	c.faults.clear()
	c.persist.changed()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Fault is an injected failure or delay: requests whose method and path
// match (and whose body holds BodyContains, when set) get Status and Body
// instead of the service's answer (after Delay), or only the Delay when
// Status is 0. Count > 0 limits how many requests it applies to. Path uses
// access-rule globbing on the full path: "/compute/v2.1/servers/**". Paths
// under /_emulator are never faulted.
//
// Faults are cloud-wide; BodyContains is what lets a test fault only its
// own requests while others run: the name it gives what it creates
// ("osb-<instance id>") is in the create request's body.
type Fault struct {
	ID           string            `json:"id"`
	Method       string            `json:"method,omitempty"` // "" or "*": any
	Path         string            `json:"path"`
	BodyContains string            `json:"body_contains,omitempty"` // matched against the body's first maxFaultBody bytes, as sent
	Status       int               `json:"status,omitempty"`
	Body         json.RawMessage   `json:"body,omitempty"` // a JSON value, sent as is; a JSON string is sent as its text
	ContentType  string            `json:"content_type,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Delay        string            `json:"delay,omitempty"` // Go duration: "1.5s"
	Count        int               `json:"count,omitempty"`
	Remaining    int               `json:"remaining,omitempty"`
	Hits         int               `json:"hits"`

	delay time.Duration
	// released is closed when the fault is removed (DELETE, reset): the
	// requests its delay holds go on at once, so a test can hold a
	// request with a long delay and let it go when it is ready.
	released chan struct{}
}

// maxFaultBody is how much of a request body body_contains looks at: the
// names it is meant for are at the start of a create request, and a
// large upload (an image, an object) is not read into memory for it.
const maxFaultBody = 64 << 10

type faults struct {
	mu   sync.Mutex
	list []*Fault
	// bodyLimit bounds the bytes of a body read for body_contains.
	bodyLimit int64
}

func newFaults() *faults { return &faults{bodyLimit: maxFaultBody} }

// clear removes every fault, releasing the requests their delays hold.
func (f *faults) clear() {
	f.mu.Lock()
	for _, ft := range f.list {
		ft.release()
	}
	f.list = nil
	f.mu.Unlock()
}

func (ft *Fault) release() {
	if ft.released != nil {
		close(ft.released)
	}
}

// matchesLine reports whether the request's method and path are the
// fault's.
func (ft *Fault) matchesLine(r *http.Request) bool {
	if ft.Method != "" && ft.Method != "*" && !strings.EqualFold(ft.Method, r.Method) {
		return false
	}
	return core.PathMatches(r.URL.Path, ft.Path)
}

// match returns a copy of the first live fault for r and uses it up. The
// body is read (at most bodyLimit bytes, outside the lock: a client may
// send it slowly) only when a fault for this method and path needs it,
// and is put back for the service.
func (f *faults) match(r *http.Request) *Fault {
	if strings.HasPrefix(r.URL.Path, AdminPrefix) {
		return nil
	}
	f.mu.Lock()
	needBody := false
	for _, ft := range f.list {
		if ft.BodyContains != "" && ft.matchesLine(r) {
			needBody = true
			break
		}
	}
	f.mu.Unlock()
	var body []byte
	if needBody {
		body = peekBody(r, f.bodyLimit)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.list {
		if !ft.matchesLine(r) {
			continue
		}
		// A fault added while the body was read, when none needed it
		// before, sees no body: it did not exist when the request came.
		if ft.BodyContains != "" && !bytes.Contains(body, []byte(ft.BodyContains)) {
			continue
		}
		ft.Hits++
		if ft.Count > 0 {
			ft.Remaining--
			if ft.Remaining <= 0 {
				f.list = append(f.list[:i], f.list[i+1:]...)
			}
		}
		cp := *ft
		return &cp
	}
	return nil
}

// peekBody reads at most limit bytes of r's body and puts them back in
// front of the rest, so the service reads the whole body as sent (and a
// read error, after the bytes read before it).
func peekBody(r *http.Request, limit int64) []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, limit))
	rest := io.Reader(r.Body)
	if err != nil {
		rest = errReader{err}
	}
	r.Body = peekedBody{Reader: io.MultiReader(bytes.NewReader(head), rest), Closer: r.Body}
	return head
}

type peekedBody struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// apply waits the delay, then answers when the fault has a status; it
// reports whether it answered.
func (ft *Fault) apply(w http.ResponseWriter, r *http.Request) bool {
	if ft.delay > 0 {
		t := time.NewTimer(ft.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-ft.released:
		}
		t.Stop()
	}
	if ft.Status == 0 {
		return false
	}
	for k, v := range ft.Headers {
		w.Header().Set(k, v)
	}
	var body []byte
	var s string
	switch {
	case len(ft.Body) == 0:
	case json.Unmarshal(ft.Body, &s) == nil:
		body = []byte(s)
		if ft.ContentType == "" {
			ft.ContentType = "text/plain; charset=UTF-8"
		}
	default:
		body = ft.Body
		if ft.ContentType == "" {
			ft.ContentType = "application/json"
		}
	}
	if ft.ContentType != "" {
		w.Header().Set("Content-Type", ft.ContentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(ft.Status)
	_, _ = w.Write(body)
	return true
}

func (c *Cloud) listFaults(w http.ResponseWriter, r *http.Request) error {
	c.faults.mu.Lock()
	out := make([]Fault, 0, len(c.faults.list))
	for _, f := range c.faults.list {
		out = append(out, *f)
	}
	c.faults.mu.Unlock()
	core.WriteJSON(w, http.StatusOK, map[string]any{"faults": out})
	return nil
}

func (c *Cloud) addFault(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Fault *Fault `json:"fault"`
	}
	if err := core.DecodeJSONStrict(r, &req); err != nil {
		return err
	}
	f := req.Fault
	if f == nil {
		return core.BadRequest("'fault' is a required property")
	}
	if !strings.HasPrefix(f.Path, "/") {
		return core.BadRequest("fault.path must start with '/': %q", f.Path)
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return core.BadRequest("fault.status %d is not an HTTP status", f.Status)
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d < 0 || d > 10*time.Minute {
			return core.BadRequest("fault.delay %q is not a duration between 0 and 10m", f.Delay)
		}
		f.delay = d
	}
	if f.Status == 0 && f.delay == 0 {
		return core.BadRequest("a fault needs a status, a delay or both")
	}
	if f.Count < 0 {
		return core.BadRequest("fault.count must not be negative")
	}
	if len(f.BodyContains) > maxFaultBody {
		return core.BadRequest("fault.body_contains is longer than the %d bytes of a body a fault looks at", maxFaultBody)
	}
	f.ID = core.NewUUID()
	f.Remaining = f.Count
	f.Hits = 0
	f.released = make(chan struct{})
	c.faults.mu.Lock()
	c.faults.list = append(c.faults.list, f)
	c.faults.mu.Unlock()
	core.WriteJSON(w, http.StatusCreated, map[string]any{"fault": f})
	return nil
}

func (c *Cloud) clearFaults(w http.ResponseWriter, r *http.Request) error {
	c.faults.clear()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Cloud) deleteFault(w http.ResponseWriter, r *http.Request) error {
	c.faults.mu.Lock()
	defer c.faults.mu.Unlock()
	for i, f := range c.faults.list {
		if f.ID == r.PathValue("id") {
			f.release()
			c.faults.list = append(c.faults.list[:i], c.faults.list[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	return core.NotFound("Could not find fault: %s.", r.PathValue("id"))
}
