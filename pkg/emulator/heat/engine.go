package heat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// The engine moves stacks on. A step works on a copy of a stack, calls
// the other services outside the state lock (holding h.engine, so no two
// steps and no stack-changing request run at once), then stores the copy.

// inProgress reports whether the engine has work on the stack.
func (st *Stack) inProgress() bool { return st.Phase != "" && st.Deleted == nil }

// advance runs the engine over every stack in progress. hint is the
// identity of a reader, used for a stack whose own identity was lost in
// a restart when the reader owns it. It does nothing when another step
// runs (reads do not wait for the engine).
func (h *Heat) advance(hint *core.Identity) {
	if !h.engine.TryLock() {
		return
	}
	defer h.engine.Unlock()
	h.advanceLocked(hint)
}

// advanceLocked is advance with h.engine held.
func (h *Heat) advanceLocked(hint *core.Identity) {
	var ids []string
	_ = h.state.View(func(s *state) error {
		for id, st := range s.Stacks {
			if st.inProgress() {
				ids = append(ids, id)
			}
		}
		return nil
	})
	sort.Strings(ids)
	pending := false
	for _, id := range ids {
		if h.stepStack(id, hint) {
			pending = true
		}
	}
	if pending {
		h.schedule()
	}
}

// schedule arranges for the engine to run again soon.
func (h *Heat) schedule() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.scheduled {
		return
	}
	h.scheduled = true
	tick := h.env.Delay / 5
	if tick < 20*time.Millisecond {
		tick = 20 * time.Millisecond
	}
	if tick > 500*time.Millisecond {
		tick = 500 * time.Millisecond
	}
	h.env.After(tick, func() {
		h.mu.Lock()
		h.scheduled = false
		h.mu.Unlock()
		h.engine.Lock()
		defer h.engine.Unlock()
		h.advanceLocked(nil)
	})
}

func (h *Heat) identity(st *Stack, hint *core.Identity) *core.Identity {
	h.mu.Lock()
	id := h.idents[st.ID]
	h.mu.Unlock()
	if id != nil && id.ExpiresAt.After(h.env.Now()) {
		return id
	}
	if hint != nil && hint.Owns(st.ProjectID) {
		h.setIdentity(st.ID, hint)
		return hint
	}
	return id
}

func (h *Heat) setIdentity(stackID string, id *core.Identity) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.idents[stackID] = id
}

// copyStack deep-copies a stack through JSON.
func copyStack(st *Stack) (*Stack, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var c Stack
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	c.Template = normalize(c.Template).(map[string]any)
	if c.Params != nil {
		c.Params = normalize(c.Params).(map[string]any)
	}
	if c.Environment != nil {
		c.Environment = normalize(c.Environment).(map[string]any)
	}
	for _, r := range c.Resources {
		if r.Props != nil {
			r.Props = normalize(r.Props).(map[string]any)
		}
	}
	for _, r := range c.Old {
		if r.Props != nil {
			r.Props = normalize(r.Props).(map[string]any)
		}
	}
	return &c, nil
}

