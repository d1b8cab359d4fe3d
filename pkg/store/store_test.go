package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	got, err := s.InstanceJobs(ctx, "i")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Token != "t1" || got[1].Token != "t2" {
		t.Fatalf("InstanceJobs(i) = %v", got)
	}
	open, err := s.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 || open[0].Token != "t2" || open[1].Token != "t3" || open[1].ResourceID() != "b" {
		t.Fatalf("UnfinishedJobs = %+v", open)
	}
	if _, err := s.Commit(ctx, DeleteJob(got[0]), DeleteJob(got[1])); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.InstanceJobs(ctx, "i"); len(got) != 0 {
		t.Fatalf("jobs left after DeleteJob: %v", got)
	}
	if got, _ := s.BindingJobs(ctx, "b"); len(got) != 1 {
		t.Fatalf("deleting i's jobs touched another resource: %v", got)
	}
}

// An instance and a binding of the same id file their jobs under the same
// prefix (the Automation Broker's layout): each sees only its own, the
// Automation Broker's records (no ids in the value) by their method.
func TestInstanceAndBindingOfOneID(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	for _, j := range []*Job{
		{Token: "p", State: JobSucceeded, Method: "provision", InstanceID: "x", CreatedAt: now},
		{Token: "b", State: JobSucceeded, Method: "bind", InstanceID: "other", BindingID: "x", CreatedAt: now.Add(1)},
	} {
		if _, err := s.Commit(ctx, PutJob(j)); err != nil {
			t.Fatal(err)
		}
	}
	// Automation Broker records: no instance_id or binding_id.
	if _, err := s.Commit(ctx, put(JobKey("x", "ab-upd"), map[string]string{"token": "ab-upd", "state": "succeeded", "method": "update"}),
		put(JobKey("x", "ab-unbind"), map[string]string{"token": "ab-unbind", "state": "in progress", "method": "unbind"})); err != nil {
		t.Fatal(err)
	}
	ij, _ := s.InstanceJobs(ctx, "x")
	bj, _ := s.BindingJobs(ctx, "x")
	if len(ij) != 2 || len(bj) != 2 {
		t.Fatalf("instance x's jobs %+v, binding x's %+v: want 2 each", ij, bj)
	}
	for _, j := range ij {
		if j.ForBinding() || j.InstanceID != "x" {
			t.Errorf("instance x got %+v", j)
		}
	}
	for _, j := range bj {
		if !j.ForBinding() || j.BindingID != "x" {
			t.Errorf("binding x got %+v", j)
		}
	}
	if j, err := s.GetJob(ctx, "x", "ab-unbind"); err != nil || j.BindingID != "x" {
		t.Errorf("GetJob of an Automation Broker unbind: %+v, %v", j, err)
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

// Ids are escaped into keys: what the Automation Broker stored (UUIDs,
// md5 spec ids, UUID tokens) keeps its key exactly; anything else is
// percent-encoded, one to one, without a "/".
func TestEscape(t *testing.T) {
	const uuid = "2f0c7c4e-6d2b-4d5a-9c1e-0f6c1b3a9e21"
	cases := []struct{ id, want string }{
		{uuid, uuid},
		{strings.ToUpper(uuid), strings.ToUpper(uuid)},
		{"0e5ed9ea5d4a9c9d3c0ed4f2bd8c2a1b", "0e5ed9ea5d4a9c9d3c0ed4f2bd8c2a1b"},
		{"a.b_c~d", "a.b_c~d"},
		{"col/job/zz", "col%2Fjob%2Fzz"},
		{"50%", "50%25"},
		{"%2F", "%252F"},
		{"nul\x00byte", "nul%00byte"},
		{"new\nline", "new%0Aline"},
		{"sp ace", "sp%20ace"},
		{"é", "%C3%A9"},
		{"", ""},
	}
	for _, c := range cases {
		got := escape(c.id)
		if got != c.want {
			t.Errorf("escape(%q) = %q, want %q", c.id, got, c.want)
		}
		if strings.Contains(got, "/") {
			t.Errorf("escape(%q) = %q holds a /", c.id, got)
		}
		back, err := unescape(got)
		if err != nil || back != c.id {
			t.Errorf("unescape(%q) = %q, %v; want %q", got, back, err, c.id)
		}
	}
	for _, bad := range []string{"a/b", "50%", "%G0", "%2"} {
		if _, err := unescape(bad); err == nil {
			t.Errorf("unescape(%q) accepted what escape cannot make", bad)
		}
	}
	// The Automation Broker's keys for UUID ids, byte for byte.
	if got := JobKey(uuid, uuid); got != "/state/"+uuid+"/job/"+uuid {
		t.Errorf("JobKey of UUIDs = %q", got)
	}
	if got := PutInstance(&ServiceInstance{ID: uuid}).key; got != "/service_instance/"+uuid {
		t.Errorf("instance key of a UUID = %q", got)
	}
	for _, key := range []string{"/state/col%2Fjob%2Fzz/job/t", "/state/" + uuid + "/job/" + uuid} {
		id, tok, err := parseJobKey(key)
		if err != nil || escape(id) != strings.Split(key, "/")[2] || escape(tok) != strings.Split(key, "/")[4] {
			t.Errorf("parseJobKey(%q) = %q, %q, %v", key, id, tok, err)
		}
	}
	for _, key := range []string{"/state/col/job/zz/job/t", "/state//job/t", "/state/x/job/", "/state/x/jobs/t", "/spec/x"} {
		if _, _, err := parseJobKey(key); err == nil {
			t.Errorf("parseJobKey(%q) accepted a key escape cannot make", key)
		}
	}
}

// An instance named to reach into another's records (the attack of issue
// 12: "col/job/zz" showed in instance col's operations, and deleting col's
// jobs deleted every id starting with "col/") reaches nothing but its own.
func TestIDsCannotReachEachOther(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	ids := []string{"col", "col/job/zz", "col/", "col%2Fjob%2Fzz", "co", "nul\x00", "line\n", strings.Repeat("x", 1000)}
	now := time.Now()
	for i, id := range ids {
		j := &Job{Token: "zz", State: JobSucceeded, Method: "provision", InstanceID: id, CreatedAt: now.Add(time.Duration(i))}
		in := &ServiceInstance{ID: id, Parameters: map[string]any{"who": id}}
		if _, err := s.Commit(ctx, PutInstance(in), PutJob(j), PutCredentials(id, map[string]any{"who": id})); err != nil {
			t.Fatalf("storing %q: %v", id, err)
		}
	}
	for _, id := range ids {
		js, err := s.InstanceJobs(ctx, id)
		if err != nil || len(js) != 1 || js[0].InstanceID != id {
			t.Errorf("Jobs(%q) = %+v, %v; want its one job", id, js, err)
		}
		if in, err := s.GetInstance(ctx, id); err != nil || in.Parameters["who"] != id {
			t.Errorf("GetInstance(%q) = %+v, %v", id, in, err)
		}
	}
	// "col"'s job zz is not "col/job/zz"'s record, and the other way round.
	if j, err := s.GetJob(ctx, "col", "zz"); err != nil || j.InstanceID != "col" {
		t.Errorf("GetJob(col, zz) = %+v, %v", j, err)
	}
	all, err := s.ListJobs(ctx)
	if err != nil || len(all) != len(ids) {
		t.Fatalf("ListJobs = %d jobs, %v; want %d", len(all), err, len(ids))
	}
	for i, j := range all {
		if j.ResourceID() != ids[i] {
			t.Errorf("ListJobs[%d] is filed under %q, want %q", i, j.ResourceID(), ids[i])
		}
	}
	// Deleting one id's jobs and records leaves every other id's alone.
	cols, _ := s.InstanceJobs(ctx, "col")
	if _, err := s.Commit(ctx, DeleteJob(cols[0]), DeleteCredentials("col")); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[1:] {
		if js, _ := s.InstanceJobs(ctx, id); len(js) != 1 {
			t.Errorf("deleting col's jobs took %q's: %v", id, js)
		}
		if _, err := s.GetCredentials(ctx, id); err != nil {
			t.Errorf("deleting col's credentials took %q's: %v", id, err)
		}
	}
	if js, _ := s.InstanceJobs(ctx, "col"); len(js) != 0 {
		t.Errorf("col's jobs survived: %v", js)
	}
}

// InstanceSpecIDs reads instances page by page: all of them, each once.
func TestInstanceSpecIDsPages(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	var ops []Op
	n := 2*scanPage + 7
	for i := range n {
		ops = append(ops, PutInstance(&ServiceInstance{ID: fmt.Sprintf("i-%04d", i), Spec: &apb.Spec{ID: fmt.Sprintf("spec-%d", i%5)}}))
	}
	ops = append(ops, PutInstance(&ServiceInstance{ID: "no-spec"}))
	if err := s.CommitBatched(ctx, ops); err != nil {
		t.Fatal(err)
	}
	seen := 0
	if err := s.scan(ctx, prefixInstance, func(string, []byte) error { seen++; return nil }); err != nil || seen != n+1 {
		t.Fatalf("scan saw %d records (%v), want %d", seen, err, n+1)
	}
	ids, err := s.InstanceSpecIDs(ctx)
	if err != nil || len(ids) != 5 || !ids["spec-0"] || !ids["spec-4"] {
		t.Fatalf("InstanceSpecIDs = %v, %v", ids, err)
	}
}
