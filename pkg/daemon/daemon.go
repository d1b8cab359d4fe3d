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
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/manager"
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

// daemon is one running broker: its components, and the manager that
// owns their background work.
type daemon struct {
	o      Options
	s      *settings
	log    *slog.Logger
	store  *store.Store
	broker *broker.Broker
	reg    *prometheus.Registry
	srv    *http.Server
	ln     net.Listener
	tls    *tls.Config
	auth   osb.Authenticator
	mgr    *manager.Manager
}

// shutdownTimeout bounds the daemon's stop, all runnables together:
// operations in flight are stopped (they resume after a restart) rather
// than waited for.
const shutdownTimeout = 25 * time.Second

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
	s, err := mapConfig(cfg)
	if err != nil {
		return err
	}
	d, err := start(ctx, s, log, o)
	if err != nil {
		log.Error("broker failed to start", "err", err)
		return err
	}
	return d.mgr.Start(ctx)
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

// start builds the broker from its settings and the manager that will run
// it. What it opened is closed again when it fails.
func start(ctx context.Context, s *settings, log *slog.Logger, o Options) (d *daemon, err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	d = &daemon{o: o, s: s, log: log, reg: prometheus.NewRegistry()}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	kc := &cluster{where: s.cluster}

	st, err := store.Open(ctx, s.store, log)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	undo = append(undo, func() { st.Close() })
	if len(s.store.Endpoints) > 0 {
		log.Info("using etcd", "endpoint", s.store.Endpoints[0])
	}
	d.store = st

	rt, clusterName := o.Runtime, "kubernetes"
	if rt == nil {
		if rt, clusterName, err = newRuntime(ctx, s, kc, st, log); err != nil {
			return nil, err
		}
	}
	discover, err := newDiscover(s, kc, log)
	if err != nil {
		return nil, err
	}
	users, err := newUsers(s, kc, log)
	if err != nil {
		return nil, err
	}
	b, err := broker.New(ctx, broker.Options{
		Store: st, Runtime: rt, Discover: discover,
		LaunchAPBOnBind: s.broker.launchAPBOnBind, Cluster: clusterName, DefaultNamespace: s.broker.defaultNamespace,
		DashboardRedirector: s.broker.dashboardRedirector, Secrets: s.broker.secrets, Clouds: s.broker.clouds,
		JobRetention: s.broker.jobRetention, JobHistory: s.broker.jobHistory,
		SecretKeys: secretKeys(s, kc, log), Users: users,
		Logger: log, Registerer: d.reg,
	})
	if err != nil {
		return nil, err
	}
	d.broker = b
	if s.catalog.onStartup {
		if _, err := b.Bootstrap(ctx); err != nil {
			return nil, err
		}
		releaseMemory()
	}
	if d.auth, err = newAuthenticator(s, kc, log); err != nil {
		return nil, err
	}
	if err := d.listen(); err != nil {
		return nil, err
	}
	undo = append(undo, func() { d.ln.Close() })
	catalog := newCatalogLoop(b, s.catalog.every, log)
	d.srv = &http.Server{
		Handler: d.handler(catalog.request),
		// Slow clients are cut off: headers within ReadHeaderTimeout, the
		// body within read_body_timeout after them (the OSB layer sets
		// that deadline per request and lifts it once the body is read);
		// ReadTimeout bounds both for every route.
		ReadHeaderTimeout: s.http.readHeaderTimeout,
		ReadTimeout:       s.http.readHeaderTimeout + s.http.readBodyTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	d.mgr = manager.New(manager.Options{Logger: log, ShutdownTimeout: shutdownTimeout})
	for _, r := range []struct {
		name string
		r    manager.Runnable
	}{
		{"store", closeStore(st, log)},
		{"operations", b},
		{"recovery", recovery(b, log)},
		{"janitor", janitor(b, log)},
		{"maintenance", maintenance(b, st, s.compaction, log)},
		{"catalog", catalog},
		{"http", manager.RunnableFunc(d.serve)},
	} {
		if err := d.mgr.Add(r.name, r.r); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// releaseMemory hands what a bootstrap allocated and dropped (every
// bundle's apb.yml read, parsed and converted: tens of MB for 1,000
// bundles, against some 15 MB the catalog keeps) back to the system at
// once, rather than keeping it for a heap that will not grow so large
// again: an idle broker's RSS is then what it holds.
func releaseMemory() { debug.FreeOSMemory() }

// newDiscover wires the registries into the broker's bootstrap.
func newDiscover(s *settings, kc *cluster, log *slog.Logger) (broker.Discover, error) {
	if len(s.registries) == 0 {
		log.Warn("no registry configured: the catalog holds only stored and pushed bundles")
		return nil, nil
	}
	ro := registry.Options{Logger: log, Namespace: s.namespace}
	if needsCluster(s.registries) {
		// Image streams and credentials Secrets are read from the cluster;
		// without one, the registry's error says what is missing.
		if _, cs, err := kc.client(); err == nil {
			ro.Kube = cs
		}
	}
	set, err := registry.New(s.registries, ro)
	if err != nil {
		return nil, &ConfigError{err}
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

// needsCluster reports whether a registry reads from the Kubernetes API.
func needsCluster(rs []registry.Config) bool {
	for _, r := range rs {
		if r.Type == "local_openshift" || r.AuthType == "secret" {
			return true
		}
	}
	return false
}

func (d *daemon) listen() error {
	h := d.s.http
	ln, err := net.Listen("tcp", h.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", h.listen, err)
	}
	d.ln = ln
	if h.plainHTTP {
		return nil
	}
	var cert tls.Certificate
	if h.sslCert != "" || h.sslKey != "" {
		cert, err = tlsutil.Load(h.sslCert, h.sslKey)
	} else {
		host, _ := os.Hostname()
		cert, err = tlsutil.SelfSigned([]string{host})
		d.log.Warn("no broker.ssl_cert configured: serving a self-signed certificate")
	}
	if err != nil {
		ln.Close()
		return &ConfigError{err}
	}
	d.tls = tlsutil.ServerConfig(cert)
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

// handler serves /healthz and /metrics at the root, and everything else
// through the OSB layer, under each of its prefixes. It is no ServeMux:
// one would redirect paths with ".." (307, HTML) before the OSB layer
// could refuse them with its error body.
func (d *daemon) handler(bootstrap func(context.Context) error) http.Handler {
	o := osb.Options{
		Broker: d.broker, Auth: d.auth, Logger: d.log,
		Metrics: osb.NewMetrics(d.reg), LogRequests: d.s.http.logRequests,
		Bootstrap: bootstrap, BodyTimeout: d.s.http.readBodyTimeout, Prefix: d.s.http.prefix,
	}
	if d.s.http.devBroker {
		o.Dev = d.broker
	}
	srv := osb.NewServer(o)
	var metrics http.Handler = promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{})
	if d.s.http.metricsAuth {
		metrics = srv.Authenticated("metrics", metrics)
	}
	healthz := http.HandlerFunc(d.healthz)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h http.Handler
		switch r.URL.Path {
		case "/healthz":
			h = healthz
		case "/metrics":
			h = metrics
		default:
			srv.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
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
