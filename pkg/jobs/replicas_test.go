package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// replicas is one replica's view: its identity and who is alive.
type replicas struct {
	id    string
	alive context.Context
	mu    sync.Mutex
	live  map[string]bool
}

func (r *replicas) Identity() (string, context.Context) { return r.id, r.alive }

func (r *replicas) Alive(context.Context) (map[string]bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for k, v := range r.live {
		out[k] = v
	}
	return out, nil
}

func newJob(token, owner string) *store.Job {
	return &store.Job{Token: token, Method: runtime.ActionProvision, InstanceID: "i-" + token, State: store.JobInProgress,
		Owner: owner, Description: "provision job queued", CreatedAt: time.Now()}
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

// Recover takes the jobs whose owner is gone, and only those: a live
// replica's jobs, this one's included, are left to it.
func TestRecoverOnlyWhenTheOwnerIsGone(t *testing.T) {
	cases := []struct {
		name      string
		owner     string
		running   bool // this engine runs it already
		wantTaken bool
	}{
		{"owner alive: left to it", "replica-b", false, false},
		{"owner gone: resumed", "replica-dead", false, true},
		{"no owner (an Automation Broker record): resumed", "", false, true},
		{"this replica's, alive: left alone", "replica-a", false, false},
		{"running here already: not started twice", "replica-dead", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMemStore()
			rt := &fakeRuntime{res: &runtime.Result{}}
			reps := &replicas{id: "replica-a", alive: context.Background(), live: map[string]bool{"replica-a": true, "replica-b": true}}
			e := New(Options{Store: m, Runtime: rt, Handler: &handler{}, Replicas: reps})
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			go e.Start(ctx)
			j := newJob("tok", c.owner)
			if _, err := m.Commit(ctx, store.PutJob(j)); err != nil {
				t.Fatal(err)
			}
			if c.running {
				e.mu.Lock()
				e.running["tok"] = true
				e.mu.Unlock()
			}
			n, err := e.Recover(ctx)
			if err != nil {
				t.Fatal(err)
			}
			e.Wait()
			got, _ := m.GetJob(ctx, j.InstanceID, "tok")
			if taken := n == 1; taken != c.wantTaken {
				t.Fatalf("Recover took %d jobs, want taken=%v", n, c.wantTaken)
			}
			if !c.wantTaken {
				if rt.attaches != 0 || rt.runs != 0 || got.Owner != c.owner || got.Finished() {
					t.Errorf("left job touched: %d attaches, %d runs, owner %q, state %q", rt.attaches, rt.runs, got.Owner, got.State)
				}
				return
			}
			if rt.attaches != 1 || got.State != store.JobSucceeded || got.Owner != "replica-a" {
				t.Errorf("resumed job: %d attaches, state %q, owner %q; want attached once, succeeded, owned by replica-a",
					rt.attaches, got.State, got.Owner)
			}
		})
	}
}

// Two replicas recovering the same orphan at once (a leader and the one
// that follows it): one claims it, the other backs off; it runs once.
func TestConcurrentRecoveryRunsOnce(t *testing.T) {
	for i := range 20 {
		m := newMemStore()
		j := newJob("tok", "replica-dead")
		if _, err := m.Commit(context.Background(), store.PutJob(j)); err != nil {
			t.Fatal(err)
		}
		live := map[string]bool{"replica-a": true, "replica-b": true}
		var engines []*Engine
		var rts []*fakeRuntime
		hs := []*handler{{}, {}}
		for k, id := range []string{"replica-a", "replica-b"} {
			rt := &fakeRuntime{res: &runtime.Result{}}
			rts = append(rts, rt)
			engines = append(engines, New(Options{Store: m, Runtime: rt, Handler: hs[k],
				Replicas: &replicas{id: id, alive: context.Background(), live: live}}))
		}
		var wg sync.WaitGroup
		for _, e := range engines {
			wg.Add(1)
			go func() { defer wg.Done(); e.Recover(context.Background()) }()
		}
		wg.Wait()
		for _, e := range engines {
			e.Wait()
		}
		attaches := rts[0].attaches + rts[1].attaches
		outcomes := len(hs[0].outcomes) + len(hs[1].outcomes)
		got, _ := m.GetJob(context.Background(), j.InstanceID, "tok")
		if attaches != 1 || outcomes != 1 || got.State != store.JobSucceeded {
			t.Fatalf("round %d: %d attaches, %d outcomes, state %q; want one of each, succeeded", i, attaches, outcomes, got.State)
		}
	}
}

