package core

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Persistent is what the Cloud saves to and restores from the -state file.
// State[S] implements it.
type Persistent interface {
	Snapshot() (json.RawMessage, error)
	Restore(json.RawMessage) error
}

// State holds one service's state S behind one lock. S must be JSON
// serialisable (exported fields, maps, slices): the Cloud saves it to the
// -state file after every successful Update (debounced) and on Close, and
// restores it at start; the admin reset restores the snapshot taken after
// the service was constructed.
type State[S any] struct {
	mu      sync.RWMutex
	v       S
	changed func()
}

// NewState returns a State holding initial; env is told of every change.
func NewState[S any](env *Env, initial S) *State[S] {
	return &State[S]{v: initial, changed: env.Changed}
}

// View runs fn under the read lock. fn must not modify the state nor keep
// pointers into it after it returns (copy what you answer with).
func (s *State[S]) View(fn func(*S) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&s.v)
}

// Update runs fn under the write lock. When fn returns an error the
// change must not have happened (validate before mutating: a 4xx never
// changes state); when it returns nil the state is marked changed.
func (s *State[S]) Update(fn func(*S) error) error {
	s.mu.Lock()
	err := fn(&s.v)
	s.mu.Unlock()
	if err == nil && s.changed != nil {
		s.changed()
	}
	return err
}

// Snapshot returns the state as JSON.
func (s *State[S]) Snapshot() (json.RawMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return json.Marshal(s.v)
}

// Restore replaces the state with a snapshot.
func (s *State[S]) Restore(b json.RawMessage) error {
	var v S
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("restoring state: %w", err)
	}
	s.mu.Lock()
	s.v = v
	s.mu.Unlock()
	return nil
}

// Lifecycle is a status that moves on by itself after the Cloud's -delay:
// the pending status is stored with the time it ends, and the current
// status is computed when read, so no goroutine runs and a restart keeps
// the schedule. Embed it in a resource:
//
//	srv.Lifecycle = core.Begin(env, "BUILD", "ACTIVE")
//	... later: status := srv.Current(env.Now())
type Lifecycle struct {
	Status string    `json:"status"`
	Next   string    `json:"next,omitempty"`
	At     time.Time `json:"next_at,omitempty"`
}

// Begin starts a transition from pending to final after env's delay (at
// once when the delay is zero).
func Begin(env *Env, pending, final string) Lifecycle {
	if env.Delay <= 0 {
		return Lifecycle{Status: final}
	}
	return Lifecycle{Status: pending, Next: final, At: env.Now().Add(env.Delay)}
}

// Set makes status the current one, cancelling a pending transition.
func (l *Lifecycle) Set(status string) { *l = Lifecycle{Status: status} }

// Current returns the status at now.
func (l Lifecycle) Current(now time.Time) string {
	if l.Next != "" && !now.Before(l.At) {
		return l.Next
	}
	return l.Status
}

// Pending reports whether a transition is still under way at now.
func (l Lifecycle) Pending(now time.Time) bool { return l.Next != "" && now.Before(l.At) }

// Quotas are per-project limits with defaults; keep one in your state S so
// it is saved with it. A limit below zero means unlimited. Each service
// answers an exceeded quota in its own way (Nova 403, Cinder 413, Neutron
// 409): check Allows before creating and return your error.
type Quotas struct {
	Defaults map[string]int            `json:"defaults"`
	Projects map[string]map[string]int `json:"projects,omitempty"`
}

// NewQuotas returns Quotas with the given defaults.
func NewQuotas(defaults map[string]int) Quotas {
	return Quotas{Defaults: defaults, Projects: map[string]map[string]int{}}
}

// Limit returns the project's limit for resource.
func (q *Quotas) Limit(project, resource string) int {
	if l, ok := q.Projects[project][resource]; ok {
		return l
	}
	if l, ok := q.Defaults[resource]; ok {
		return l
	}
	return -1
}

// Set sets the project's limit for resource.
func (q *Quotas) Set(project, resource string, limit int) {
	if q.Projects == nil {
		q.Projects = map[string]map[string]int{}
	}
	if q.Projects[project] == nil {
		q.Projects[project] = map[string]int{}
	}
	q.Projects[project][resource] = limit
}

// Allows reports whether used+delta stays within the project's limit.
func (q *Quotas) Allows(project, resource string, used, delta int) bool {
	l := q.Limit(project, resource)
	return l < 0 || used+delta <= l
}
