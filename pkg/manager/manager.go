package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Runnable is one piece of background work. Start runs it until ctx ends
// and returns once it has stopped; a Runnable that has nothing more to do
// may return nil earlier. An error stops the whole Manager. Anything other
// runnables need from it must be usable before Start: Start only runs its
// loop and its shutdown.
type Runnable interface {
	Start(ctx context.Context) error
}

// RunnableFunc makes a function a Runnable.
type RunnableFunc func(ctx context.Context) error

// Start calls f.
func (f RunnableFunc) Start(ctx context.Context) error { return f(ctx) }

// LeaderElectionRunnable is implemented by runnables that say whether
// they need leadership: work that must run on one replica at a time
// (recovery of operations, the janitor, the catalog refresh).
type LeaderElectionRunnable interface {
	NeedLeaderElection() bool
}

// Elector grants leadership among replicas sharing a store.
type Elector interface {
	// Campaign blocks until this replica leads, or ctx ends. The returned
	// channel is closed when the leadership is lost.
	Campaign(ctx context.Context) (lost <-chan struct{}, err error)
}

// ErrLeadershipLost stops a Manager whose leader's runnables did not stop
// within the shutdown timeout once leadership was lost: they must not go
// on beside a new leader's.
var ErrLeadershipLost = errors.New("leadership lost")

// DefaultShutdownTimeout bounds stopping, all runnables together.
const DefaultShutdownTimeout = 30 * time.Second

// Options configure a Manager.
type Options struct {
	Logger *slog.Logger
	// ShutdownTimeout bounds the stop of all runnables together (default
	// DefaultShutdownTimeout); those still running then are abandoned.
	ShutdownTimeout time.Duration
	// Elector, when set, gates the runnables that need leadership; nil
	// means this process is the only replica and starts them at once.
	Elector Elector
}

// Manager starts and stops runnables in order.
type Manager struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	entries []*entry
	started bool
}

type entry struct {
	name   string
	r      Runnable
	leader bool

	cancel context.CancelFunc
	done   chan struct{} // closed when Start returned; nil if never started
}

// New makes a Manager.
func New(o Options) *Manager {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	return &Manager{o: o, log: o.Logger}
}

// Add registers r under name (for logs and errors). Runnables start in the
// order added and stop in the reverse order: add what others use first.
func (m *Manager) Add(name string, r Runnable) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return fmt.Errorf("manager: %s added after Start", name)
	}
	e := &entry{name: name, r: r}
	if l, ok := r.(LeaderElectionRunnable); ok {
		e.leader = l.NeedLeaderElection()
	}
	m.entries = append(m.entries, e)
	return nil
}

// Start runs the runnables until ctx ends or one of them fails, then stops
// them all. It returns the first failure (nil after a clean stop), and an
// error naming the runnables that did not stop within the shutdown timeout.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return errors.New("manager: started twice")
	}
	m.started = true
	entries := append([]*entry(nil), m.entries...)
	m.mu.Unlock()

	failed := make(chan error, len(entries)+2)
	// Runnables get contexts of their own, cancelled one by one at stop;
	// values of ctx carry over.
	base := context.WithoutCancel(ctx)
	var mu sync.Mutex // guards starting entries against stopping them
	stopping := false
	start := func(e *entry) {
		mu.Lock()
		defer mu.Unlock()
		if stopping || e.done != nil {
			return
		}
		rctx, cancel := context.WithCancel(base)
		done := make(chan struct{})
		e.cancel, e.done = cancel, done
		m.log.Debug("starting", "runnable", e.name)
		go func() {
			defer close(done)
			err := e.r.Start(rctx)
			if err != nil && !(rctx.Err() != nil && errors.Is(err, context.Canceled)) {
				failed <- fmt.Errorf("%s: %w", e.name, err)
			}
		}()
	}

	var gated []*entry
	for _, e := range entries {
		if e.leader && m.o.Elector != nil {
			gated = append(gated, e)
			continue
		}
		start(e)
	}
	electCtx, stopElect := context.WithCancel(ctx)
	defer stopElect()
	electing := make(chan struct{})
	if len(gated) > 0 {
		go func() {
			defer close(electing)
			m.lead(electCtx, gated, start, &mu, failed)
		}()
	} else {
		close(electing)
	}

	var first error
	select {
	case <-ctx.Done():
	case first = <-failed:
		m.log.Error("stopping: a runnable failed", "err", first)
	}
	stopElect()
	// A loss of leadership being handled ends first: its stop of the
	// leader's runnables is bounded by the shutdown timeout.
	<-electing
	mu.Lock()
	stopping = true
	mu.Unlock()
	if err := m.stop(entries); err != nil && first == nil {
		first = err
	}
	return first
}

