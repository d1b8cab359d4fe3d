package daemon

import (
	"context"
	"log/slog"
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

// POST /v2/bootstrap asks the catalog loop, which bootstraps in its own
// goroutine, one at a time (asks while one runs make one more), and
// stops with the daemon: no bootstrap outlives it.
func TestCatalogLoop(t *testing.T) {
	b := &slowBootstrap{release: make(chan struct{})}
	c := newCatalogLoop(b, 0, slog.New(slog.DiscardHandler))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	wait := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for b.n.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d bootstraps, want %d", b.n.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	c.request(context.Background())
	wait(1)
	for range 3 {
		c.request(context.Background()) // while the first runs: coalesced
	}
	b.release <- struct{}{}
	wait(2)
	time.Sleep(50 * time.Millisecond)
	if n := b.n.Load(); n != 2 {
		t.Fatalf("%d bootstraps, want 2: asks made while one ran are served by one more", n)
	}
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
	if !c.NeedLeaderElection() {
		t.Error("the catalog loop must run on the leader only")
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
