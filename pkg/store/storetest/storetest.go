package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// Case is one behaviour of a store.
type Case struct {
	Name string
	// Run checks it on s; id makes ids unique to the case, so that cases
	// share one store.
	Run func(t *testing.T, s store.Backend, id func(string) string)
}

// Run runs every case against the store open returns (one store for all).
func Run(t *testing.T, s store.Backend) {
	for i, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			prefix := fmt.Sprintf("st%d-%d-", i, time.Now().UnixNano()%1e6)
			defer func() {
				if r := recover(); r != nil {
					f, ok := r.(failure)
					if !ok {
						panic(r)
					}
					t.Fatalf("unexpected error: %v", f.err)
				}
			}()
			c.Run(t, s, func(n string) string { return prefix + n })
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// failure is a must that failed; Run turns it into t.Fatal.
type failure struct{ err error }

// must returns v, or ends the case with err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(failure{err})
	}
	return v
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func spec(id string) *apb.Spec {
	max := 10.0
	return &apb.Spec{ID: id, FQName: "local-" + id, Name: id, Image: "local/" + id + ":latest", Version: "1.0", Runtime: 2,
		Async: "optional", Bindable: true, Description: "test bundle", Tags: []string{"a", "b"},
		Metadata: map[string]any{"displayName": "Test"},
		Plans: []apb.Plan{{ID: apb.PlanID("local-"+id, "default"), Name: "default", Description: "d", Free: true,
			Parameters: []apb.Parameter{{Name: "size", Title: "Size", Type: "int", Default: 3.0, Maximum: &max, Updatable: true}}}}}
}

func instance(id, specID string) *store.ServiceInstance {
	sp := spec(specID)
	return &store.ServiceInstance{ID: id, Spec: sp,
		Context:    map[string]any{"platform": "kubernetes", "namespace": "ns1"},
		Parameters: map[string]any{"_apb_plan_id": "default", "size": 3.0}, BindingIDs: map[string]bool{},
		ServiceID: apb.ServiceID(sp.FQName), PlanID: sp.Plans[0].ID, UserParameters: map[string]any{"size": 3.0},
		Status: store.StatusReady}
}

func job(iid, bid, token, method, state string, at time.Time) *store.Job {
	return &store.Job{Token: token, State: state, Method: method, InstanceID: iid, BindingID: bid,
		Description: method + " " + state, CreatedAt: at, UpdatedAt: at}
}

