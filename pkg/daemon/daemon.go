// Package daemon assembles a running broker from a config file: logger,
// state store, runtime, registries, broker, HTTP server. cmd/broker is a
// thin command around it; end-to-end tests run it with a test runtime.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/registry"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/tlsutil"
)

// Options adjust a daemon beyond its config file.
type Options struct {
	// Runtime replaces the runtime the config selects (tests).
	Runtime runtime.Runtime
	// Version is reported at start.
	Version string
	// Ready, if set, is called with the broker's URL once it serves.
	Ready func(url string)
}

// ConfigError marks errors the operator must fix in the config file.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// daemon is one running broker: store, broker, HTTP server.
type daemon struct {
	o      Options
	cfg    *config.Config
	log    *slog.Logger
	store  *store.Store
	broker *broker.Broker
	reg    *prometheus.Registry
	srv    *http.Server
	ln     net.Listener
	tls    *tls.Config
	auth   osb.Authenticator
	bg     sync.WaitGroup // background loops that use the store
	stopBG context.CancelFunc
}

// Run reads the config file and serves until ctx is cancelled.
func Run(ctx context.Context, cfgPath string, stdout io.Writer, o Options) error {
	cfg, warnings, err := config.Load(cfgPath)
	if err != nil {
		return &ConfigError{fmt.Errorf("reading config file %s: %w", cfgPath, err)}
	}
	log, closeLog, err := newLogger(cfg.Log, stdout)
	if err != nil {
		return &ConfigError{err}
	}
	defer closeLog()
	// client-go reports through klog (throttling waits, watch restarts):
	// into the broker's structured log, not stray text on stderr. klog is
	// process-wide by its nature.
	klog.SetSlogLogger(log.With("component", "client-go"))
	for _, w := range warnings {
		log.Warn("config: " + w)
	}
	d, err := start(ctx, cfg, log, o)
	if err != nil {
		log.Error("broker failed to start", "err", err)
		return err
	}
	return d.run(ctx)
}

// newLogger makes the slog JSON logger from the log: section.
func newLogger(c config.Log, stdout io.Writer) (*slog.Logger, func(), error) {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "panic", "critical", "fatal", "error":
		level = slog.LevelError
	case "warning", "warn":
		level = slog.LevelWarn
	case "notice", "info", "":
		level = slog.LevelInfo
	default:
		level = slog.LevelDebug
	}
	var ws []io.Writer
	if c.Stdout {
		ws = append(ws, stdout)
	}
	closeFn := func() {}
	if c.Logfile != "" {
		f, err := os.OpenFile(c.Logfile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("log.logfile: %w", err)
		}
		ws = append(ws, f)
		closeFn = func() { f.Close() }
	}
	if len(ws) == 0 {
		return nil, nil, errors.New("Cannot have a blank logfile and not log to stdout")
	}
	h := slog.NewJSONHandler(io.MultiWriter(ws...), &slog.HandlerOptions{Level: level})
	return slog.New(h), closeFn, nil
}

