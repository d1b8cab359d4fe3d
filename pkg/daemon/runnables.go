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
