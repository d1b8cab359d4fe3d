package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// memStore is a Store in memory with etcd's compare semantics, and a hook
// that may fail a Commit before it applies (conflicts, an etcd that does
// not answer).
type memStore struct {
	mu      sync.Mutex
	rev     int64
	kv      map[string]memValue
	fail    func(ops []store.Op) error
	commits int
}

type memValue struct {
	data []byte
	rev  int64
}

func newMemStore() *memStore { return &memStore{kv: map[string]memValue{}} }

func (m *memStore) Commit(_ context.Context, ops ...store.Op) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commits++
	for _, o := range ops {
		if err := o.Err(); err != nil {
			return 0, err
		}
	}
	if m.fail != nil {
		if err := m.fail(ops); err != nil {
			return 0, err
		}
	}
	for _, o := range ops {
		if rev, ok := o.Condition(); ok && m.kv[o.Key()].rev != rev {
			return 0, store.ErrConflict
		}
	}
	m.rev++
	for _, o := range ops {
		switch {
		case o.Prefix():
			for k := range m.kv {
				if strings.HasPrefix(k, o.Key()) {
					delete(m.kv, k)
				}
			}
		case o.Value() == nil:
			delete(m.kv, o.Key())
		default:
			m.kv[o.Key()] = memValue{o.Value(), m.rev}
		}
	}
	return m.rev, nil
}

func (m *memStore) GetJob(_ context.Context, resourceID, token string) (*store.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.kv[store.JobKey(resourceID, token)]
	if !ok {
		return nil, store.ErrNotFound
	}
	var j store.Job
	if err := json.Unmarshal(v.data, &j); err != nil {
		return nil, err
	}
	j.Revision = v.rev
	return &j, nil
}

func (m *memStore) UnfinishedJobs(context.Context) ([]*store.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.Job
	for k, v := range m.kv {
		if j, ok := asJob(k, v.data); ok && !j.Finished() {
			j.Revision = v.rev
			out = append(out, j)
		}
	}
	return out, nil
}

// asJob decodes a value stored at key when it is a job record: the store
// files jobs under store.JobKey (the keys are pkg/store's to make).
func asJob(key string, data []byte) (*store.Job, bool) {
	var j store.Job
	if json.Unmarshal(data, &j) != nil || j.Token == "" || key != store.JobKey(j.ResourceID(), j.Token) {
		return nil, false
	}
	return &j, true
}

// touch rewrites a key unchanged, as another writer would: compares
// against its old revision then fail. It is called from m.fail, within
// Commit, which holds m.mu.
func (m *memStore) touch(key string) {
	m.rev++
	v := m.kv[key]
	v.rev = m.rev
	m.kv[key] = v
}

// update is the job state a lone job write (the engine's progress and
// in-progress updates) stores; "" for other commits.
func update(ops []store.Op) string {
	if len(ops) != 1 {
		return ""
	}
	return finalJob(ops)
}

// finalJob returns the job state an op list writes, if it writes a job.
func finalJob(ops []store.Op) string {
	for _, o := range ops {
		if j, ok := asJob(o.Key(), o.Value()); ok {
			return j.State
		}
	}
	return ""
}

// fakeRuntime plays an action with fixed results, recording what was done.
type fakeRuntime struct {
	mu        sync.Mutex
	res       *runtime.Result
	err       error
	attachErr error
	progress  []string
	block     chan struct{} // Run waits for it (or ctx) when set
	runs      int
	attaches  int
	released  []bool
}

func (f *fakeRuntime) Name() string { return "fake" }

func (f *fakeRuntime) runCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs
}

func (f *fakeRuntime) Run(ctx context.Context, a runtime.Action, p runtime.Progress) (*runtime.Result, error) {
	f.mu.Lock()
	f.runs++
	f.mu.Unlock()
	for _, d := range f.progress {
		p(d)
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.res, f.err
}

func (f *fakeRuntime) Attach(ctx context.Context, a runtime.Action, p runtime.Progress) (*runtime.Result, error) {
	f.mu.Lock()
	f.attaches++
	f.mu.Unlock()
	if f.attachErr != nil {
		return nil, f.attachErr
	}
	return f.res, f.err
}

func (f *fakeRuntime) Release(_ context.Context, _ runtime.Action, failed bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, failed)
	return nil
}

