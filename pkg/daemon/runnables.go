package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/manager"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// The daemon's background work, each piece a manager.Runnable. They are
// added in this order and stopped in the reverse one: the HTTP server
// first, the store last.

// closeStore holds the store open until the daemon stops: it is stopped
// last, once nothing else uses it.
func closeStore(st store.Backend, log *slog.Logger) manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		if err := st.Close(); err != nil {
			log.Debug("closing the store", "err", err)
		}
		return nil
	})
}

// Pacing of the leader's recovery.
const (
	// recoverySweep paces passes beside those a departure triggers.
	recoverySweep = time.Minute
	// recoveryRetry is the wait after a pass that failed.
	recoveryRetry = 5 * time.Second
)

// What the recovery needs.
type (
	recoverer interface {
		Recover(ctx context.Context) (int, error)
	}
	departures interface {
		Departures(ctx context.Context) <-chan struct{}
	}
)

// recovery resumes the operations that brokers gone left in flight: at
// once when this replica takes the lead (a previous process's, a dead
// leader's), then each time a replica leaves (its lease ran out or was
// revoked), and every recoverySweep. Losing them would strand instances
// (asbd did this only with recovery: true, at start). Only the leader
// recovers, and only operations whose replica is gone, so none runs twice.
func recovery(b recoverer, reps departures, log *slog.Logger) manager.Runnable {
	return manager.NeedsLeader(manager.RunnableFunc(func(ctx context.Context) error {
		gone := reps.Departures(ctx) // signals once at first
		sweep := time.NewTicker(recoverySweep)
		defer sweep.Stop()
		var retry <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-gone:
			case <-sweep.C:
			case <-retry:
			}
			retry = nil
			n, err := b.Recover(ctx)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				log.Warn("recovering operations", "err", err, "retry_in", recoveryRetry)
				retry = time.After(recoveryRetry)
			case n > 0:
				log.Info("resumed operations left in flight by brokers that are gone", "count", n)
			}
		}
	}))
}

// What following the stored catalog needs.
type (
	reloader interface {
		ReloadSpecs(ctx context.Context) (bool, error)
	}
	catalogWatcher interface {
		CatalogChanges(ctx context.Context) <-chan struct{}
	}
)

// reloadRetry is the wait after a reload of the catalog that failed.
const reloadRetry = 5 * time.Second

// followCatalog serves the catalog as stored: every replica reloads it
// when another one changed it (the leader's bootstraps, specs pushed or
// deleted through the dev routes of any replica).
func followCatalog(b reloader, st catalogWatcher, log *slog.Logger) manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		changes := st.CatalogChanges(ctx) // signals once at first
		var retry <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-changes:
			case <-retry:
			}
			retry = nil
			changed, err := b.ReloadSpecs(ctx)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				log.Warn("following the stored catalog", "err", err, "retry_in", reloadRetry)
				retry = time.After(reloadRetry)
			case changed:
				log.Info("catalog reloaded: another replica changed it")
			}
		}
	})
}

// leadershipGauge exports whether this replica leads (osb_leader).
func leadershipGauge(reg prometheus.Registerer) manager.Runnable {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "osb_leader", Help: "1 while this broker replica leads (recovery, janitor, catalog bootstraps), 0 otherwise.",
	})
	reg.MustRegister(g)
	return manager.NeedsLeader(manager.RunnableFunc(func(ctx context.Context) error {
		g.Set(1)
		<-ctx.Done()
		g.Set(0)
		return nil
	}))
}

// janitorInterval paces the janitor after its first pass at start.
const janitorInterval = 10 * time.Minute

