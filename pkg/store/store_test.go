package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{DataDir: dir}, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestInstanceCompareAndSwap(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()

	in := &ServiceInstance{ID: "i-1", Status: StatusProvisioning, Spec: &apb.Spec{ID: "sp"}}
	rev, err := s.Commit(ctx, PutInstance(in))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// A second create of the same id must lose.
	if _, err := s.Commit(ctx, PutInstance(&ServiceInstance{ID: "i-1"})); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: got %v, want ErrConflict", err)
	}
	got, err := s.GetInstance(ctx, "i-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != rev || got.Status != StatusProvisioning || got.Spec.ID != "sp" {
		t.Fatalf("read back %+v (rev %d), want rev %d", got, got.Revision, rev)
	}
	// Two writers with the same read: exactly one wins.
	a, b := *got, *got
	a.Status, b.Status = StatusReady, StatusFailed
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, w := range []*ServiceInstance{&a, &b} {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = s.Commit(ctx, PutInstance(w)) }()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrConflict):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want 1", wins)
	}
	// A failed compare writes nothing at all, not even the other ops.
	stale := *got
	if _, err := s.Commit(ctx, PutInstance(&stale), PutCredentials("i-1", map[string]any{"x": 1})); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale write: %v", err)
	}
	if _, err := s.GetCredentials(ctx, "i-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("credentials written by a failed transaction: %v", err)
	}
	if _, err := s.GetInstance(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing instance: %v", err)
	}
}

func TestJobsAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	now := time.Now()
	jobs := []*Job{
		{Token: "t1", State: JobSucceeded, Method: "provision", InstanceID: "i", CreatedAt: now},
		{Token: "t2", State: JobInProgress, Method: "update", InstanceID: "i", CreatedAt: now.Add(time.Second)},
		{Token: "t3", State: JobInProgress, Method: "bind", InstanceID: "i", BindingID: "b", CreatedAt: now.Add(2 * time.Second)},
	}
	for _, j := range jobs {
		if _, err := s.Commit(ctx, PutJob(j)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	// State survives a restart of the embedded etcd on the same directory.
	s = openTest(t, dir)
	defer s.Close()
	got, err := s.Jobs(ctx, "i")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Token != "t1" || got[1].Token != "t2" {
		t.Fatalf("Jobs(i) = %v", got)
	}
	open, err := s.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 || open[0].Token != "t2" || open[1].Token != "t3" || open[1].ResourceID() != "b" {
		t.Fatalf("UnfinishedJobs = %+v", open)
	}
	if _, err := s.Commit(ctx, DeleteJobs("i")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Jobs(ctx, "i"); len(got) != 0 {
		t.Fatalf("jobs left after DeleteJobs: %v", got)
	}
	if got, _ := s.Jobs(ctx, "b"); len(got) != 1 {
		t.Fatalf("DeleteJobs(i) touched another resource: %v", got)
	}
}

func TestUnavailableAfterClose(t *testing.T) {
	s := openTest(t, t.TempDir())
	s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Healthy(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Healthy on a closed store: %v, want ErrUnavailable", err)
	}
}

// The broker id is made once: concurrent first calls agree, and it
// survives a restart of the store.
func TestBrokerIDStable(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.BrokerID(ctx)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || len(id) != len("osb-")+24 {
			t.Fatalf("broker ids %q: want one id of the form osb-<24 hex>", ids)
		}
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if id, err := s.BrokerID(ctx); err != nil || id != ids[0] {
		t.Fatalf("after restart: %q, %v; want %q", id, err, ids[0])
	}
}

// The Automation Broker's key layout, which imported state and the
// bindings' CreateJobKey depend on.
func TestKeys(t *testing.T) {
	cases := []struct{ got, want string }{
		{JobKey("b-1", "tok"), "/state/b-1/job/tok"},
		{PutJob(&Job{InstanceID: "i-1", Token: "t"}).key, "/state/i-1/job/t"},
		{PutJob(&Job{InstanceID: "i-1", BindingID: "b-1", Token: "t"}).key, "/state/b-1/job/t"},
		{PutInstance(&ServiceInstance{ID: "i-1"}).key, "/service_instance/i-1"},
		{PutBinding(&BindInstance{ID: "b-1"}).key, "/bind_instance/b-1"},
		{PutCredentials("i-1", nil).key, "/extracted_credentials/i-1"},
		{PutSpec(&apb.Spec{ID: "s"}).key, "/spec/s"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("key %q, want %q", c.got, c.want)
		}
	}
}