// A run whose job record was taken over by another replica (its lease
// ran out while it was cut off) is fenced off: it records neither
// progress nor an outcome, and leaves the sandbox to the new owner.
func TestTakenOverRunIsFencedOff(t *testing.T) {
	cases := []struct {
		name string
		// after the takeover, the action reports progress (and is then
		// cancelled) or ends by itself
		progress bool
	}{
		{"found at the next progress: stops following", true},
		{"found when storing the outcome: not recorded", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMemStore()
			block := make(chan struct{})
			reported := make(chan struct{})
			rt := &fakeRuntime{res: &runtime.Result{}}
			var runCtx context.Context
			h := &handler{}
			playing := make(chan runtime.Progress, 1)
			e := New(Options{Store: m, Runtime: runFunc{rt, func(ctx context.Context, p runtime.Progress) (*runtime.Result, error) {
				runCtx = ctx
				playing <- p
				select {
				case <-block:
				case <-ctx.Done():
					close(reported)
					return nil, ctx.Err()
				}
				return &runtime.Result{}, nil
			}}, Handler: h, Replicas: &replicas{id: "replica-a", alive: context.Background()}})
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			go e.Start(ctx)
			if err := e.Submit(ctx, newJob("tok", ""), store.PutInstance(&store.ServiceInstance{ID: "i-tok"})); err != nil {
				t.Fatal(err)
			}
			p := <-playing
			// Replica b takes the job over.
			cur, _ := m.GetJob(ctx, "i-tok", "tok")
			cur.Owner = "replica-b"
			cur.Description = "resumed by replica-b"
			if _, err := m.Commit(ctx, store.PutJob(cur)); err != nil {
				t.Fatal(err)
			}
			if c.progress {
				p("60%: still going")
				select {
				case <-reported:
				case <-time.After(5 * time.Second):
					t.Fatal("the fenced-off run was not cancelled")
				}
				if runCtx.Err() == nil {
					t.Error("the run's context is still alive")
				}
			} else {
				close(block)
			}
			e.Wait()
			got, _ := m.GetJob(ctx, "i-tok", "tok")
			if got.Owner != "replica-b" || got.Description != "resumed by replica-b" || got.Finished() {
				t.Errorf("the new owner's record was overwritten: owner %q, %q, %q", got.Owner, got.State, got.Description)
			}
			if len(h.outcomes) > 1 || len(rt.released) != 0 {
				t.Errorf("%d outcomes asked, released %v: want nothing recorded, the sandbox left to replica-b", len(h.outcomes), rt.released)
			}
			if _, stored := m.kv[store.PutCredentials("i-tok", nil).Key()]; stored {
				t.Error("the fenced-off run's outcome ops were committed")
			}
		})
	}
}

// runFunc is a runtime whose Run is a function; the rest is rt's.
type runFunc struct {
	*fakeRuntime
	run func(ctx context.Context, p runtime.Progress) (*runtime.Result, error)
}

func (r runFunc) Run(ctx context.Context, _ runtime.Action, p runtime.Progress) (*runtime.Result, error) {
	return r.run(ctx, p)
}

// A replica whose lease is lost stops its runs at once and leaves them in
// flight, owned by the lost id, for the leader; new jobs are refused
// until it has a lease again.
func TestLeaseLost(t *testing.T) {
	m := newMemStore()
	rt := &fakeRuntime{block: make(chan struct{})}
	alive, lose := context.WithCancel(context.Background())
	reps := &replicas{id: "replica-a", alive: alive}
	e := New(Options{Store: m, Runtime: rt, Handler: &handler{}, Replicas: reps})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go e.Start(ctx)
	if err := e.Submit(ctx, newJob("tok", ""), store.PutInstance(&store.ServiceInstance{ID: "i-tok"})); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the run to start", func() bool { return rt.runCount() == 1 })
	lose()
	waitUntil(t, "the run to stop", func() bool { return !e.Running("tok") })
	got, _ := m.GetJob(ctx, "i-tok", "tok")
	if got.Finished() || got.Owner != "replica-a" || len(rt.released) != 0 {
		t.Errorf("job %q owned by %q, released %v: want left in flight under the lost id", got.State, got.Owner, rt.released)
	}
	err := e.Submit(ctx, newJob("tok2", ""), store.PutInstance(&store.ServiceInstance{ID: "i-tok2"}))
	if !errors.Is(err, ErrLeaseLost) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Submit without a lease = %v, want ErrLeaseLost (unavailable)", err)
	}
	if _, err := m.GetJob(ctx, "i-tok2", "tok2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused job was stored: %v", err)
	}
}