// janitor removes what operations left behind: at start, then
// periodically for cleanups that failed while the broker ran.
func janitor(b *broker.Broker, log *slog.Logger) manager.Runnable {
	return manager.NeedsLeader(manager.RunnableFunc(func(ctx context.Context) error {
		t := time.NewTicker(janitorInterval)
		defer t.Stop()
		for {
			n, err := b.Reap(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("janitor", "err", err, "cleaned_up", n)
			case n > 0:
				log.Info("janitor cleaned up sandboxes left behind", "count", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}))
}

// What maintenance needs of the broker and of the store.
type (
	pruner interface {
		Prune(ctx context.Context) (broker.PruneResult, error)
	}
	compactor interface {
		Maintain(ctx context.Context, keepFrom int64) (store.MaintainResult, error)
		NoSpace() <-chan struct{}
	}
)

// noSpaceGap spaces the maintenance passes that a full etcd asks for: a
// store full of live data keeps refusing writes, and each pass
// defragments, which blocks etcd meanwhile.
const noSpaceGap = 10 * time.Second

// maintenance keeps the stored state bounded, on the leader: it prunes
// finished operations and failed provisions (broker.Prune), then compacts
// etcd's history up to where the previous pass found it (so one interval
// of history is kept), defragments the embedded etcd when that frees
// enough, and lifts its NOSPACE alarm once there is room again. It runs at
// start, every interval (none when 0), and at once when etcd refuses a
// write for lack of space: then it compacts everything, so that the
// broker takes writes again without a restart.
func maintenance(p pruner, st compactor, every time.Duration, log *slog.Logger) manager.Runnable {
	return manager.NeedsLeader(manager.RunnableFunc(func(ctx context.Context) error {
		var tick <-chan time.Time
		if every > 0 {
			t := time.NewTicker(every)
			defer t.Stop()
			tick = t.C
		}
		var keepFrom int64
		var lastFull time.Time
		for why := "start"; ; {
			start := time.Now()
			pr, perr := p.Prune(ctx)
			mr, merr := st.Maintain(ctx, keepFrom)
			switch {
			case ctx.Err() != nil:
				return nil
			case perr != nil:
				log.Warn("store maintenance: pruning", "err", perr)
			}
			if merr != nil {
				log.Warn("store maintenance: compaction", "err", merr)
			} else {
				keepFrom = mr.Before.Revision
			}
			if pr.Jobs > 0 || mr.CompactedTo > 0 || mr.Defragmented || mr.Disarmed {
				log.Info("store maintenance", "why", why, "duration", time.Since(start),
					"operations_pruned", pr.Jobs, "failed_provisions_removed", len(pr.FailedProvisions),
					"compacted_to", mr.CompactedTo, "defragmented", mr.Defragmented,
					"db_bytes_before", mr.Before.DBSize, "db_bytes_after", mr.After.DBSize, "db_bytes_in_use", mr.After.DBSizeInUse)
			}
			// The pass read every operation record; what a load left
			// behind is free now: hand it back (a GC and a scavenge, a
			// few ms) so that an idle broker's RSS comes back down.
			releaseMemory()
			if mr.Disarmed {
				log.Info("the state store has room again: changes are accepted", "db_bytes", mr.After.DBSize, "quota_bytes", mr.After.Quota)
			} else if merr == nil && mr.After.NoSpace {
				log.Error("the state store is full of live data: changes are refused until dao.etcd_quota_bytes is raised "+
					"(and the broker restarted) or instances are deprovisioned", "db_bytes", mr.After.DBSize, "quota_bytes", mr.After.Quota)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick:
				why = "periodic"
			case <-st.NoSpace():
				why = "etcd full"
				// A store full of live data keeps asking: not more than
				// once per noSpaceGap.
				if wait := noSpaceGap - time.Since(lastFull); wait > 0 {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(wait):
					}
				}
				lastFull = time.Now()
			}
		}
	}))
}

// bootstrapTimeout bounds one bootstrap of the catalog.
const bootstrapTimeout = 10 * time.Minute

// catalogLoop, on the leader, bootstraps the catalog from the registries
// every broker.refresh_interval and when asked (POST /v2/bootstrap on any
// replica), one bootstrap at a time; requests that come while one runs
// are served by the next. With bootstrap_on_startup, a replica that
// takes the lead bootstraps once, unless it did at start.
type catalogLoop struct {
	b         bootstrapper
	req       bootstrapRequests
	every     time.Duration
	onStartup bool
	booted    atomic.Bool
	log       *slog.Logger
}

// bootstrapper is what the catalog loop needs of the broker.
type bootstrapper interface {
	Bootstrap(ctx context.Context) (*broker.BootstrapResult, error)
}

// bootstrapRequests carry POST /v2/bootstrap from any replica to the
// leader, through the store: a request stays until the leader served it.
type bootstrapRequests interface {
	RequestBootstrap(ctx context.Context) error
	// BootstrapRequests signals once at first, then after each request.
	BootstrapRequests(ctx context.Context) <-chan struct{}
	// PendingBootstrap is the revision of the request not yet served (0:
	// none); BootstrapServed removes it unless asked again since.
	PendingBootstrap(ctx context.Context) (int64, error)
	BootstrapServed(ctx context.Context, rev int64) error
}

func newCatalogLoop(b bootstrapper, req bootstrapRequests, s catalogSettings, log *slog.Logger) *catalogLoop {
	return &catalogLoop{b: b, req: req, every: s.every, onStartup: s.onStartup, log: log}
}

// bootstrapped records the bootstrap at start.
func (c *catalogLoop) bootstrapped() { c.booted.Store(true) }

// request asks the leader for a bootstrap and returns at once, as asbd
// answered before the registries were read (a slow registry made a
// synchronous bootstrap time out at the router).
func (c *catalogLoop) request(ctx context.Context) error {
	if err := c.req.RequestBootstrap(ctx); err != nil {
		c.log.Warn("asking for a bootstrap", "err", err)
		return osbapi.Unavailable("the broker's state store is unavailable; retry later")
	}
	return nil
}

// NeedLeaderElection: the catalog in the store is written by one replica.
func (c *catalogLoop) NeedLeaderElection() bool { return true }

func (c *catalogLoop) Start(ctx context.Context) error {
	if c.onStartup && !c.booted.Swap(true) {
		c.bootstrap(ctx, "taking the lead")
		releaseMemory()
	}
	var tick <-chan time.Time
	if c.every > 0 {
		t := time.NewTicker(c.every)
		defer t.Stop()
		tick = t.C
	} else {
		c.log.Info("not using a refresh interval")
	}
	asked := c.req.BootstrapRequests(ctx)
	for {
		why, rev := "periodic", int64(0)
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		case <-asked:
			r, err := c.req.PendingBootstrap(ctx)
			if err != nil || r == 0 {
				if err != nil && ctx.Err() == nil {
					c.log.Warn("reading bootstrap requests", "err", err)
				}
				continue
			}
			why, rev = "requested", r
		}
		if ctx.Err() != nil {
			return nil
		}
		c.bootstrap(ctx, why)
		if rev != 0 && ctx.Err() == nil {
			if err := c.req.BootstrapServed(ctx, rev); err != nil {
				c.log.Warn("marking the bootstrap request served", "err", err)
			}
		}
		releaseMemory()
	}
}

func (c *catalogLoop) bootstrap(ctx context.Context, why string) {
	bctx, cancel := context.WithTimeout(ctx, bootstrapTimeout)
	defer cancel()
	if _, err := c.b.Bootstrap(bctx); err != nil && ctx.Err() == nil {
		c.log.Warn("bootstrap failed", "why", why, "err", err)
	}
}

// httpShutdownTimeout bounds the wait for requests in progress at stop.
const httpShutdownTimeout = 10 * time.Second

// serve is the HTTP server: it serves until ctx ends, then lets the
// requests in progress finish.
func (d *daemon) serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		ln := d.ln
		if d.tls != nil {
			ln = tls.NewListener(ln, d.tls)
		}
		errc <- d.srv.Serve(ln)
	}()
	d.log.Info("broker listening", "url", d.URL(), "version", d.o.Version)
	if d.o.Ready != nil {
		d.o.Ready(d.URL())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	d.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := d.srv.Shutdown(sctx); err != nil {
		d.log.Warn("requests still in progress at shutdown", "err", err)
		d.srv.Close()
	}
	return nil
}
