package daemon

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
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
