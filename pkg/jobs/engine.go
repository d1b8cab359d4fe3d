package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/redact"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// releaseTimeout bounds releasing a finished action's sandbox, which also
// runs while the broker stops.
const releaseTimeout = 30 * time.Second

// Bounds of the loops that store a job's changes.
const (
	// updateAttempts bounds re-reads of a job whose record changed under
	// a progress or in-progress write.
	updateAttempts = 10
	// finishAttempts bounds tries to store an outcome (conflicts and
	// store failures together); after them the job is left in flight and
	// the sandbox kept, so a restart finds the result again.
	finishAttempts = 50
	// Backoff between tries while the store does not answer.
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// Store is what the engine needs of the state store.
type Store interface {
	GetJob(ctx context.Context, resourceID, token string) (*store.Job, error)
	UnfinishedJobs(ctx context.Context) ([]*store.Job, error)
	// Commit applies ops atomically; store.ErrConflict when a compare
	// failed, store.ErrUnavailable when the store did not answer.
	Commit(ctx context.Context, ops ...store.Op) (int64, error)
}

// Outcome is what a finished run means, as the Handler decides it.
type Outcome struct {
	// Err is the failure recorded in the job; nil means succeeded.
	Err error
	// Description is the job's final last_operation description.
	Description string
	// Ops are the instance, binding and credential changes the outcome
	// implies, committed in one transaction with the job's final state.
	Ops []store.Op
}

// Handler is the broker side of a job: what to run and what its outcome
// means. Both are called with the job as last stored.
type Handler interface {
	// Action builds the runtime action for a job.
	Action(ctx context.Context, j *store.Job) (runtime.Action, error)
	// Outcome decides what a run's result (or error, runErr) means. When
	// storing it loses a race, the engine re-reads the job and asks again.
	Outcome(ctx context.Context, j *store.Job, res *runtime.Result, runErr error) (Outcome, error)
}

// Options configure an Engine.
type Options struct {
	Store   Store
	Runtime runtime.Runtime
	Handler Handler
	// Workers bounds concurrent jobs (default 32).
	Workers int
	Logger  *slog.Logger
	// Registerer receives the operation metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// Engine runs jobs. Jobs run under the engine's own lifetime, from New
// until Start's context ends, so that they outlive the requests that
// submitted them.
type Engine struct {
	o       Options
	sem     chan struct{}
	wg      sync.WaitGroup
	log     *slog.Logger
	metrics *metrics
	life    context.Context
	stop    context.CancelFunc
	// sleep waits d unless ctx ends first (tests replace it).
	sleep func(ctx context.Context, d time.Duration) bool

	mu      sync.Mutex
	running map[string]bool // job tokens being run here
}

// New makes an Engine.
func New(o Options) *Engine {
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	life, stop := context.WithCancel(context.Background())
	return &Engine{
		o:       o,
		sem:     make(chan struct{}, o.Workers),
		log:     o.Logger,
		metrics: newMetrics(o.Registerer),
		life:    life,
		stop:    stop,
		sleep:   sleep,
		running: map[string]bool{},
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Start runs until ctx ends, then stops the jobs running here and waits
// for them to return: they stay in flight in the store, and a restarted
// broker recovers them. It makes the Engine a runnable of the daemon.
func (e *Engine) Start(ctx context.Context) error {
	<-ctx.Done()
	e.stop()
	e.wg.Wait()
	return nil
}

// Submit stores a new job (j.Revision 0) together with ops, the instance
// or binding changes that start it, and runs it in the background. When a
// compare fails it returns store.ErrConflict and nothing was stored or
// started: the caller decides again.
func (e *Engine) Submit(ctx context.Context, j *store.Job, ops ...store.Op) error {
	rev, err := e.o.Store.Commit(ctx, append(ops, store.PutJob(j))...)
	if err != nil {
		return err
	}
	j.Revision = rev
	e.launch(j, false)
	return nil
}

// Recover starts every unfinished job in the store. A job whose runtime
// work is still running is attached to, not started again.
func (e *Engine) Recover(ctx context.Context) (int, error) {
	open, err := e.o.Store.UnfinishedJobs(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing unfinished jobs: %w", err)
	}
	for _, j := range open {
		e.log.Info("recovering operation", "operation", j.Token, "action", j.Method,
			"instance_id", j.InstanceID, "binding_id", j.BindingID, "state", j.State)
		e.launch(j, true)
	}
	return len(open), nil
}

// Wait blocks until every job started here returned.
func (e *Engine) Wait() { e.wg.Wait() }

// Running reports whether a job token is being run by this engine.
func (e *Engine) Running(token string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[token]
}

func (e *Engine) launch(j *store.Job, recovering bool) {
	e.mu.Lock()
	if e.running[j.Token] {
		e.mu.Unlock()
		return
	}
	e.running[j.Token] = true
	e.mu.Unlock()
	e.wg.Add(1)
	e.metrics.inFlight.WithLabelValues(j.Method).Inc()
	ctx := e.life
	go func() {
		defer func() {
			e.metrics.inFlight.WithLabelValues(j.Method).Dec()
			e.mu.Lock()
			delete(e.running, j.Token)
			e.mu.Unlock()
			e.wg.Done()
		}()
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			return // stays in the store as unfinished; recovered on restart
		}
		defer func() { <-e.sem }()
		e.run(ctx, j, recovering)
	}()
}

// jobRun serialises writes to one job: progress from the runtime's
// goroutine and the final state from the worker.
type jobRun struct {
	mu  sync.Mutex
	job *store.Job
	// secrets masks the action's secrets in what the bundle reports:
	// descriptions and errors are shown to clients and logged.
	secrets *redact.Text
}

// actionSecrets are the values of an action that no description, error
// or log may show: its declared secret vars, those under secret-looking
// names and the credentials it is given.
func actionSecrets(a runtime.Action) *redact.Text {
	t := &redact.Text{}
	t.AddUnder(a.ExtraVars, redact.Names(a.SecretVars...))
	return t
}

func (e *Engine) run(ctx context.Context, j *store.Job, recovering bool) {
	log := e.log.With("operation", j.Token, "action", j.Method, "instance_id", j.InstanceID, "binding_id", j.BindingID)
	start := time.Now()
	jr := &jobRun{job: j}

	action, err := e.o.Handler.Action(ctx, j)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		e.finish(ctx, log, jr, nil, fmt.Errorf("preparing %s: %w", j.Method, err), start)
		return
	}
	jr.secrets = actionSecrets(action)
	if err := e.retryStore(ctx, log, "marking operation in progress", func() error {
		return e.update(ctx, jr, func(j *store.Job) {
			j.State = store.JobInProgress
			if j.Description == "" {
				j.Description = j.Method + " job started"
			}
			j.Attempts++
		})
	}); err != nil {
		log.Error("marking operation in progress", "err", err)
		return // left unfinished; a restart recovers it
	}

	progress := func(desc string) {
		if desc == "" {
			return
		}
		desc = jr.secrets.String(desc)
		if err := e.update(ctx, jr, func(j *store.Job) { j.Description = desc }); err != nil && ctx.Err() == nil {
			log.Warn("recording progress", "err", err)
		}
	}
	var res *runtime.Result
	if recovering {
		res, err = e.o.Runtime.Attach(ctx, action, progress)
		if errors.Is(err, runtime.ErrNotStarted) {
			log.Info("nothing was running for the operation: starting it")
			res, err = e.o.Runtime.Run(ctx, action, progress)
		}
	} else {
		res, err = e.o.Runtime.Run(ctx, action, progress)
	}
	if ctx.Err() != nil {
		// The broker is stopping: leave the job in flight for recovery
		// rather than recording a failure that did not happen.
		log.Info("broker stopping: operation left for recovery")
		return
	}
	if !e.finish(ctx, log, jr, res, err, start) {
		return // the sandbox keeps the result for Attach after a restart
	}
	// The outcome is stored: a broker stopping now still releases the
	// sandbox (quickly), rather than leaving it to the janitor, which
	// would not know whether the action failed.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if rerr := e.o.Runtime.Release(rctx, action, err != nil); rerr != nil {
		// The janitor removes it later: the operation is finished now.
		log.Warn("releasing the action's sandbox", "err", rerr)
	}
}

// retryStore calls fn until it succeeds, retrying with backoff while the
// store does not answer or is full (both pass: the store comes back, the
// broker's maintenance frees space), within finishAttempts tries and the
// engine's lifetime.
func (e *Engine) retryStore(ctx context.Context, log *slog.Logger, what string, fn func() error) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !(errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNoSpace)) ||
			attempt >= finishAttempts || ctx.Err() != nil {
			return err
		}
		log.Warn(what, "err", err, "retry_in", backoff)
		if !e.sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// update applies fn to the job and stores it, re-reading on conflicts.