// handler says what a run means: the job's outcome plus a marker record,
// so that the test sees the outcome's ops committed with the job.
type handler struct {
	actionErr error
	mu        sync.Mutex
	outcomes  []*store.Job // the job as each Outcome call saw it
}

func (h *handler) Action(_ context.Context, j *store.Job) (runtime.Action, error) {
	if h.actionErr != nil {
		return runtime.Action{}, h.actionErr
	}
	return runtime.Action{Name: j.Method, OperationID: j.Token}, nil
}

func (h *handler) Outcome(_ context.Context, j *store.Job, res *runtime.Result, runErr error) (Outcome, error) {
	h.mu.Lock()
	h.outcomes = append(h.outcomes, j)
	h.mu.Unlock()
	o := Outcome{Err: runErr, Description: "done", Ops: []store.Op{store.PutCredentials(j.InstanceID, map[string]any{"outcome": "stored"})}}
	if runErr != nil {
		o.Description = "failed: " + runErr.Error()
	}
	return o, nil
}

func TestEngine(t *testing.T) {
	errBoom := errors.New("playbook failed")
	cases := []struct {
		name    string
		rt      *fakeRuntime
		h       *handler
		fail    func(m *memStore) func(ops []store.Op) error // the store's failures
		cancel  bool                                         // the broker stops during backoff
		recover bool                                         // run through Recover, not Submit

		wantState    string // job state at the end; "in progress": left for recovery
		wantDesc     string
		wantStored   bool     // the outcome's ops were committed
		wantOutcomes int      // Handler.Outcome calls
		wantReleased []bool   // Release calls (failed flag)
		wantWaits    []string // backoff waits, in order
		wantRuns     int
		wantSeen     string // the description Outcome saw: the progress stored
	}{
		{name: "succeeds", rt: &fakeRuntime{res: &runtime.Result{}, progress: []string{"50%"}},
			wantState: store.JobSucceeded, wantDesc: "done", wantStored: true, wantOutcomes: 1, wantReleased: []bool{false}, wantRuns: 1, wantSeen: "50%"},
		{name: "action fails", rt: &fakeRuntime{err: errBoom},
			wantState: store.JobFailed, wantDesc: "failed: playbook failed", wantStored: true, wantOutcomes: 1, wantReleased: []bool{true}, wantRuns: 1},
		{name: "preparing fails: nothing runs", rt: &fakeRuntime{}, h: &handler{actionErr: errors.New("instance gone")},
			wantState: store.JobFailed, wantDesc: "failed: preparing provision: instance gone", wantStored: true, wantOutcomes: 1},
		{name: "progress write conflicts: re-read and applied", rt: &fakeRuntime{res: &runtime.Result{}, progress: []string{"50%"}},
			fail: func(m *memStore) func([]store.Op) error {
				n := 0
				return func(ops []store.Op) error {
					if update(ops) == store.JobInProgress {
						// The second update (the progress) finds the job
						// written by someone else meanwhile.
						if n++; n == 2 {
							m.touch(ops[0].Key())
						}
					}
					return nil
				}
			},
			wantState: store.JobSucceeded, wantDesc: "done", wantStored: true, wantOutcomes: 1, wantReleased: []bool{false}, wantRuns: 1, wantSeen: "50%"},
		{name: "job record keeps changing: left unfinished, nothing runs", rt: &fakeRuntime{res: &runtime.Result{}},
			fail: func(m *memStore) func([]store.Op) error {
				return func(ops []store.Op) error {
					if update(ops) == store.JobInProgress {
						return store.ErrConflict
					}
					return nil
				}
			},
			wantState: store.JobInProgress, wantDesc: "provision job queued"},
		{name: "store full when starting: waits, then runs", rt: &fakeRuntime{res: &runtime.Result{}},
			fail: func(m *memStore) func([]store.Op) error {
				n := 0
				return func(ops []store.Op) error {
					if update(ops) == store.JobInProgress && n < 3 {
						n++
						return store.ErrNoSpace
					}
					return nil
				}
			},
			wantState: store.JobSucceeded, wantDesc: "done", wantStored: true, wantOutcomes: 1, wantReleased: []bool{false}, wantRuns: 1,
			wantWaits: []string{"100ms", "200ms", "400ms"}},
		{name: "outcome conflicts: asked again with the job re-read", rt: &fakeRuntime{res: &runtime.Result{}},
			fail: func(m *memStore) func([]store.Op) error {
				n := 0
				return func(ops []store.Op) error {
					if s := finalJob(ops); s == store.JobSucceeded && n == 0 {
						n++
						m.touch(ops[0].Key())
					}
					return nil
				}
			},
			wantState: store.JobSucceeded, wantDesc: "done", wantStored: true, wantOutcomes: 2, wantReleased: []bool{false}, wantRuns: 1},
		{name: "store unavailable: retried with growing backoff", rt: &fakeRuntime{res: &runtime.Result{}},
			fail: func(m *memStore) func([]store.Op) error {
				n := 0
				return func(ops []store.Op) error {
					if finalJob(ops) == store.JobSucceeded && n < 7 {
						n++
						return store.ErrUnavailable
					}
					return nil
				}
			},
			wantState: store.JobSucceeded, wantDesc: "done", wantStored: true, wantOutcomes: 8, wantReleased: []bool{false}, wantRuns: 1,
			wantWaits: []string{"100ms", "200ms", "400ms", "800ms", "1.6s", "3.2s", "5s"}},
		{name: "outcome never stored: left for recovery, sandbox kept", rt: &fakeRuntime{res: &runtime.Result{}},
			fail: func(m *memStore) func([]store.Op) error {
				return func(ops []store.Op) error {
					if finalJob(ops) == store.JobSucceeded {
						return store.ErrUnavailable
					}
					return nil
				}
			},
			wantState: store.JobInProgress, wantDesc: "provision job queued", wantOutcomes: finishAttempts, wantRuns: 1},
		{name: "broker stops during backoff: left for recovery", rt: &fakeRuntime{res: &runtime.Result{}}, cancel: true,
			fail: func(m *memStore) func([]store.Op) error {
				return func(ops []store.Op) error {
					if finalJob(ops) == store.JobSucceeded {
						return store.ErrUnavailable
					}
					return nil
				}
			},
			wantState: store.JobInProgress, wantDesc: "provision job queued", wantOutcomes: 1, wantRuns: 1},
		{name: "recovered: attached, not run again", rt: &fakeRuntime{res: &runtime.Result{}}, recover: true,
			wantState: store.JobSucceeded, wantDesc: "done", wantStored: true, wantOutcomes: 1, wantReleased: []bool{false}},
		{name: "recovered, nothing running: run", rt: &fakeRuntime{res: &runtime.Result{}, attachErr: runtime.ErrNotStarted}, recover: true,
			wantState: store.JobSucceeded, wantDesc: "done", wantStored: true, wantOutcomes: 1, wantReleased: []bool{false}, wantRuns: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMemStore()
			h := c.h
			if h == nil {
				h = &handler{}
			}
			e := New(Options{Store: m, Runtime: c.rt, Handler: h})
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			stopped := make(chan error, 1)
			go func() { stopped <- e.Start(ctx) }()
			var waitsMu sync.Mutex
			var waits []string
			e.sleep = func(sctx context.Context, d time.Duration) bool {
				waitsMu.Lock()
				waits = append(waits, d.String())
				waitsMu.Unlock()
				if c.cancel {
					stop()
					<-sctx.Done()
					return false
				}
				return sctx.Err() == nil
			}
			if c.fail != nil {
				m.fail = c.fail(m)
			}
			j := &store.Job{Token: "tok", Method: runtime.ActionProvision, InstanceID: "i-1", State: store.JobInProgress,
				Description: "provision job queued", CreatedAt: time.Now()}
			if c.recover {
				if _, err := m.Commit(ctx, store.PutJob(j)); err != nil {
					t.Fatal(err)
				}
				if n, err := e.Recover(ctx); err != nil || n != 1 {
					t.Fatalf("Recover = %d, %v", n, err)
				}
			} else if err := e.Submit(ctx, j, store.PutInstance(&store.ServiceInstance{ID: "i-1"})); err != nil {
				t.Fatal(err)
			}
			e.Wait()
			if c.cancel {
				<-stopped
			}

			got, err := m.GetJob(context.Background(), "i-1", "tok")
			if err != nil {
				t.Fatal(err)
			}
			if got.State != c.wantState || got.Description != c.wantDesc {
				t.Errorf("job %q %q, want %q %q", got.State, got.Description, c.wantState, c.wantDesc)
			}
			_, stored := m.kv[store.PutCredentials("i-1", nil).Key()]
			if stored != c.wantStored {
				t.Errorf("outcome ops stored = %v, want %v", stored, c.wantStored)
			}
			if len(h.outcomes) != c.wantOutcomes {
				t.Errorf("Outcome asked %d times, want %d", len(h.outcomes), c.wantOutcomes)
			}
			if c.wantSeen != "" && (len(h.outcomes) == 0 || h.outcomes[0].Description != c.wantSeen) {
				t.Errorf("Outcome saw the job without its progress %q", c.wantSeen)
			}
			if c.wantOutcomes == 2 && h.outcomes[1].Revision == h.outcomes[0].Revision {
				t.Errorf("Outcome asked again with the same job revision %d: not re-read", h.outcomes[1].Revision)
			}
			if fmt.Sprint(c.rt.released) != fmt.Sprint(c.wantReleased) {
				t.Errorf("released %v, want %v", c.rt.released, c.wantReleased)
			}
			if c.rt.runs != c.wantRuns {
				t.Errorf("runs %d, want %d", c.rt.runs, c.wantRuns)
			}
			if c.wantWaits != nil && fmt.Sprint(waits) != fmt.Sprint(c.wantWaits) {
				t.Errorf("backoff %v, want %v", waits, c.wantWaits)
			}
			if c.recover && c.rt.attaches != 1 {
				t.Errorf("attached %d times, want 1", c.rt.attaches)
			}
			if c.wantState == store.JobSucceeded && got.Attempts != 1 {
				t.Errorf("attempts %d, want 1", got.Attempts)
			}
		})
	}
}

