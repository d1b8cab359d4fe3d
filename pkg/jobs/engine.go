// Package jobs runs the broker's asynchronous operations: a bounded pool of
// workers, each running one job through the runtime, recording progress and
// the outcome in the store, and recovering jobs left in flight by a broker
// that stopped.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// releaseTimeout bounds releasing a finished action's sandbox, which also
// runs while the broker stops.
const releaseTimeout = 30 * time.Second

// Handler is the broker side of a job: what to run and how to record the
// outcome. Both are called with the job as last stored.
type Handler interface {
	// Action builds the runtime action for a job.
	Action(ctx context.Context, j *store.Job) (runtime.Action, error)
	// Finish records the outcome atomically (job state plus the instance or
	// binding changes it implies). It returns store.ErrConflict when the job
	// changed meanwhile; the engine then re-reads the job and calls it again.
	Finish(ctx context.Context, j *store.Job, res *runtime.Result, runErr error) error
}

// Options configure an Engine.
type Options struct {
	Store   *store.Store
	Runtime runtime.Runtime
	Handler Handler
	// Workers bounds concurrent jobs (default 32).
	Workers int
	Logger  *slog.Logger
	// Registerer receives the operation metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// Engine runs jobs.
type Engine struct {
	o       Options
	sem     chan struct{}
	wg      sync.WaitGroup
	log     *slog.Logger
	metrics *metrics

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
	return &Engine{
		o:       o,
		sem:     make(chan struct{}, o.Workers),
		log:     o.Logger,
		metrics: newMetrics(o.Registerer),
		running: map[string]bool{},
	}
}

// Start runs a stored job in the background. The job must already be in
// the store (state "not yet started" or "in progress").
func (e *Engine) Start(ctx context.Context, j *store.Job) {
	e.launch(ctx, j, false)
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
		e.launch(ctx, j, true)
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

func (e *Engine) launch(ctx context.Context, j *store.Job, recovering bool) {
	e.mu.Lock()
	if e.running[j.Token] {
		e.mu.Unlock()
		return
	}
	e.running[j.Token] = true
	e.mu.Unlock()
	e.wg.Add(1)
	e.metrics.inFlight.WithLabelValues(j.Method).Inc()
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
	if err := e.update(ctx, jr, func(j *store.Job) {
		j.State = store.JobInProgress
		if j.Description == "" {
			j.Description = j.Method + " job started"
		}
		j.Attempts++
	}); err != nil {
		log.Error("marking operation in progress", "err", err)
		return // left unfinished; a restart recovers it
	}

	progress := func(desc string) {
		if desc == "" {
			return
		}
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

// update applies fn to the job and stores it, re-reading on conflicts.
func (e *Engine) update(ctx context.Context, jr *jobRun, fn func(*store.Job)) error {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	for range 10 {
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

// finish records the outcome and reports whether it was stored.
func (e *Engine) finish(ctx context.Context, log *slog.Logger, jr *jobRun, res *runtime.Result, runErr error, start time.Time) bool {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := e.o.Handler.Finish(ctx, jr.job, res, runErr)
		if err == nil {
			break
		}
		if ctx.Err() != nil || attempt >= 50 {
			log.Error("recording operation outcome failed; left for recovery", "err", err)
			return false
		}
		if errors.Is(err, store.ErrConflict) {
			if cur, gerr := e.o.Store.GetJob(ctx, jr.job.ResourceID(), jr.job.Token); gerr == nil {
				jr.job = cur
			}
			continue
		}
		// etcd unreachable: keep the outcome and retry until it is back.
		log.Warn("recording operation outcome", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return false
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	state := store.JobSucceeded
	if runErr != nil {
		state = store.JobFailed
		log.Warn("operation failed", "err", runErr)
	} else {
		log.Info("operation succeeded")
	}
	e.metrics.done.WithLabelValues(jr.job.Method, state).Inc()
	e.metrics.duration.WithLabelValues(jr.job.Method, state).Observe(time.Since(start).Seconds())
	return true
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