func start(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*daemon, error) {
	d := &daemon{o: o, cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, err := openStore(ctx, cfg.Dao, log)
	if err != nil {
		return nil, err
	}
	d.store = st

	rt, cluster := o.Runtime, "kubernetes"
	if rt == nil {
		if rt, cluster, err = newRuntime(ctx, cfg, st, log); err != nil {
			st.Close()
			return nil, err
		}
	}
	clouds, err := cloudsRule(cfg.OpenStack)
	if err != nil {
		st.Close()
		return nil, &ConfigError{err}
	}
	discover, err := newDiscover(cfg, log)
	if err != nil {
		st.Close()
		return nil, &ConfigError{err}
	}
	var rules []broker.SecretRule
	for _, r := range cfg.Secrets {
		rules = append(rules, broker.SecretRule{APBName: r.APBName, Secret: r.Secret})
	}
	b, err := broker.New(ctx, broker.Options{
		Store: st, Runtime: rt, Discover: discover,
		LaunchAPBOnBind: cfg.Broker.LaunchAPBOnBind, Cluster: cluster, DefaultNamespace: cfg.Broker.DefaultNamespace,
		DashboardRedirector: cfg.Broker.DashboardRedirector, Secrets: rules, Clouds: clouds,
		Logger: log, Registerer: d.reg,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	d.broker = b
	// Operations left in flight by a previous broker always resume: losing
	// them would strand instances (asbd did this only with recovery: true).
	n, err := b.Recover(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("recovering operations: %w", err)
	}
	if n > 0 {
		log.Info("resumed operations left in flight", "count", n)
	}
	if cfg.Broker.BootstrapOnStartup {
		if _, err := b.Bootstrap(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	if d.auth, err = newAuthenticator(cfg, log); err != nil {
		st.Close()
		return nil, err
	}
	if err := d.listen(); err != nil {
		st.Close()
		return nil, err
	}
	d.srv = &http.Server{
		Handler:           d.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return d, nil
}

func openStore(ctx context.Context, dao config.Dao, log *slog.Logger) (*store.Store, error) {
	sc := store.Config{DataDir: dao.EtcdDataDir, CAFile: dao.EtcdCAFile, CertFile: dao.EtcdClientCert, KeyFile: dao.EtcdClientKey}
	if ep := dao.Endpoint(); ep != "" {
		sc.Endpoints = []string{ep}
	}
	st, err := store.Open(ctx, sc, log)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	if len(sc.Endpoints) > 0 {
		log.Info("using etcd", "endpoint", sc.Endpoints[0])
	}
	return st, nil
}

// newDiscover wires the registries into the broker's bootstrap.
func newDiscover(cfg *config.Config, log *slog.Logger) (broker.Discover, error) {
	if len(cfg.Registry) == 0 {
		log.Warn("no registry configured: the catalog holds only stored and pushed bundles")
		return nil, nil
	}
	set, err := registry.New(cfg.Registry, registry.Options{Logger: log, Namespace: cfg.OpenShift.Namespace})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]*apb.Spec, error) {
		res, err := set.Bootstrap(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range res.Skipped {
			log.Warn("bundle image skipped", "registry", s.Registry, "image", s.Image, "reason", s.Reason)
		}
		for _, e := range res.Errors {
			log.Warn("registry failed during bootstrap", "err", e)
		}
		return res.Specs, nil
	}, nil
}

func (d *daemon) listen() error {
	addr := d.cfg.Broker.ListenAddress
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	d.ln = ln
	if d.cfg.Broker.PlainHTTP {
		return nil
	}
	var cert tls.Certificate
	if d.cfg.Broker.SSLCert != "" || d.cfg.Broker.SSLCertKey != "" {
		cert, err = tlsutil.Load(d.cfg.Broker.SSLCert, d.cfg.Broker.SSLCertKey)
	} else {
		host, _ := os.Hostname()
		cert, err = tlsutil.SelfSigned([]string{host})
		d.log.Warn("no broker.ssl_cert configured: serving a self-signed certificate")
	}
	if err != nil {
		ln.Close()
		return &ConfigError{err}
	}
	d.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return nil
}

// URL is where the broker listens.
func (d *daemon) URL() string {
	scheme := "https"
	if d.tls == nil {
		scheme = "http"
	}
	return scheme + "://" + d.ln.Addr().String()
}

func (d *daemon) run(ctx context.Context) error {
	d.log.Info("broker listening", "url", d.URL(), "version", d.o.Version)
	go d.refreshLoop(ctx)
	bgCtx, stopBG := context.WithCancel(ctx)
	d.stopBG = stopBG
	d.bg.Add(1)
	go func() { defer d.bg.Done(); d.janitorLoop(bgCtx) }()
	errc := make(chan error, 1)
	go func() {
		ln := d.ln
		if d.tls != nil {
			ln = tls.NewListener(ln, d.tls)
		}
		errc <- d.srv.Serve(ln)
	}()
	if d.o.Ready != nil {
		d.o.Ready(d.URL())
	}
	select {
	case err := <-errc:
		d.close()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	d.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.srv.Shutdown(shutCtx)
	d.close()
	return nil
}

// close waits for operations to notice the cancelled context (they stay
// in flight in etcd and resume after restart), then closes the store.
func (d *daemon) close() {
	done := make(chan struct{})
	go func() { d.broker.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.log.Warn("operations still running at shutdown; they resume after restart")
	}
	if d.stopBG != nil {
		d.stopBG()
	}
	d.bg.Wait()
	d.store.Close()
}

// janitorInterval paces the janitor after its first pass at start.
const janitorInterval = 10 * time.Minute

// janitorLoop removes what operations left behind: at start (after
// recovery re-attached to what still runs), then periodically for
// cleanups that failed while the broker ran.
func (d *daemon) janitorLoop(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		n, err := d.broker.Reap(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Warn("janitor", "err", err, "cleaned_up", n)
		case n > 0:
			d.log.Info("janitor cleaned up sandboxes left behind", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *daemon) refreshLoop(ctx context.Context) {
	iv := d.cfg.Broker.RefreshInterval
	if iv <= 0 {
		d.log.Info("not using a refresh interval")
		return
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.broker.Bootstrap(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("periodic bootstrap failed", "err", err)
			}
		}
	}
}

func (d *daemon) handler() http.Handler {
	srv := osb.NewServer(osb.Options{
		Broker: d.broker, Auth: d.auth, Logger: d.log,
		Metrics: osb.NewMetrics(d.reg), LogRequests: d.cfg.Broker.OutputRequest,
	})
	srv.HandleExtra("POST /v2/bootstrap", http.HandlerFunc(d.bootstrap))
	if d.cfg.Broker.DevBroker {
		srv.HandleExtra("POST /v2/apb", http.HandlerFunc(d.pushSpec))
		srv.HandleExtra("DELETE /v2/apb/{id}", http.HandlerFunc(d.deleteSpec))
		srv.HandleExtra("DELETE /v2/apb", http.HandlerFunc(d.deleteSpec))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{}))
	mux.Handle("/", srv)
	return mux
}

func (d *daemon) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := d.store.Healthy(ctx); err != nil {
		http.Error(w, "etcd unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok"))
}

// bootstrap answers at once and bootstraps in the background, as asbd did
// (a slow registry made a synchronous bootstrap time out at the router).
func (d *daemon) bootstrap(w http.ResponseWriter, r *http.Request) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Minute)
		defer cancel()
		if _, err := d.broker.Bootstrap(ctx); err != nil {
			d.log.Warn("bootstrap failed", "err", err)
		}
	}()
	writeJSON(w, http.StatusOK, map[string]string{"msg": "Bootstrap job started"})
}

func (d *daemon) pushSpec(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	enc := r.FormValue("apbSpec")
	if enc == "" {
		writeOSBError(w, osb.BadRequest("Could not parameter apbSpec"))
		return
	}
	data, err := apb.DecodeLabel(enc)
	if err != nil {
		writeOSBError(w, osb.BadRequest("Invalid parameter encoding: %v", err))
		return
	}
	svc, err := d.broker.AddSpec(r.Context(), data)
	if err != nil {
		writeOSBError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, osb.Catalog{Services: []osb.Service{*svc}})
}

func (d *daemon) deleteSpec(w http.ResponseWriter, r *http.Request) {
	var ids []string
	if id := r.PathValue("id"); id != "" {
		ids = append(ids, id)
	}
	if err := d.broker.DeleteSpecs(r.Context(), ids...); err != nil {
		writeOSBError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	osb.WriteJSON(w, status, v)
}

func writeOSBError(w http.ResponseWriter, err error) {
	if e, ok := osb.AsError(err); ok {
		osb.WriteJSON(w, e.Status, e)
		return
	}
	osb.WriteJSON(w, http.StatusInternalServerError, &osb.Error{Description: "internal error"})
}
