package daemon

import (
	"context"
	"testing"
	"time"
)

// A broker alone on a store without replicas leads at once and for good,
// and a bootstrap asked while one runs is not lost.
func TestSolo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSolo()
	if lead, _ := s.TryLead(ctx); !lead {
		t.Fatal("a solo broker does not lead")
	}
	lost, err := s.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
		t.Fatal("leadership lost")
	default:
	}
	for name, c := range map[string]<-chan struct{}{"departures": s.Departures(ctx), "catalog": s.CatalogChanges(ctx)} {
		select {
		case <-c:
		default:
			t.Errorf("%s: no first signal", name)
		}
	}

	req := s.BootstrapRequests(ctx)
	<-req // the first signal
	if rev, _ := s.PendingBootstrap(ctx); rev != 0 {
		t.Fatalf("pending %d before any request", rev)
	}
	s.RequestBootstrap(ctx)
	select {
	case <-req:
	case <-time.After(time.Second):
		t.Fatal("a request did not signal")
	}
	rev, _ := s.PendingBootstrap(ctx)
	s.RequestBootstrap(ctx) // asked again while the first is served
	s.BootstrapServed(ctx, rev)
	if again, _ := s.PendingBootstrap(ctx); again == 0 {
		t.Fatal("the second request was dropped by serving the first")
	}
	again, _ := s.PendingBootstrap(ctx)
	s.BootstrapServed(ctx, again)
	if left, _ := s.PendingBootstrap(ctx); left != 0 {
		t.Fatalf("pending %d after serving every request", left)
	}
}