// Submit stores the job with the changes that start it, atomically: a
// lost compare stores and starts nothing.
func TestSubmitConflict(t *testing.T) {
	m := newMemStore()
	rt := &fakeRuntime{res: &runtime.Result{}}
	e := New(Options{Store: m, Runtime: rt, Handler: &handler{}})
	in := &store.ServiceInstance{ID: "i-1"}
	if _, err := m.Commit(context.Background(), store.PutInstance(in)); err != nil {
		t.Fatal(err)
	}
	// in.Revision is still 0: "create", which the stored instance refutes.
	err := e.Submit(context.Background(), &store.Job{Token: "tok", Method: "provision", InstanceID: "i-1"}, store.PutInstance(in))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Submit = %v, want ErrConflict", err)
	}
	e.Wait()
	if _, err := m.GetJob(context.Background(), "i-1", "tok"); !errors.Is(err, store.ErrNotFound) || rt.runs != 0 {
		t.Errorf("after a lost race: job %v, runs %d; want neither", err, rt.runs)
	}
}

// Stopping the engine stops its running jobs without recording anything:
// they stay in flight for the next broker.
func TestStartStopsRunningJobs(t *testing.T) {
	m := newMemStore()
	rt := &fakeRuntime{block: make(chan struct{})}
	e := New(Options{Store: m, Runtime: rt, Handler: &handler{}})
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- e.Start(ctx) }()
	if err := e.Submit(context.Background(), &store.Job{Token: "tok", Method: "provision", InstanceID: "i-1", State: store.JobInProgress}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !e.Running("tok") || rt.runCount() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the job did not start")
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return")
	}
	if e.Running("tok") {
		t.Error("still running after Start returned")
	}
	j, _ := m.GetJob(context.Background(), "i-1", "tok")
	if j.Finished() || len(rt.released) != 0 {
		t.Errorf("job %s, released %v: want left in flight", j.State, rt.released)
	}
}

