package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/manager"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// The daemon's background work, each piece a manager.Runnable. They are
// added in this order and stopped in the reverse one: the HTTP server
// first, the store last.

// closeStore holds the store open until the daemon stops: it is stopped
// last, once nothing else uses it.
func closeStore(st *store.Store, log *slog.Logger) manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		if err := st.Close(); err != nil {
			log.Debug("closing the store", "err", err)
		}
		return nil
	})
}

// recovery resumes the operations a previous broker left in flight, once:
// losing them would strand instances (asbd did this only with recovery:
// true). Only the leader recovers, so no operation runs twice.
func recovery(b *broker.Broker, log *slog.Logger) manager.Runnable {
	return manager.NeedsLeader(manager.RunnableFunc(func(ctx context.Context) error {
		n, err := b.Recover(ctx)
		if err != nil {
			return fmt.Errorf("recovering operations: %w", err)
		}
		if n > 0 {
			log.Info("resumed operations left in flight", "count", n)
		}
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

// catalogLoop bootstraps the catalog from the registries every
// broker.refresh_interval and when asked (POST /v2/bootstrap), one
// bootstrap at a time; requests that come while one runs are served by
// the next.
type catalogLoop struct {
	b     bootstrapper
	every time.Duration
	log   *slog.Logger
	asked chan struct{}
}

// bootstrapper is what the catalog loop needs of the broker.
type bootstrapper interface {
	Bootstrap(ctx context.Context) (*broker.BootstrapResult, error)
}

func newCatalogLoop(b bootstrapper, every time.Duration, log *slog.Logger) *catalogLoop {
	return &catalogLoop{b: b, every: every, log: log, asked: make(chan struct{}, 1)}
}

// request asks for a bootstrap and returns at once, as asbd answered
// before the registries were read (a slow registry made a synchronous
// bootstrap time out at the router).
func (c *catalogLoop) request(context.Context) error {
	select {
	case c.asked <- struct{}{}:
	default: // one is pending already
	}
	return nil
}

// NeedLeaderElection: the catalog in the store is written by one replica.
func (c *catalogLoop) NeedLeaderElection() bool { return true }

func (c *catalogLoop) Start(ctx context.Context) error {
	var tick <-chan time.Time
	if c.every > 0 {
		t := time.NewTicker(c.every)
		defer t.Stop()
		tick = t.C
	} else {
		c.log.Info("not using a refresh interval")
	}
	for {
		why := "periodic"
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		case <-c.asked:
			why = "requested"
		}
		if ctx.Err() != nil {
			return nil
		}
		bctx, cancel := context.WithTimeout(ctx, bootstrapTimeout)
		if _, err := c.b.Bootstrap(bctx); err != nil && ctx.Err() == nil {
			c.log.Warn(why+" bootstrap failed", "err", err)
		}
		cancel()
		releaseMemory()
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