// stepStack advances one stack as far as it can go now; it reports
// whether the stack is still in progress.
func (h *Heat) stepStack(id string, hint *core.Identity) bool {
	var st *Stack
	_ = h.state.View(func(s *state) error {
		if orig := s.Stacks[id]; orig != nil && orig.inProgress() {
			c, err := copyStack(orig)
			if err != nil {
				h.env.Problem("heat: copying stack %s: %v", id, err)
				return nil
			}
			st = c
		}
		return nil
	})
	if st == nil {
		return false
	}
	ident := h.identity(st, hint)
	if ident == nil {
		// Nobody to act for (a restart lost the token): the stack moves
		// on when its owner reads it; no timer spins meanwhile.
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := &engine{h: h, st: st, c: &rctx{h: h, ctx: ctx, id: ident, stack: st}}
	e.run()
	_ = h.state.Update(func(s *state) error {
		s.Stacks[id] = st
		return nil
	})
	return st.inProgress()
}

// engine is one step over one stack.
type engine struct {
	h  *Heat
	st *Stack
	c  *rctx
	t  *tmpl
}

func (e *engine) now() time.Time { return e.h.env.Now() }

// event records a line of the stack's history.
func (e *engine) event(res, physID, typ, action, status, reason string, props map[string]any) {
	e.st.Events = append(e.st.Events, &Event{ID: core.NewUUID(), Resource: res, PhysicalID: physID, Type: typ,
		Action: action, Status: status, Reason: reason, Time: e.now(), Props: props})
}

func (e *engine) resEvent(r *Resource, action, status, reason string) {
	r.Action, r.Status, r.Reason = action, status, reason
	t := e.now()
	if action != "CREATE" || status != "IN_PROGRESS" {
		r.Updated = &t
	}
	e.event(r.Name, r.PhysicalID, r.Type, action, status, reason, r.Props)
}

// stackState sets the stack's state and records its event.
func (e *engine) stackState(action, status, reason string) {
	st := e.st
	st.Action, st.Status, st.Reason = action, status, reason
	e.event(st.Name, st.ID, "OS::Heat::Stack", action, status, reason, nil)
}

// run dispatches on the phase.
func (e *engine) run() {
	t, err := e.st.template()
	if err != nil {
		e.fail(e.st.Action, fmt.Sprintf("Invalid template: %v", err))
		return
	}
	e.t = t
	if e.timedOut() {
		return
	}
	switch e.st.Phase {
	case "create", "update":
		e.forward()
	case "delete", "rollback", "cleanup":
		e.backward()
	case "action":
		if !e.now().Before(e.st.NotBefore) {
			e.st.Phase = ""
			e.stackState(e.st.Action, "COMPLETE", "Stack "+e.st.Action+" completed successfully")
		}
	}
}

// timedOut fails a create or update past the stack's timeout_mins.
func (e *engine) timedOut() bool {
	st := e.st
	if st.TimeoutMins == nil || *st.TimeoutMins <= 0 || (st.Phase != "create" && st.Phase != "update") {
		return false
	}
	start := st.Created
	if st.Phase == "update" && st.Updated != nil {
		start = *st.Updated
	}
	if e.now().Before(start.Add(time.Duration(*st.TimeoutMins) * time.Minute)) {
		return false
	}
	action := "Create"
	if st.Phase == "update" {
		action = "Update"
	}
	e.fail(st.Action, action+" timed out")
	return true
}

// fail ends the forward phase: FAILED, then a rollback of a create when
// rollback is enabled.
func (e *engine) fail(action, reason string) {
	st := e.st
	e.stackState(action, "FAILED", reason)
	if action == "CREATE" && !st.DisableRollback {
		st.Failure = reason
		st.Phase = "rollback"
		st.NotBefore = e.now().Add(e.h.env.Delay)
		e.stackState("ROLLBACK", "IN_PROGRESS", reason)
		e.backward()
		return
	}
	st.Phase = ""
}

// evaluator returns the function resolver over the stack's resources.
func (e *engine) evaluator() *evalCtx {
	return &evalCtx{t: e.t, params: e.allParams(), files: e.st.Files,
		ref: func(name string) (any, error) {
			r := e.st.Resources[name]
			if r == nil || r.PhysicalID == "" {
				return name, nil
			}
			if rt := registry[r.Type]; rt != nil && rt.ref != nil {
				return rt.ref(r), nil
			}
			return r.PhysicalID, nil
		},
		attr: func(name, attr string) (any, error) {
			r := e.st.Resources[name]
			if r == nil || r.PhysicalID == "" {
				return nil, nil
			}
			return e.c.attribute(r, attr)
		}}
}

func (e *engine) allParams() map[string]any {
	out := pseudoParams(e.st.Name, e.st.ID, e.st.ProjectID)
	for k, v := range e.st.Params {
		out[k] = v
	}
	return out
}

// active returns the template's resources whose condition holds.
func (e *engine) active(ev *evalCtx) (map[string]*resDef, error) {
	out := map[string]*resDef{}
	for _, name := range e.t.resOrder {
		d := e.t.resources[name]
		if d.condition != nil {
			ok, err := ev.condition(d.condition)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		out[name] = d
	}
	return out, nil
}

// deps returns, for each active resource, the active resources it needs.
func (e *engine) deps(ev *evalCtx, active map[string]*resDef) map[string][]string {
	out := map[string][]string{}
	for name, d := range active {
		refs := map[string]bool{}
		ev.references(d.props, refs)
		ev.references(d.metadata, refs)
		for _, x := range d.dependsOn {
			refs[x] = true
		}
		var l []string
		for x := range refs {
			if _, ok := active[x]; ok && x != name {
				l = append(l, x)
			}
		}
		sort.Strings(l)
		out[name] = l
	}
	return out
}

// done reports whether a resource finished this phase's work.
func (e *engine) done(r *Resource) bool {
	if r == nil || r.Waiting || r.Status != "COMPLETE" {
		return false
	}
	switch r.Action {
	case "CREATE", "UPDATE", "CHECK", "RESUME", "SUSPEND":
		return e.st.Phase != "update" || r.Data["gen"] == e.gen()
	}
	return false
}

func (e *engine) gen() string { return e.st.updateGen() }

// updateGen is the count of updates (it marks resources an update has
// visited).
func (st *Stack) updateGen() string {
	if st.Updated == nil {
		return "0"
	}
	return st.Updated.Format(time.RFC3339Nano)
}

func (e *engine) mark(r *Resource) {
	if r.Data == nil {
		r.Data = map[string]string{}
	}
	r.Data["gen"] = e.gen()
}

// forward makes (create) or brings up to date (update) the resources in
// dependency order.
func (e *engine) forward() {
	st := e.st
	ev := e.evaluator()
	active, err := e.active(ev)
	if err != nil {
		e.fail(st.Action, err.Error())
		return
	}
	deps := e.deps(ev, active)
	for progress := true; progress; {
		progress = false
		for _, name := range sortedKeys(active) {
			r := st.Resources[name]
			if r != nil && r.Status == "FAILED" {
				e.fail(st.Action, "Resource "+r.Action+" failed: "+r.Reason)
				return
			}
			if e.done(r) {
				continue
			}
			ready := true
			for _, d := range deps[name] {
				ready = ready && e.done(st.Resources[d])
			}
			if !ready {
				continue
			}
			if e.visit(ev, active[name], r) {
				progress = true
			}
			if r2 := st.Resources[name]; r2 != nil && r2.Status == "FAILED" {
				e.fail(st.Action, "Resource "+r2.Action+" failed: "+r2.Reason)
				return
			}
		}
	}
	for name := range active {
		if !e.done(st.Resources[name]) {
			return
		}
	}
	if st.Phase == "update" {
		// Resources the new template dropped or its condition excludes.
		for _, name := range sortedKeys(st.Resources) {
			if _, ok := active[name]; !ok {
				st.Old = append(st.Old, st.Resources[name])
				delete(st.Resources, name)
			}
		}
		st.Phase = "cleanup"
		e.backward()
		return
	}
	if e.now().Before(st.NotBefore) {
		return
	}
	st.Phase = ""
	e.stackState(st.Action, "COMPLETE", "Stack "+st.Action+" completed successfully")
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// reason formats a resource failure as Heat's ResourceFailure does.
func reasonOf(res string, err error) string {
	var se *svcErr
	if errors.As(err, &se) {
		if se.typ != "" {
			return se.typ + ": resources." + res + ": " + se.msg
		}
		if se.status == 0 {
			return "Exception: resources." + res + ": " + se.msg
		}
		return excName(se.status) + ": resources." + res + ": " + se.msg
	}
	if ae, ok := core.AsAPIError(err); ok {
		t := ae.Type
		if t == "" {
			t = "StackValidationFailed"
		}
		return t + ": resources." + res + ": " + ae.Message
	}
	return "Error: resources." + res + ": " + err.Error()
}

// visit does the next thing for one resource whose dependencies are
// done; it reports whether anything changed.
func (e *engine) visit(ev *evalCtx, d *resDef, r *Resource) bool {
	st := e.st
	rt := registry[d.typ]
	if r == nil {
		r = &Resource{UUID: core.NewUUID(), Name: d.name, Type: d.typ, Action: "INIT", Status: "COMPLETE", Created: e.now()}
		st.Resources[d.name] = r
	}
	if r.Waiting {
		return e.poll(rt, r)
	}
	props, err := e.resolveProps(ev, d, rt)
	if err != nil {
		if r.Action == "INIT" {
			e.resEvent(r, "CREATE", "FAILED", reasonOf(d.name, err))
		} else {
			e.resEvent(r, "UPDATE", "FAILED", reasonOf(d.name, err))
		}
		return true
	}
	r.Description = d.description
	r.Retain = d.deletionPolicy == "retain"
	switch {
	case r.Action == "INIT" || r.PhysicalID == "" && r.Action != "UPDATE":
		return e.create(rt, r, props)
	case r.Type != d.typ:
		return e.replace(d, r, props)
	}
	changed := changedProps(r.Props, props)
	if len(changed) == 0 {
		e.mark(r)
		return true
	}
	if rt.update == nil || !allUpdatable(rt, changed) {
		return e.replace(d, r, props)
	}
	err = rt.update(e.c, r, props, changed)
	if errors.Is(err, errRetry) {
		return false
	}
	e.resEvent(r, "UPDATE", "IN_PROGRESS", "state changed")
	r.Props = props
	if err != nil {
		e.resEvent(r, "UPDATE", "FAILED", reasonOf(r.Name, err))
		return true
	}
	e.mark(r)
	if rt.ready != nil {
		r.Waiting = true
		return e.poll(rt, r)
	}
	e.resEvent(r, "UPDATE", "COMPLETE", "state changed")
	return true
}

func allUpdatable(rt *rtype, changed []string) bool {
	if rt.props == nil {
		return false
	}
	for _, k := range changed {
		if p := rt.props[k]; p == nil || !p.update {
			return false
		}
	}
	return true
}

// changedProps lists the properties whose values differ.
func changedProps(old, new map[string]any) []string {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if jsonStr(old[k]) != jsonStr(new[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// resolveProps evaluates a resource's properties and checks them.
func (e *engine) resolveProps(ev *evalCtx, d *resDef, rt *rtype) (map[string]any, error) {
	raw, err := ev.eval(d.props)
	if err != nil {
		return nil, err
	}
	m, _ := raw.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if rt.props == nil {
		return m, nil
	}
	return checkProps(rt, d.name, m, nil)
}

func (e *engine) create(rt *rtype, r *Resource, props map[string]any) bool {
	r.Props = props
	err := rt.create(e.c, r, props)
	if errors.Is(err, errRetry) {
		return false
	}
	e.resEvent(r, "CREATE", "IN_PROGRESS", "state changed")
	if err != nil {
		e.resEvent(r, "CREATE", "FAILED", reasonOf(r.Name, err))
		return true
	}
	e.mark(r)
	if rt.ready != nil {
		r.Waiting = true
		return e.poll(rt, r)
	}
	e.resEvent(r, "CREATE", "COMPLETE", "state changed")
	return true
}

// poll asks the service whether the resource's action finished.
func (e *engine) poll(rt *rtype, r *Resource) bool {
	ok, err := rt.ready(e.c, r)
	if err != nil {
		r.Waiting = false
		e.resEvent(r, r.Action, "FAILED", reasonOf(r.Name, err))
		return true
	}
	if !ok {
		return false
	}
	r.Waiting = false
	delete(e.c.shows, r.Type+"/"+r.PhysicalID)
	e.resEvent(r, r.Action, "COMPLETE", "state changed")
	return true
}

// replace makes a new resource in place of r (deleted in the cleanup).
func (e *engine) replace(d *resDef, r *Resource, props map[string]any) bool {
	st := e.st
	e.event(r.Name, r.PhysicalID, r.Type, "UPDATE", "IN_PROGRESS", "state changed", r.Props)
	st.Old = append(st.Old, r)
	n := &Resource{UUID: core.NewUUID(), Name: d.name, Type: d.typ, Action: "INIT", Status: "COMPLETE", Created: e.now()}
	st.Resources[d.name] = n
	return e.create(registry[d.typ], n, props)
}

// backward deletes resources in reverse dependency order: the cleanup
// of an update (what it replaced or dropped), a rollback, a delete.
func (e *engine) backward() {
	st := e.st
	for progress := true; progress; {
		progress = false
		// Replaced and dropped resources first: nothing depends on them.
		for i := 0; i < len(st.Old); i++ {
			r := st.Old[i]
			gone, changed, err := e.remove(r)
			progress = progress || changed
			if err != nil {
				e.endBackward(false, "Resource DELETE failed: "+reasonOf(r.Name, err))
				return
			}
			if gone {
				st.Old = append(st.Old[:i], st.Old[i+1:]...)
				i--
			}
		}
		if st.Phase == "cleanup" {
			continue
		}
		needed := e.neededBy()
		for _, name := range sortedKeys(st.Resources) {
			if len(needed[name]) > 0 {
				continue
			}
			r := st.Resources[name]
			gone, changed, err := e.remove(r)
			progress = progress || changed
			if err != nil {
				e.endBackward(false, "Resource DELETE failed: "+reasonOf(r.Name, err))
				return
			}
			if gone {
				delete(st.Resources, name)
				for k := range needed {
					delete(needed[k], name)
				}
				progress = true
			}
		}
	}
	if len(st.Old) > 0 || (st.Phase != "cleanup" && len(st.Resources) > 0) {
		return
	}
	if e.now().Before(st.NotBefore) {
		return
	}
	e.endBackward(true, "")
}

// neededBy maps each resource to the remaining resources that need it.
func (e *engine) neededBy() map[string]map[string]bool {
	st := e.st
	ev := e.evaluator()
	out := map[string]map[string]bool{}
	for name := range st.Resources {
		d := e.t.resources[name]
		if d == nil {
			continue
		}
		refs := map[string]bool{}
		ev.references(d.props, refs)
		ev.references(d.metadata, refs)
		for _, x := range d.dependsOn {
			refs[x] = true
		}
		for x := range refs {
			if _, ok := st.Resources[x]; ok && x != name {
				if out[x] == nil {
					out[x] = map[string]bool{}
				}
				out[x][name] = true
			}
		}
	}
	return out
}

// remove deletes one resource: it reports whether it is gone, whether
// anything changed, and a failure.
func (e *engine) remove(r *Resource) (bool, bool, error) {
	rt := registry[r.Type]
	if r.Action == "DELETE" && r.Status == "COMPLETE" {
		return true, true, nil
	}
	if r.Action == "INIT" || r.PhysicalID == "" || r.Retain || rt == nil || rt.del == nil {
		if r.Action != "INIT" {
			e.resEvent(r, "DELETE", "IN_PROGRESS", "state changed")
			e.resEvent(r, "DELETE", "COMPLETE", "state changed")
		}
		return true, true, nil
	}
	if r.Waiting && r.Action == "DELETE" {
		if rt.gone == nil {
			r.Waiting = false
			e.resEvent(r, "DELETE", "COMPLETE", "state changed")
			return true, true, nil
		}
		gone, err := rt.gone(e.c, r)
		if err != nil {
			r.Waiting = false
			e.resEvent(r, "DELETE", "FAILED", reasonOf(r.Name, err))
			return false, true, err
		}
		if !gone {
			return false, false, nil
		}
		r.Waiting = false
		e.resEvent(r, "DELETE", "COMPLETE", "state changed")
		return true, true, nil
	}
	err := rt.del(e.c, r)
	if errors.Is(err, errRetry) {
		return false, false, nil
	}
	e.resEvent(r, "DELETE", "IN_PROGRESS", "state changed")
	if err != nil && !isStatus(err, 404) {
		e.resEvent(r, "DELETE", "FAILED", reasonOf(r.Name, err))
		return false, true, err
	}
	r.Waiting = true
	gone, _, err := e.remove(r)
	return gone, true, err
}

// endBackward finishes a delete, rollback or update cleanup.
func (e *engine) endBackward(ok bool, reason string) {
	st := e.st
	phase := st.Phase
	st.Phase = ""
	switch phase {
	case "delete":
		if !ok {
			e.stackState("DELETE", "FAILED", reason)
			return
		}
		e.stackState("DELETE", "COMPLETE", "Stack DELETE completed successfully")
		t := e.now()
		st.Deleted = &t
		st.Resources = map[string]*Resource{}
	case "rollback":
		if !ok {
			e.stackState("ROLLBACK", "FAILED", reason)
			return
		}
		e.stackState("ROLLBACK", "COMPLETE", "Stack ROLLBACK completed successfully")
	case "cleanup":
		if !ok {
			e.stackState("UPDATE", "FAILED", reason)
			return
		}
		if e.now().Before(st.NotBefore) {
			st.Phase = "cleanup"
			return
		}
		e.stackState("UPDATE", "COMPLETE", "Stack UPDATE completed successfully")
	}
}