// electionRetry bounds the wait between failed campaigns.
const electionRetry = 5 * time.Second

// lead campaigns for leadership and runs the gated runnables while it
// lasts, again and again until ctx ends: a replica that lost leadership
// (its lease expired while the store was unreachable) stops the leader's
// work, in reverse order, and campaigns again. When they do not stop
// within the shutdown timeout it fails the Manager with
// ErrLeadershipLost.
func (m *Manager) lead(ctx context.Context, gated []*entry, start func(*entry), mu *sync.Mutex, failed chan<- error) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		lost, err := m.o.Elector.Campaign(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.log.Warn("leader election failed; retrying", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, electionRetry)
			continue
		}
		wait = 100 * time.Millisecond
		m.log.Info("elected leader: starting the leader's runnables")
		for _, e := range gated {
			start(e)
		}
		select {
		case <-ctx.Done():
			return // the Manager stops them with the rest, in order
		case <-lost:
		}
		m.log.Warn("leadership lost: stopping the leader's runnables")
		mu.Lock()
		running := make([]*entry, 0, len(gated))
		for _, e := range gated {
			if e.done != nil {
				running = append(running, e)
			}
		}
		mu.Unlock()
		if err := m.stopSome(running); err != nil {
			failed <- fmt.Errorf("%w: %v", ErrLeadershipLost, err)
			return
		}
		mu.Lock()
		for _, e := range running {
			e.cancel, e.done = nil, nil
		}
		mu.Unlock()
	}
}

// stopSome cancels entries last first, each waited for, all within the
// shutdown timeout.
func (m *Manager) stopSome(entries []*entry) error {
	deadline := time.NewTimer(m.o.ShutdownTimeout)
	defer deadline.Stop()
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		e.cancel()
		select {
		case <-e.done:
			m.log.Debug("stopped", "runnable", e.name)
		case <-deadline.C:
			return fmt.Errorf("%s still running after %s", e.name, m.o.ShutdownTimeout)
		}
	}
	return nil
}

// lateGrace is how long runnables cancelled after the shutdown timeout
// was spent get to return, all together, before they are reported.
const lateGrace = time.Second

// stop cancels the runnables one by one, last added first, each waited for
// within what is left of the shutdown timeout; once it is spent, the rest
// are cancelled together and given lateGrace.
func (m *Manager) stop(entries []*entry) error {
	deadline := time.NewTimer(m.o.ShutdownTimeout)
	defer deadline.Stop()
	var rest []*entry
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.done == nil {
			continue
		}
		e.cancel()
		if rest != nil {
			rest = append(rest, e)
			continue
		}
		select {
		case <-e.done:
			m.log.Debug("stopped", "runnable", e.name)
		case <-deadline.C:
			rest = append(rest, e)
		}
	}
	grace, cancel := context.WithTimeout(context.Background(), lateGrace)
	defer cancel()
	for _, e := range rest[min(1, len(rest)):] {
		select {
		case <-e.done:
		case <-grace.Done():
		}
	}
	var still []string
	for _, e := range entries {
		if e.done == nil {
			continue
		}
		select {
		case <-e.done:
		default:
			still = append(still, e.name)
		}
	}
	if len(still) == 0 {
		return nil
	}
	m.log.Warn("runnables did not stop within the shutdown timeout", "runnables", still, "timeout", m.o.ShutdownTimeout)
	return fmt.Errorf("shutdown timeout %s: %s still running", m.o.ShutdownTimeout, strings.Join(still, ", "))
}

// NeedsLeader marks r as work for the leader only (LeaderElectionRunnable).
func NeedsLeader(r Runnable) Runnable { return leaderOnly{r} }

type leaderOnly struct{ Runnable }

func (leaderOnly) NeedLeaderElection() bool { return true }