// Cases are the suite.
var Cases = []Case{
	{"instance CRUD", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		in := instance(id("i"), id("sp"))
		rev := must(s.Commit(c, store.PutInstance(in)))
		got := must(s.GetInstance(c, in.ID))
		if got.Revision != rev || got.ID != in.ID || got.Spec == nil || got.Spec.FQName != in.Spec.FQName ||
			got.Context["namespace"] != "ns1" || got.Parameters["size"] != 3.0 || got.PlanID != in.PlanID ||
			got.ServiceID != in.ServiceID || got.Status != store.StatusReady || len(got.Spec.Plans[0].Parameters) != 1 {
			t.Fatalf("read back %+v (rev %d, want %d)", got, got.Revision, rev)
		}
		got.BindingIDs["b1"] = true
		got.Status = store.StatusProvisioning
		rev2 := must(s.Commit(c, store.PutInstance(got)))
		if rev2 == rev {
			t.Fatal("an update kept the revision")
		}
		again := must(s.GetInstance(c, in.ID))
		if again.Revision != rev2 || !again.BindingIDs["b1"] || again.Status != store.StatusProvisioning {
			t.Fatalf("after update: %+v", again)
		}
		must(s.Commit(c, store.DeleteInstance(again)))
		_, err := s.GetInstance(c, in.ID)
		wantErr(t, "get after delete", err, store.ErrNotFound)
	}},
	{"compare-and-swap conflicts", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		in := instance(id("i"), id("sp"))
		must(s.Commit(c, store.PutInstance(in)))
		_, err := s.Commit(c, store.PutInstance(instance(in.ID, id("sp"))))
		wantErr(t, "second create", err, store.ErrConflict)
		cur := must(s.GetInstance(c, in.ID))
		stale := *cur
		cur.Status = store.StatusFailed
		must(s.Commit(c, store.PutInstance(cur)))
		stale.Status = store.StatusDeprovisioning
		_, err = s.Commit(c, store.PutInstance(&stale))
		wantErr(t, "stale update", err, store.ErrConflict)
		_, err = s.Commit(c, store.DeleteInstance(&stale))
		wantErr(t, "stale delete", err, store.ErrConflict)
		if got := must(s.GetInstance(c, in.ID)); got.Status != store.StatusFailed {
			t.Fatalf("a failed compare changed the record: %s", got.Status)
		}
		gone := instance(id("absent"), id("sp"))
		gone.Revision = 42
		_, err = s.Commit(c, store.DeleteInstance(gone))
		wantErr(t, "delete of an absent record at a revision", err, store.ErrConflict)
	}},
	{"a failed compare writes nothing of the commit", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		in := instance(id("i"), id("sp"))
		must(s.Commit(c, store.PutInstance(in)))
		cur := must(s.GetInstance(c, in.ID))
		b := &store.BindInstance{ID: id("b"), InstanceID: in.ID, Status: store.StatusReady}
		must(s.Commit(c, store.PutBinding(b)))
		// The instance change is fine, the binding create loses: neither
		// is written, whichever the store writes first.
		next := *cur
		next.BindingIDs = map[string]bool{b.ID: true}
		_, err := s.Commit(c, store.PutInstance(&next), store.PutBinding(&store.BindInstance{ID: b.ID, InstanceID: in.ID}),
			store.PutJob(job(in.ID, b.ID, id("t1"), "bind", store.JobNotStarted, time.Now().UTC())),
			store.PutCredentials(b.ID, map[string]any{"pw": "x"}))
		wantErr(t, "commit with one lost compare", err, store.ErrConflict)
		after := must(s.GetInstance(c, in.ID))
		if after.Revision != cur.Revision || after.BindingIDs[b.ID] {
			t.Fatalf("the instance changed: rev %d -> %d, bindings %v", cur.Revision, after.Revision, after.BindingIDs)
		}
		_, err = s.GetJob(c, b.ID, id("t1"))
		wantErr(t, "job of the lost commit", err, store.ErrNotFound)
		_, err = s.GetCredentials(c, b.ID)
		wantErr(t, "credentials of the lost commit", err, store.ErrNotFound)
		// And the other order: the binding's compare holds, the instance's not.
		stale := *cur
		stale.Revision++
		_, err = s.Commit(c, store.PutBinding(&store.BindInstance{ID: id("b2"), InstanceID: in.ID}), store.PutInstance(&stale))
		wantErr(t, "commit with a stale instance", err, store.ErrConflict)
		_, err = s.GetBinding(c, id("b2"))
		wantErr(t, "binding of the lost commit", err, store.ErrNotFound)
	}},
	{"not found", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		_, err := s.GetInstance(c, id("none"))
		wantErr(t, "instance", err, store.ErrNotFound)
		_, err = s.GetBinding(c, id("none"))
		wantErr(t, "binding", err, store.ErrNotFound)
		_, err = s.GetCredentials(c, id("none"))
		wantErr(t, "credentials", err, store.ErrNotFound)
		_, err = s.GetJob(c, id("none"), "tok")
		wantErr(t, "job", err, store.ErrNotFound)
		if js := must(s.InstanceJobs(c, id("none"))); len(js) != 0 {
			t.Fatalf("jobs of nothing: %v", js)
		}
		// A job record alone makes no instance or binding.
		must(s.Commit(c, store.PutJob(job(id("lone"), "", "t", "provision", store.JobFailed, time.Now().UTC()))))
		_, err = s.GetInstance(c, id("lone"))
		wantErr(t, "instance of a lone job", err, store.ErrNotFound)
		must(s.Commit(c, store.PutJob(job(id("i"), id("lone-b"), "t", "bind", store.JobFailed, time.Now().UTC()))))
		_, err = s.GetBinding(c, id("lone-b"))
		wantErr(t, "binding of a lone job", err, store.ErrNotFound)
		for _, in := range must(s.ListInstances(c)) {
			if in.ID == id("lone") {
				t.Fatal("ListInstances lists the instance of a lone job")
			}
		}
		// Deleting what is not there unconditionally is no error.
		must(s.Commit(c, store.DeleteCredentials(id("none")), store.DeleteSpec(id("none"))))
	}},
	{"job records", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		in := instance(id("i"), id("sp"))
		t0 := time.Now().UTC().Truncate(time.Second)
		j1 := job(in.ID, "", id("t1"), "provision", store.JobNotStarted, t0)
		j1.Parameters, j1.PlanID, j1.User = map[string]any{"size": 3.0}, in.PlanID, "alice"
		rev := must(s.Commit(c, store.PutInstance(in), store.PutJob(j1)))
		got := must(s.GetJob(c, in.ID, j1.Token))
		if got.Revision != rev || got.State != store.JobNotStarted || got.InstanceID != in.ID || got.ForBinding() ||
			got.User != "alice" || got.Parameters["size"] != 3.0 || !got.CreatedAt.Equal(t0) {
			t.Fatalf("job read back %+v (rev %d want %d)", got, got.Revision, rev)
		}
		// An update of the job leaves the instance's revision alone, and
		// the instance's compare still holds.
		cin := must(s.GetInstance(c, in.ID))
		next := *got
		next.State = store.JobInProgress
		r2 := must(s.Commit(c, store.PutJob(&next)))
		stale := *got
		stale.State = store.JobFailed
		_, err := s.Commit(c, store.PutJob(&stale))
		wantErr(t, "stale job update", err, store.ErrConflict)
		cin.Status = store.StatusProvisioning
		must(s.Commit(c, store.PutInstance(cin)))
		// Binding jobs are the binding's.
		bj := job(in.ID, id("b"), id("t2"), "bind", store.JobInProgress, t0.Add(time.Second))
		must(s.Commit(c, store.PutBinding(&store.BindInstance{ID: id("b"), InstanceID: in.ID}), store.PutJob(bj)))
		if js := must(s.BindingJobs(c, id("b"))); len(js) != 1 || js[0].Token != bj.Token || !js[0].ForBinding() {
			t.Fatalf("binding jobs %+v", js)
		}
		if js := must(s.InstanceJobs(c, in.ID)); len(js) != 1 || js[0].Token != j1.Token || js[0].Revision != r2 {
			t.Fatalf("instance jobs %+v", js)
		}
		open := must(s.UnfinishedJobs(c))
		if !hasJob(open, j1.Token) || !hasJob(open, bj.Token) {
			t.Fatalf("unfinished jobs lack ours: %d jobs", len(open))
		}
		// A deprovision's outcome: the instance goes, its job stays.
		cur := must(s.GetInstance(c, in.ID))
		dj := job(in.ID, "", id("t3"), "deprovision", store.JobInProgress, t0.Add(2*time.Second))
		must(s.Commit(c, store.PutJob(dj)))
		done := must(s.GetJob(c, in.ID, dj.Token))
		done.State = store.JobSucceeded
		must(s.Commit(c, store.PutJob(done), store.DeleteInstance(cur)))
		_, err = s.GetInstance(c, in.ID)
		wantErr(t, "deprovisioned instance", err, store.ErrNotFound)
		if got := must(s.GetJob(c, in.ID, dj.Token)); got.State != store.JobSucceeded {
			t.Fatalf("deprovision job after the instance went: %+v", got)
		}
		js := must(s.InstanceJobs(c, in.ID))
		if len(js) != 2 || js[0].Token != j1.Token || js[1].Token != dj.Token {
			t.Fatalf("jobs oldest first: %v", tokens(js))
		}
		ix := must(s.ReadIndex(c))
		if ix.Instances[in.ID] || !ix.Bindings[id("b")] || !hasJob(ix.Jobs, dj.Token) {
			t.Fatalf("index: instance %v binding %v", ix.Instances[in.ID], ix.Bindings[id("b")])
		}
		// Pruning deletes job records by key.
		must(s.Commit(c, store.DeleteJob(js[0]), store.DeleteJob(js[1])))
		_, err = s.GetJob(c, in.ID, dj.Token)
		wantErr(t, "pruned job", err, store.ErrNotFound)
		if js := must(s.InstanceJobs(c, in.ID)); len(js) != 0 {
			t.Fatalf("jobs after pruning: %v", tokens(js))
		}
		if js := must(s.BindingJobs(c, id("b"))); len(js) != 1 {
			t.Fatalf("pruning an instance's jobs reached the binding's: %v", tokens(js))
		}
	}},
	{"listing", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		var ops []store.Op
		for i := range 3 {
			in := instance(id(fmt.Sprint("i", i)), id("sp"))
			ops = append(ops, store.PutInstance(in), store.PutBinding(&store.BindInstance{ID: id(fmt.Sprint("b", i)), InstanceID: in.ID,
				Parameters: map[string]any{"x": "y"}, CreateJobKey: store.JobKey(id(fmt.Sprint("b", i)), "tok")}))
		}
		ops = append(ops, store.PutSpec(spec(id("sp"))))
		must(s.Commit(c, ops...))
		ins := must(s.ListInstances(c))
		n := 0
		for _, in := range ins {
			if in.Spec != nil && in.Spec.ID == id("sp") {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("listed %d of the 3 instances", n)
		}
		bs := must(s.ListBindings(c))
		n = 0
		for _, b := range bs {
			for i := range 3 {
				if b.ID == id(fmt.Sprint("b", i)) && b.InstanceID == id(fmt.Sprint("i", i)) && b.Parameters["x"] == "y" &&
					b.CreateJobKey == store.JobKey(b.ID, "tok") {
					n++
				}
			}
		}
		if n != 3 {
			t.Fatalf("listed %d of the 3 bindings", n)
		}
		ids := must(s.InstanceSpecIDs(c))
		if !ids[id("sp")] {
			t.Fatal("InstanceSpecIDs lacks the spec")
		}
		sps := must(s.ListSpecs(c))
		found := false
		for _, sp := range sps {
			if sp.ID == id("sp") {
				found = sp.FQName == "local-"+id("sp") && len(sp.Plans) == 1 && sp.Plans[0].Parameters[0].Default == 3.0 &&
					*sp.Plans[0].Parameters[0].Maximum == 10 && sp.Metadata["displayName"] == "Test"
			}
		}
		if !found {
			t.Fatal("ListSpecs lacks the spec or changed it")
		}
		must(s.Commit(c, store.DeleteSpec(id("sp"))))
		for _, sp := range must(s.ListSpecs(c)) {
			if sp.ID == id("sp") {
				t.Fatal("deleted spec still listed")
			}
		}
	}},
	{"concurrent mutations of one instance", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		in := instance(id("i"), id("sp"))
		in.Parameters["n"] = 0.0
		must(s.Commit(c, store.PutInstance(in)))
		const writers, each = 4, 3
		var wg sync.WaitGroup
		errs := make(chan error, writers*each*2)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range each {
					// Each increment is a read, a change, a CAS; a job
					// of the instance is written meanwhile.
					j := job(in.ID, "", id(fmt.Sprintf("w%d-%d", w, k)), "update", store.JobInProgress, time.Now().UTC())
					if _, err := s.Commit(c, store.PutJob(j)); err != nil {
						errs <- err
						return
					}
					for attempt := 0; ; attempt++ {
						cur, err := s.GetInstance(c, in.ID)
						if err != nil {
							errs <- err
							return
						}
						cur.Parameters["n"] = cur.Parameters["n"].(float64) + 1
						_, err = s.Commit(c, store.PutInstance(cur))
						if err == nil {
							break
						}
						if !errors.Is(err, store.ErrConflict) || attempt > 200 {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := must(s.GetInstance(c, in.ID))
		if got.Parameters["n"] != float64(writers*each) {
			t.Fatalf("n = %v after %d increments: an update was lost", got.Parameters["n"], writers*each)
		}
		if js := must(s.InstanceJobs(c, in.ID)); len(js) != writers*each {
			t.Fatalf("%d jobs, want %d", len(js), writers*each)
		}
	}},
	{"one winner among concurrent creates", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		const n = 5
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := instance(id("i"), id("sp"))
				in.Operation = fmt.Sprint("op", i)
				_, errs[i] = s.Commit(c, store.PutInstance(in), store.PutJob(job(in.ID, "", in.Operation, "provision", store.JobNotStarted, time.Now().UTC())))
			}()
		}
		wg.Wait()
		wins := 0
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				winner = fmt.Sprint("op", i)
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("create %d: %v", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d creates won", wins)
		}
		js := must(s.InstanceJobs(c, id("i")))
		if got := must(s.GetInstance(c, id("i"))); got.Operation != winner || len(js) != 1 || js[0].Token != winner {
			t.Fatalf("winner %s, instance operation %s, jobs %v", winner, got.Operation, tokens(js))
		}
	}},
	{"credentials", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		must(s.Commit(c, store.PutCredentials(id("i"), map[string]any{"user": "u", "password": "p", "port": 5432.0})))
		got := must(s.GetCredentials(c, id("i")))
		if got.Credentials["password"] != "p" || got.Credentials["port"] != 5432.0 {
			t.Fatalf("credentials %v", got.Credentials)
		}
		must(s.Commit(c, store.PutCredentials(id("i"), map[string]any{"user": "v"})))
		if got := must(s.GetCredentials(c, id("i"))); got.Credentials["user"] != "v" || got.Credentials["password"] != nil {
			t.Fatalf("overwritten credentials %v", got.Credentials)
		}
		must(s.Commit(c, store.DeleteCredentials(id("i"))))
		_, err := s.GetCredentials(c, id("i"))
		wantErr(t, "deleted credentials", err, store.ErrNotFound)
	}},
	{"ids of any text", func(t *testing.T, s store.Backend, id func(string) string) {
		c := ctx(t)
		a, b := id("Ünïcode id/with slashes"), id("Ünïcode id/with slashes/job/x")
		must(s.Commit(c, store.PutInstance(instance(a, id("sp"))), store.PutJob(job(a, "", "t/1", "provision", store.JobNotStarted, time.Now().UTC()))))
		_, err := s.GetInstance(c, b)
		wantErr(t, "another id", err, store.ErrNotFound)
		if got := must(s.GetInstance(c, a)); got.ID != a {
			t.Fatalf("id %q read back as %q", a, got.ID)
		}
		if got := must(s.GetJob(c, a, "t/1")); got.InstanceID != a {
			t.Fatalf("job of %q filed under %q", a, got.InstanceID)
		}
		ix := must(s.ReadIndex(c))
		if !ix.Instances[a] || ix.Instances[b] {
			t.Fatalf("index ids: %v %v", ix.Instances[a], ix.Instances[b])
		}
	}},
	{"health and broker id", func(t *testing.T, s store.Backend, _ func(string) string) {
		c := ctx(t)
		if err := s.Healthy(c); err != nil {
			t.Fatal(err)
		}
		a := must(s.BrokerID(c))
		if b := must(s.BrokerID(c)); a == "" || a != b {
			t.Fatalf("broker ids %q, %q", a, b)
		}
	}},
}

func hasJob(js []*store.Job, token string) bool {
	return slices.ContainsFunc(js, func(j *store.Job) bool { return j.Token == token })
}

func tokens(js []*store.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Token)
	}
	return out
}