// secretHandler gives the action secrets: a declared password parameter,
// one under a secret-looking name and provision credentials.
type secretHandler struct{ handler }

func (h *secretHandler) Action(_ context.Context, j *store.Job) (runtime.Action, error) {
	return runtime.Action{Name: j.Method, OperationID: j.Token, SecretVars: []string{"magic_word"},
		ExtraVars: map[string]any{"magic_word": "abracadabra-1", "db_password": "hunter22-2", "size": 3,
			"_apb_provision_creds": map[string]any{"DB_USER": "admin-user-3"}}}, nil
}

// TestSecretsMasked: whatever the bundle reports (progress, a failure, the
// credentials it made), what the engine stores and logs shows no secret.
func TestSecretsMasked(t *testing.T) {
	secrets := []string{"abracadabra-1", "hunter22-2", "admin-user-3", "made-cred-4"}
	all := strings.Join(secrets, " ")
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			rt := &fakeRuntime{res: &runtime.Result{Credentials: map[string]any{"X": "made-cred-4"}}, progress: []string{"working with " + all},
				block: make(chan struct{})}
			if fail {
				rt.res, rt.err = nil, &runtime.ActionError{ExitCode: 2, Message: "failed with " + all}
			}
			m := newMemStore()
			logs := &strings.Builder{}
			var logsMu sync.Mutex
			h := &secretHandler{}
			e := New(Options{Store: m, Runtime: rt, Handler: h,
				Logger: slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
					logsMu.Lock()
					defer logsMu.Unlock()
					return logs.Write(p)
				}), &slog.HandlerOptions{Level: slog.LevelDebug}))})
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			go e.Start(ctx)
			if err := e.Submit(ctx, &store.Job{Token: "tok", Method: runtime.ActionUpdate, InstanceID: "i-1", State: store.JobInProgress},
				store.PutInstance(&store.ServiceInstance{ID: "i-1"})); err != nil {
				t.Fatal(err)
			}
			// The progress as stored while the action runs.
			deadline := time.Now().Add(5 * time.Second)
			var during *store.Job
			for during == nil || !strings.HasPrefix(during.Description, "working") {
				if time.Now().After(deadline) {
					t.Fatalf("no progress stored: %+v", during)
				}
				during, _ = m.GetJob(ctx, "i-1", "tok")
				time.Sleep(time.Millisecond)
			}
			close(rt.block)
			e.Wait()
			done, err := m.GetJob(ctx, "i-1", "tok")
			if err != nil {
				t.Fatal(err)
			}
			logsMu.Lock()
			defer logsMu.Unlock()
			for _, s := range secrets {
				for what, text := range map[string]string{"progress": during.Description, "description": done.Description,
					"error": done.Error, "log": logs.String(), "outcome's view": h.outcomes[0].Description} {
					// The credentials the action made are known only once it
					// ends, and only when it succeeds.
					if s == "made-cred-4" && (fail || what == "progress" || what == "outcome's view") {
						continue
					}
					if strings.Contains(text, s) {
						t.Errorf("%s shows %q: %s", what, s, text)
					}
				}
			}
			if !strings.Contains(during.Description, "****") {
				t.Errorf("progress %q: nothing masked", during.Description)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
