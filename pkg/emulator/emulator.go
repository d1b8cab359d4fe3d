package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/cinder"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/designate"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/glance"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/heat"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/ironic"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/keystone"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/magnum"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/manila"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/neutron"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/nova"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/octavia"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/swift"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/trove"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/zaqar"
)

// Options configures Start.
type Options struct {
	// Listen is host:port; default 127.0.0.1:5000. Tests use 127.0.0.1:0.
	Listen string
	// AllowRemote permits a non-loopback Listen address.
	AllowRemote bool
	// Delay is how long BUILD/creating/PENDING_* states last.
	Delay time.Duration
	// StateFile, when set, is restored at start and written (atomically)
	// after changes and on Close.
	StateFile string
	// TokenTTL is the lifetime of Keystone tokens (default 1 h).
	TokenTTL time.Duration
	// Logger receives the emulator's logs (default: discarded).
	Logger *slog.Logger
}

// services returns every service of the emulator, Keystone first. Adding a
// service is one line here (see HOWTO.md).
func services(env *core.Env, ks *keystone.Keystone) []core.Service {
	return []core.Service{
		ks,
		glance.New(env),
		nova.New(env),
		ironic.New(env),
		neutron.New(env, neutron.Projects{Admin: ks.ProjectID("admin"), Private: []string{ks.ProjectID("demo"), ks.ProjectID("alt")}}),
		trove.New(env),
		designate.New(env),
		octavia.New(env),
		heat.New(env),
		cinder.New(env), cinder.VolumeV3(),
		manila.New(env), manila.ShareV2(),
		swift.New(env), swift.NewRootInfo(),
		zaqar.New(env),
		magnum.New(env),
	}
}

// Cloud is a running emulator.
type Cloud struct {
	opts     Options
	env      *core.Env
	ks       *keystone.Keystone
	services []mounted
	admin    *core.Router
	faults   *faults
	persist  *persister
	ln       net.Listener
	srv      *http.Server
	url      string
	served   chan struct{}

	mu       sync.Mutex
	problems []string
	initial  map[string]json.RawMessage // state right after construction, for reset
}

type mounted struct {
	svc    core.Service
	spec   core.Spec
	router *core.Router
}

// Start builds the services, restores the state file, listens and serves
// until Close.
func Start(ctx context.Context, opts Options) (*Cloud, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:5000"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := checkLoopback(opts.Listen, opts.AllowRemote); err != nil {
		return nil, err
	}
	c := &Cloud{opts: opts, faults: newFaults(), served: make(chan struct{})}
	c.persist = newPersister(opts.StateFile, opts.Logger, c.snapshot)
	c.env = core.NewEnv(core.EnvConfig{Delay: opts.Delay, Log: opts.Logger, OnChange: c.persist.changed, OnProblem: c.problem})
	c.ks = keystone.New(c.env, keystone.Options{TokenTTL: opts.TokenTTL})
	saved, err := c.readState()
	if err != nil {
		return nil, err
	}
	// Keystone is restored first: the other services' start state (and so
	// what a reset brings back) is built for the built-in projects' ids,
	// which the -state file holds (Neutron's private networks, also when
	// the file was saved by an emulator without Neutron).
	if err := c.restoreService("keystone", c.ks.State(), saved); err != nil {
		return nil, err
	}
	var specs []core.Spec
	seen := map[string]bool{}
	for _, s := range services(c.env, c.ks) {
		spec := s.Spec()
		if seen[spec.Name] || seen["type:"+spec.Type] {
			return nil, fmt.Errorf("emulator: service %s (%s) registered twice", spec.Name, spec.Type)
		}
		seen[spec.Name], seen["type:"+spec.Type] = true, true
		rt := core.NewRouter(c.env, spec)
		s.Routes(rt)
		c.services = append(c.services, mounted{svc: s, spec: rt.Spec(), router: rt})
		specs = append(specs, rt.Spec())
	}
	// Longest prefix first, so /image never falls to Keystone at the root.
	sort.SliceStable(c.services, func(i, j int) bool { return len(c.services[i].spec.Prefix) > len(c.services[j].spec.Prefix) })
	c.admin = core.NewRouter(c.env, core.Spec{Name: "emulator", Type: "emulator-admin", Prefix: AdminPrefix,
		Errors: core.KeystoneErrors, Hidden: true})
	c.adminRoutes(c.admin)

	c.initial = map[string]json.RawMessage{}
	for _, m := range c.services {
		if st := m.svc.State(); st != nil {
			snap, err := st.Snapshot()
			if err != nil {
				return nil, fmt.Errorf("emulator: %s state: %w", m.spec.Name, err)
			}
			c.initial[m.spec.Name] = snap
		}
	}
	for _, m := range c.services {
		if m.svc == core.Service(c.ks) {
			continue
		}
		if err := c.restoreService(m.spec.Name, m.svc.State(), saved); err != nil {
			return nil, err
		}
	}
	if saved != nil {
		opts.Logger.Info("state restored", "file", opts.StateFile)
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	c.ln = ln
	c.url = "http://" + localAddr(ln.Addr().(*net.TCPAddr))
	c.env.Bind(c, strings.TrimPrefix(c.url, "http://"), specs, c.ks)
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)}
	go func() {
		defer close(c.served)
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.problem("serving: " + err.Error())
		}
	}()
	// The state restored (or the fresh start state) is saved at once, so a
	// -state file exists as soon as the emulator is ready.
	c.persist.changed()
	return c, nil
}