func (e *Engine) update(ctx context.Context, jr *jobRun, fn func(*store.Job)) error {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	for range updateAttempts {
		next := *jr.job
		fn(&next)
		next.UpdatedAt = time.Now().UTC()
		rev, err := e.o.Store.Commit(ctx, store.PutJob(&next))
		if err == nil {
			next.Revision = rev
			jr.job = &next
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		cur, gerr := e.o.Store.GetJob(ctx, jr.job.ResourceID(), jr.job.Token)
		if gerr != nil {
			return gerr
		}
		jr.job = cur
	}
	return errors.New("job record kept changing")
}

// finish stores the outcome, the job's final state with the changes the
// Handler says it implies, and reports whether it was stored. Conflicts
// re-read the job and ask the Handler again; a store that does not answer
// is retried with backoff, the outcome kept meanwhile.
func (e *Engine) finish(ctx context.Context, log *slog.Logger, jr *jobRun, res *runtime.Result, runErr error, start time.Time) bool {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	if res != nil && res.Credentials != nil {
		// What the action produced is as secret as what it was given.
		if jr.secrets == nil {
			jr.secrets = &redact.Text{}
		}
		jr.secrets.Add(res.Credentials)
	}
	backoff := firstBackoff
	var out Outcome
	for attempt := 1; ; attempt++ {
		err := e.store(ctx, jr, res, runErr, &out)
		if err == nil {
			break
		}
		if ctx.Err() != nil || attempt >= finishAttempts {
			log.Error("recording operation outcome failed; left for recovery", "err", err, "attempts", attempt)
			return false
		}
		if errors.Is(err, store.ErrConflict) {
			cur, gerr := e.o.Store.GetJob(ctx, jr.job.ResourceID(), jr.job.Token)
			if gerr == nil {
				jr.job = cur
				continue
			}
			err = gerr
		}
		// etcd unreachable or full: keep the outcome and retry until it
		// answers or maintenance freed space.
		log.Warn("recording operation outcome", "err", err, "retry_in", backoff)
		if !e.sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, maxBackoff)
	}
	state := store.JobSucceeded
	if out.Err != nil {
		state = store.JobFailed
		log.Warn("operation failed", "err", jr.secrets.String(out.Err.Error()))
	} else {
		log.Info("operation succeeded")
	}
	e.metrics.done.WithLabelValues(jr.job.Method, state).Inc()
	e.metrics.duration.WithLabelValues(jr.job.Method, state).Observe(time.Since(start).Seconds())
	return true
}

