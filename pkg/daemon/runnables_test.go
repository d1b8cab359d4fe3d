package daemon

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/manager"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// slowBootstrap counts bootstraps; each waits for release.
type slowBootstrap struct {
	n       atomic.Int32
	release chan struct{}
	after   atomic.Bool // a bootstrap began after the loop returned
	stopped atomic.Bool
}

func (s *slowBootstrap) Bootstrap(ctx context.Context) (*broker.BootstrapResult, error) {
	if s.stopped.Load() {
		s.after.Store(true)
	}
	s.n.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return &broker.BootstrapResult{}, nil
}

// memRequests are bootstrap requests as the store keeps them: one
// pending request, a revision per ask, a signal per ask.
type memRequests struct {
	mu           sync.Mutex
	rev, pending int64
	sig          chan struct{}
}

func newMemRequests() *memRequests {
	m := &memRequests{sig: make(chan struct{}, 1)}
	m.signal()
	return m
}

func (m *memRequests) signal() {
	select {
	case m.sig <- struct{}{}:
	default:
	}
}

func (m *memRequests) RequestBootstrap(context.Context) error {
	m.mu.Lock()
	m.rev++
	m.pending = m.rev
	m.mu.Unlock()
	m.signal()
	return nil
}

func (m *memRequests) BootstrapRequests(context.Context) <-chan struct{} { return m.sig }

func (m *memRequests) PendingBootstrap(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pending, nil
}

func (m *memRequests) BootstrapServed(_ context.Context, rev int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == rev {
		m.pending = 0
	}
	return nil
}

func waitBootstraps(t *testing.T, b *slowBootstrap, n int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.n.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d bootstraps, want %d", b.n.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// POST /v2/bootstrap asks the leader's catalog loop through the store; it
// bootstraps in its own goroutine, one at a time (asks while one runs make
// one more), and stops with the daemon: no bootstrap outlives it.
func TestCatalogLoop(t *testing.T) {
	b := &slowBootstrap{release: make(chan struct{})}
	req := newMemRequests()
	c := newCatalogLoop(b, req, catalogSettings{}, slog.New(slog.DiscardHandler))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	time.Sleep(20 * time.Millisecond)
	if n := b.n.Load(); n != 0 {
		t.Fatalf("%d bootstraps before any was asked for", n)
	}
	c.request(context.Background())
	waitBootstraps(t, b, 1)
	for range 3 {
		c.request(context.Background()) // while the first runs: coalesced
	}
	b.release <- struct{}{}
	waitBootstraps(t, b, 2)
	b.release <- struct{}{}
	time.Sleep(50 * time.Millisecond)
	if n := b.n.Load(); n != 2 {
		t.Fatalf("%d bootstraps, want 2: asks made while one ran are served by one more", n)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		p, _ := req.PendingBootstrap(ctx)
		if p == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %d still pending after it was served", p)
		}
	}
	c.request(context.Background())
	waitBootstraps(t, b, 3)
	c.request(context.Background()) // pending when the daemon stops
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the catalog loop did not stop with a bootstrap in progress")
	}
	b.stopped.Store(true)
	time.Sleep(50 * time.Millisecond)
	if b.after.Load() {
		t.Error("a bootstrap ran after the loop stopped")
	}
	if p, _ := req.PendingBootstrap(ctx); p == 0 {
		t.Error("the request pending at stop was dropped: the next leader must serve it")
	}
	if !c.NeedLeaderElection() {
		t.Error("the catalog loop must run on the leader only")
	}
}

// A replica that takes the lead serves what was asked while none led and,
// with bootstrap_on_startup, bootstraps once unless it did at start.
func TestCatalogLoopTakingTheLead(t *testing.T) {
	cases := []struct {
		name                 string
		onStartup, bootedNow bool
		asked                bool
		want                 int32
	}{
		{"nothing to do", false, false, false, 0},
		{"asked while none led", false, false, true, 1},
		{"bootstrap_on_startup", true, false, false, 1},
		{"bootstrap_on_startup, done at start", true, true, false, 0},
		{"bootstrap_on_startup and asked", true, false, true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &slowBootstrap{release: make(chan struct{})}
			close(b.release)
			req := newMemRequests()
			if tc.asked {
				req.RequestBootstrap(context.Background())
			}
			c := newCatalogLoop(b, req, catalogSettings{onStartup: tc.onStartup}, slog.New(slog.DiscardHandler))
			if tc.bootedNow {
				c.bootstrapped()
			}
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Start(ctx) }()
			waitBootstraps(t, b, tc.want)
			time.Sleep(50 * time.Millisecond)
			stop()
			<-done
			if n := b.n.Load(); n != tc.want {
				t.Errorf("%d bootstraps, want %d", n, tc.want)
			}
			// Leading again later: bootstrap_on_startup is spent.
			ctx, stop = context.WithCancel(context.Background())
			go func() { done <- c.Start(ctx) }()
			time.Sleep(50 * time.Millisecond)
			stop()
			<-done
			if n := b.n.Load(); n != tc.want {
				t.Errorf("%d bootstraps after leading again, want %d", n, tc.want)
			}
		})
	}
}

// fakeStore records Maintain calls; its NoSpace channel is the test's.
type fakeStore struct {
	calls   chan int64
	rev     atomic.Int64
	noSpace chan struct{}
}

func (f *fakeStore) Maintain(_ context.Context, keepFrom int64) (store.MaintainResult, error) {
	rev := f.rev.Add(10)
	f.calls <- keepFrom
	return store.MaintainResult{Before: store.Usage{Revision: rev}}, nil
}

func (f *fakeStore) NoSpace() <-chan struct{} { return f.noSpace }

type countPrune struct{ n atomic.Int32 }

func (c *countPrune) Prune(context.Context) (broker.PruneResult, error) {
	c.n.Add(1)
	return broker.PruneResult{}, nil
}

// Maintenance runs at start, then every interval, each pass compacting up
// to where the previous one found the store (none at the first), and at
// once when etcd is full; it is the leader's work and stops with the
// daemon.
func TestMaintenance(t *testing.T) {
	st := &fakeStore{calls: make(chan int64, 10), noSpace: make(chan struct{}, 1)}
	p := &countPrune{}
	r := maintenance(p, st, 200*time.Millisecond, slog.New(slog.DiscardHandler))
	if l, ok := r.(manager.LeaderElectionRunnable); !ok || !l.NeedLeaderElection() {
		t.Fatal("maintenance must run on the leader only")
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	next := func(within time.Duration) int64 {
		t.Helper()
		select {
		case k := <-st.calls:
			return k
		case <-time.After(within):
			t.Fatalf("no maintenance pass within %s", within)
		}
		return 0
	}
	if k := next(time.Second); k != 0 {
		t.Errorf("first pass compacts to %d, want nothing (0)", k)
	}
	if k := next(time.Second); k != 10 {
		t.Errorf("periodic pass compacts to %d, want the revision the previous pass found (10)", k)
	}
	// Full: at once, not at the next tick.
	start := time.Now()
	st.noSpace <- struct{}{}
	next(150 * time.Millisecond)
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("the pass for a full store came after %s", d)
	}
	if p.n.Load() < 3 {
		t.Errorf("%d prunes for 3 passes", p.n.Load())
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("maintenance stopped with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("maintenance did not stop")
	}
}