func checkLoopback(listen string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("emulator: -listen %q: %w", listen, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("emulator: -listen %s is not a loopback address; the emulator's users and passwords are not meant for a network: pass -allow-remote to listen there anyway", listen)
}

// localAddr is the listener's address as a local client reaches it: an
// unspecified address (0.0.0.0, ::, with -allow-remote) becomes 127.0.0.1.
// Remote clients get catalog URLs under the host they used; only their
// clouds.yaml auth_url needs the emulator's name.
func localAddr(a *net.TCPAddr) string {
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	return a.String()
}

// URL is the emulator's root, e.g. http://127.0.0.1:5000.
func (c *Cloud) URL() string { return c.url }

// AuthURL is the Keystone URL clients are given (clouds.yaml auth_url).
func (c *Cloud) AuthURL() string { return c.url + "/v3" }

// Env returns the services' environment (for tests of cross-service
// behaviour).
func (c *Cloud) Env() *core.Env { return c.env }

// Problems returns the internal errors so far (500s nobody injected,
// panics). Tests fail when there is any.
func (c *Cloud) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

func (c *Cloud) problem(msg string) {
	c.mu.Lock()
	c.problems = append(c.problems, msg)
	c.mu.Unlock()
}

// Close stops serving, stops the timers and saves the state.
func (c *Cloud) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.srv.Shutdown(ctx)
	<-c.served
	c.env.Close()
	if perr := c.persist.close(); perr != nil && err == nil {
		err = perr
	}
	return err
}

// ServeHTTP is the emulator's root handler: request id, recovery, fault
// injection, then the admin API or the service owning the path.
func (c *Cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := "req-" + core.NewUUID()
	w.Header().Set("X-Openstack-Request-Id", rid)
	sw := &statusWriter{ResponseWriter: w}
	r = r.WithContext(core.WithRequestID(r.Context(), rid))
	core.Recover(c.env, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := c.faults.match(r); f != nil {
			if injected := f.apply(w, r); injected {
				sw.injected = true
				return
			}
		}
		c.dispatch(w, r)
	})).ServeHTTP(sw, r)
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 500 && !sw.injected {
		c.problem(fmt.Sprintf("%s %s answered %d (request %s)", r.Method, r.URL.Path, status, rid))
	}
	c.opts.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", status,
		"ms", float64(time.Since(start).Microseconds())/1000, "request_id", rid)
}

func (c *Cloud) dispatch(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == AdminPrefix || strings.HasPrefix(p, AdminPrefix+"/") {
		serveUnder(c.admin, AdminPrefix, w, r)
		return
	}
	for _, m := range c.services {
		pre := m.spec.Prefix
		if pre == "" || p == pre || strings.HasPrefix(p, pre+"/") {
			serveUnder(m.router, pre, w, r)
			return
		}
	}
	core.KeystoneErrors(w, r, core.NotFound("The resource could not be found."))
}

// serveUnder strips prefix from the path, as the real services see their
// path behind the devstack-style mount.
func serveUnder(h http.Handler, prefix string, w http.ResponseWriter, r *http.Request) {
	full := r.URL.Path
	r2 := r.WithContext(core.WithPaths(r.Context(), full, prefix))
	if prefix != "" {
		u := *r.URL
		u.Path = strings.TrimPrefix(full, prefix)
		if u.RawPath != "" {
			u.RawPath = strings.TrimPrefix(u.RawPath, prefix)
		}
		if u.Path == "" {
			u.Path = "/"
			u.RawPath = ""
		}
		r2.URL = &u
	}
	h.ServeHTTP(w, r2)
}

// statusWriter remembers the status for the access log and the 500 check.
type statusWriter struct {
	http.ResponseWriter
	status   int
	injected bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