// store asks the Handler what the run means and commits it with the job's
// final state.
func (e *Engine) store(ctx context.Context, jr *jobRun, res *runtime.Result, runErr error, out *Outcome) error {
	o, err := e.o.Handler.Outcome(ctx, jr.job, res, runErr)
	if err != nil {
		return err
	}
	done := *jr.job
	done.UpdatedAt = time.Now().UTC()
	done.Description = jr.secrets.String(o.Description)
	// A finished operation's parameters served their run (the outcome
	// has put them on the instance, if anywhere): its record, kept for
	// the retention, holds none, passwords included.
	done.Parameters = nil
	done.Error = ""
	if o.Err != nil {
		done.State = store.JobFailed
		done.Error = jr.secrets.String(o.Err.Error())
	} else {
		done.State = store.JobSucceeded
	}
	rev, err := e.o.Store.Commit(ctx, append([]store.Op{store.PutJob(&done)}, o.Ops...)...)
	if err != nil {
		return err
	}
	done.Revision = rev
	jr.job, *out = &done, o
	return nil
}

type metrics struct {
	done     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		done: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osb_operations_total", Help: "Finished operations by action and final state.",
		}, []string{"action", "state"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "osb_operation_duration_seconds", Help: "Operation run time by action and final state.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"action", "state"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "osb_operations_in_flight", Help: "Operations being run by this broker, by action.",
		}, []string{"action"}),
	}
	if reg != nil {
		reg.MustRegister(m.done, m.duration, m.inFlight)
	}
	return m
}
