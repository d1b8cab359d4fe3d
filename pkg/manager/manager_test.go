package manager

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder notes when runnables start and stop.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recorder) has(e string) bool {
	for _, x := range r.list() {
		if x == e {
			return true
		}
	}
	return false
}

// loop runs until its context ends, taking stopDelay to stop.
func (r *recorder) loop(name string, stopDelay time.Duration) Runnable {
	return RunnableFunc(func(ctx context.Context) error {
		r.add("start " + name)
		<-ctx.Done()
		time.Sleep(stopDelay)
		r.add("stop " + name)
		return ctx.Err()
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func run(m *Manager, ctx context.Context) chan error {
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	return done
}

func result(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return")
		return nil
	}
}

func TestStopsInReverseOrder(t *testing.T) {
	rec := &recorder{}
	m := New(Options{})
	for _, n := range []string{"store", "operations", "janitor", "http"} {
		// Quick stoppers stop no earlier for it: the order is the manager's.
		if err := m.Add(n, rec.loop(n, time.Duration(len(n))*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := run(m, ctx)
	waitUntil(t, "all started", func() bool { return len(rec.list()) == 4 })
	cancel()
	if err := result(t, done); err != nil {
		t.Fatalf("clean stop returned %v", err)
	}
	stops := rec.list()[4:]
	if want := []string{"stop http", "stop janitor", "stop operations", "stop store"}; !reflect.DeepEqual(stops, want) {
		t.Errorf("stop order %q, want %q", stops, want)
	}
	if err := m.Add("late", rec.loop("late", 0)); err == nil {
		t.Error("Add after Start accepted")
	}
}

func TestFailureStopsAll(t *testing.T) {
	cases := []struct {
		name    string
		r       Runnable
		wantErr string
	}{
		{"error", RunnableFunc(func(context.Context) error { return errors.New("port in use") }), "http: port in use"},
		{"one-shot returning nil keeps the rest running", RunnableFunc(func(context.Context) error { return nil }), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			m := New(Options{})
			m.Add("store", rec.loop("store", 0))
			m.Add("http", c.r)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := run(m, ctx)
			if c.wantErr == "" {
				select {
				case err := <-done:
					t.Fatalf("Start returned %v while nothing failed", err)
				case <-time.After(100 * time.Millisecond):
				}
				cancel()
			}
			err := result(t, done)
			if (err == nil) != (c.wantErr == "") || (err != nil && err.Error() != c.wantErr) {
				t.Fatalf("Start = %v, want %q", err, c.wantErr)
			}
			if !rec.has("stop store") {
				t.Error("the store was not stopped")
			}
		})
	}
}

// A runnable that does not stop in time is named in the error, and the
// runnables added before it are still stopped.
func TestShutdownTimeout(t *testing.T) {
	rec := &recorder{}
	m := New(Options{ShutdownTimeout: 100 * time.Millisecond})
	m.Add("store", rec.loop("store", 0))
	stuck := make(chan struct{})
	defer close(stuck)
	m.Add("operations", RunnableFunc(func(ctx context.Context) error { <-stuck; return nil }))
	m.Add("http", rec.loop("http", 0))
	ctx, cancel := context.WithCancel(context.Background())
	done := run(m, ctx)
	waitUntil(t, "started", func() bool { return rec.has("start store") && rec.has("start http") })
	cancel()
	start := time.Now()
	err := result(t, done)
	if err == nil || !strings.Contains(err.Error(), "operations still running") || strings.Contains(err.Error(), "store") {
		t.Fatalf("Start = %v, want the timeout naming operations alone", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stop took %s with a 100 ms timeout", d)
	}
	waitUntil(t, "the store stopped", func() bool { return rec.has("stop store") })
}

// elector grants leadership once per value sent on grant, and takes it
// away when the lose channel of that term is closed.
type elector struct {
	grant chan chan struct{}
	fail  chan error // a campaign fails with it instead
	calls int32
	mu    sync.Mutex
}

func (e *elector) Campaign(ctx context.Context) (<-chan struct{}, error) {
	e.mu.Lock()
	e.calls++
	e.mu.Unlock()
	select {
	case lose := <-e.grant:
		return lose, nil
	case err := <-e.fail:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *elector) campaigns() int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

func count(events []string, e string) int {
	n := 0
	for _, x := range events {
		if x == e {
			n++
		}
	}
	return n
}

func TestLeaderRunnables(t *testing.T) {
	t.Run("without an elector they start at once", func(t *testing.T) {
		rec := &recorder{}
		m := New(Options{})
		m.Add("janitor", NeedsLeader(rec.loop("janitor", 0)))
		ctx, cancel := context.WithCancel(context.Background())
		done := run(m, ctx)
		waitUntil(t, "janitor started", func() bool { return rec.has("start janitor") })
		cancel()
		if err := result(t, done); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("gated until elected, stopped when leadership is lost, started again when regained", func(t *testing.T) {
		rec := &recorder{}
		el := &elector{grant: make(chan chan struct{})}
		m := New(Options{Elector: el})
		m.Add("store", rec.loop("store", 0))
		m.Add("recovery", NeedsLeader(rec.loop("recovery", 0)))
		m.Add("janitor", NeedsLeader(rec.loop("janitor", 0)))
		m.Add("http", rec.loop("http", 0))
		ctx, cancel := context.WithCancel(context.Background())
		done := run(m, ctx)
		waitUntil(t, "store and http started", func() bool { return rec.has("start store") && rec.has("start http") })
		time.Sleep(50 * time.Millisecond)
		if rec.has("start janitor") {
			t.Fatal("the janitor started before this replica led")
		}
		lose := make(chan struct{})
		el.grant <- lose
		waitUntil(t, "janitor started", func() bool { return rec.has("start janitor") && rec.has("start recovery") })
		close(lose)
		waitUntil(t, "leader's runnables stopped", func() bool { return rec.has("stop janitor") && rec.has("stop recovery") })
		ev := rec.list()
		if i, j := slices.Index(ev, "stop janitor"), slices.Index(ev, "stop recovery"); i > j {
			t.Errorf("events %q: the leader's runnables stop in reverse order", ev)
		}
		if rec.has("stop http") || rec.has("stop store") {
			t.Fatalf("events %q: losing leadership stopped more than the leader's runnables", ev)
		}
		waitUntil(t, "a new campaign", func() bool { return el.campaigns() == 2 })
		el.grant <- make(chan struct{})
		waitUntil(t, "janitor started again", func() bool { return count(rec.list(), "start janitor") == 2 })
		cancel()
		if err := result(t, done); err != nil {
			t.Fatalf("Start = %v after a clean stop", err)
		}
		if ev := rec.list(); ev[len(ev)-1] != "stop store" || count(ev, "stop janitor") != 2 {
			t.Errorf("events %q: want everything stopped, the store last", ev)
		}
	})
	t.Run("leader's runnable that does not stop when leadership is lost fails the manager", func(t *testing.T) {
		rec := &recorder{}
		el := &elector{grant: make(chan chan struct{})}
		m := New(Options{Elector: el, ShutdownTimeout: 100 * time.Millisecond})
		m.Add("store", rec.loop("store", 0))
		stuck := make(chan struct{})
		defer close(stuck)
		m.Add("janitor", NeedsLeader(RunnableFunc(func(ctx context.Context) error { <-stuck; return nil })))
		done := run(m, context.Background())
		lose := make(chan struct{})
		el.grant <- lose
		close(lose)
		if err := result(t, done); !errors.Is(err, ErrLeadershipLost) {
			t.Fatalf("Start = %v, want ErrLeadershipLost", err)
		}
		if !rec.has("stop store") {
			t.Error("the store was not stopped")
		}
	})
	t.Run("failed campaigns are retried", func(t *testing.T) {
		rec := &recorder{}
		el := &elector{grant: make(chan chan struct{}), fail: make(chan error)}
		m := New(Options{Elector: el})
		m.Add("janitor", NeedsLeader(rec.loop("janitor", 0)))
		ctx, cancel := context.WithCancel(context.Background())
		done := run(m, ctx)
		el.fail <- errors.New("etcd unreachable")
		el.grant <- make(chan struct{})
		waitUntil(t, "janitor started", func() bool { return rec.has("start janitor") })
		cancel()
		if err := result(t, done); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("never elected: stops cleanly", func(t *testing.T) {
		rec := &recorder{}
		m := New(Options{Elector: &elector{grant: make(chan chan struct{})}})
		m.Add("janitor", NeedsLeader(rec.loop("janitor", 0)))
		ctx, cancel := context.WithCancel(context.Background())
		done := run(m, ctx)
		time.Sleep(20 * time.Millisecond)
		cancel()
		if err := result(t, done); err != nil || rec.has("start janitor") {
			t.Fatalf("Start = %v, events %q", err, rec.list())
		}
	})
}
