package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A client that keeps rewriting one record fills etcd with history until
// the quota refuses writes (ErrNoSpace, never ErrUnavailable, and the
// NoSpace signal fires); reads and deletes still work; one Maintain pass
// compacts, defragments and lifts the alarm, and writes work again, all
// without a restart.
func TestNoSpaceRecoversWithoutRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const quota = 2 << 20
	s, err := Open(ctx, Config{DataDir: t.TempDir(), QuotaBytes: quota}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Commit(ctx, PutInstance(&ServiceInstance{ID: "live"})); err != nil {
		t.Fatal(err)
	}
	blob := strings.Repeat("x", 64<<10)
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		_, full = s.Commit(ctx, PutCredentials("churn", map[string]any{"blob": blob, "i": i}))
	}
	if !errors.Is(full, ErrNoSpace) {
		t.Fatalf("after filling the quota: %v, want ErrNoSpace", full)
	}
	select {
	case <-s.NoSpace():
	default:
		t.Fatal("no NoSpace signal after a refused write")
	}
	u, err := s.Usage(ctx)
	if err != nil || !u.NoSpace || u.Quota != quota {
		t.Fatalf("usage when full: %+v, %v", u, err)
	}
	if _, err := s.GetInstance(ctx, "live"); err != nil {
		t.Fatalf("read while full: %v", err)
	}
	if _, err := s.Commit(ctx, PutInstance(&ServiceInstance{ID: "new"})); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("write while full: %v, want ErrNoSpace", err)
	}

	r, err := s.Maintain(ctx, 0)
	if err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	if r.CompactedTo == 0 || !r.Defragmented || !r.Disarmed || r.After.NoSpace || r.After.DBSize >= r.Before.DBSize {
		t.Fatalf("Maintain on a full store: %+v", r)
	}
	if _, err := s.Commit(ctx, PutInstance(&ServiceInstance{ID: "new"})); err != nil {
		t.Fatalf("write after maintenance: %v", err)
	}
	if c, err := s.GetCredentials(ctx, "churn"); err != nil || c.Credentials["blob"] != blob {
		t.Fatalf("the live value after compaction: %v", err)
	}
}

// Maintain keeps the history since keepFrom and defragments only when
// that frees enough.
func TestMaintainKeepsRecentHistory(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	r, err := s.Maintain(ctx, 0)
	if err != nil || r.CompactedTo != 0 || r.Defragmented {
		t.Fatalf("first pass (nothing to keep from): %+v, %v", r, err)
	}
	keep := r.Before.Revision
	for i := range 5 {
		if _, err := s.Commit(ctx, PutCredentials("c", map[string]any{"i": i})); err != nil {
			t.Fatal(err)
		}
	}
	r, err = s.Maintain(ctx, keep)
	if err != nil || r.CompactedTo != keep {
		t.Fatalf("second pass: %+v, %v; want compacted to %d", r, err, keep)
	}
	if r.Defragmented {
		t.Errorf("defragmented a store with next to nothing to free: %+v", r)
	}
	// The revisions after keep are still readable.
	resp, err := s.cli.Get(ctx, credentialsKey("c"), clientv3.WithRev(keep+1))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("history after the kept revision: %v, %v", resp, err)
	}
}
