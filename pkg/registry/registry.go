package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"

	"k8s.io/client-go/kubernetes"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// DefaultConcurrency bounds the images read at once from one registry.
const DefaultConcurrency = 16

// Options are what adapters need from the broker.
type Options struct {
	Logger     *slog.Logger
	HTTPClient *http.Client
	// Kube is needed only by local_openshift and auth_type secret.
	Kube kubernetes.Interface
	// Namespace is the broker namespace, where auth_type secret looks.
	Namespace string
	// Concurrency bounds the requests in flight to one registry (default
	// DefaultConcurrency).
	Concurrency int
}

// Skipped is an image that is not a usable bundle, and why.
type Skipped struct {
	Registry, Image, Reason string
}

// Result is what one bootstrap found.
type Result struct {
	// Specs are the valid bundles, finished (catalog name, ids, image,
	// registry) and with their manifest digest.
	Specs []*apb.Spec
	// Images counts image names discovered, before filtering (the
	// Automation Broker's image_count).
	Images  int
	Skipped []Skipped
	// Errors are registries that failed as a whole without fail_on_error.
	Errors []error
}

// ref is one image an adapter found: how to pull it and the digest of what
// was read, the cache key. state carries what resolve already fetched to
// read (a manifest, a file) so read does not fetch it again.
type ref struct {
	name   string // the name filtering saw
	image  string // pull reference given to Spec.Finish
	digest string
	state  any
}

// adapter is one registry type.
type adapter interface {
	// list returns the image names the registry offers, before filtering.
	list(ctx context.Context) ([]string, error)
	// resolve finds an image's digest cheaply (a manifest, never a blob).
	// prev is the digest the last bootstrap read for name, when its
	// outcome is cached: an adapter that can ask "changed since?" returns
	// a ref without state when the answer is no.
	resolve(ctx context.Context, name, prev string) (ref, error)
	// read returns the parsed spec of a resolved image (the expensive part).
	read(ctx context.Context, r ref) (*apb.Spec, error)
}

// registry is one configured entry with its adapter, its bound on
// concurrent reads and its digest cache.
type registry struct {
	cfg    Config
	a      adapter
	filter *filter
	sem    chan struct{}

	mu    sync.Mutex
	cache map[string]cached // digest -> parse outcome
	last  map[string]string // image name -> digest the last bootstrap saw
}

// cached is the outcome of reading one digest: a spec before Finish, or why
// it is not a bundle (so a bad image is not re-read either).
type cached struct {
	spec *apb.Spec
	err  error
}

// Set is the configured registries.
type Set struct {
	regs []*registry
	log  *slog.Logger
}

// New checks the registries (Validate) and builds one adapter each. A bad
// entry is refused with a *ConfigError naming the registry and the field.
func New(cfgs []Config, o Options) (*Set, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if err := Validate(cfgs); err != nil {
		return nil, err
	}
	if o.HTTPClient == nil {
		// One kept-alive connection per concurrent request to a registry,
		// never more: the default keeps 2 idle per host, so the others
		// were opened and closed per request, and a request finding none
		// idle a moment before one came back opened one more.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.Concurrency
		t.MaxConnsPerHost = o.Concurrency
		t.MaxIdleConns = max(t.MaxIdleConns, 4*o.Concurrency)
		o.HTTPClient = &http.Client{Transport: t}
	}
	s := &Set{log: o.Logger}
	var errs []error
	for i, c := range cfgs {
		if c.Tag == "" {
			c.Tag = DefaultTag
		}
		k, _ := kindOf(c.Type)
		a, err := k.build(c, o)
		if err != nil {
			errs = append(errs, &ConfigError{Index: i, Name: c.Name, Err: err})
			continue
		}
		f := newFilter(c.WhiteList, c.BlackList)
		for _, bad := range f.invalid {
			o.Logger.Warn("registry list entry is not a valid regular expression, ignored", "registry", c.Name, "err", bad)
		}
		if len(f.white) == 0 {
			o.Logger.Warn("registry has no white_list, so no bundle from it reaches the catalog (\".*\" allows all)", "registry", c.Name)
		}
		s.regs = append(s.regs, &registry{cfg: c, a: a, filter: f, sem: make(chan struct{}, o.Concurrency), cache: map[string]cached{}})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Bootstrap discovers every registry in parallel and returns the valid
// specs. A registry that fails as a whole is an error only with
// fail_on_error (or when every registry failed); bad images are skipped.
func (s *Set) Bootstrap(ctx context.Context) (*Result, error) {
	type out struct {
		specs   []*apb.Spec
		images  int
		skipped []Skipped
		err     error
	}
	outs := make([]out, len(s.regs))
	var wg sync.WaitGroup
	for i, r := range s.regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outs[i]
			o.specs, o.images, o.skipped, o.err = s.discover(ctx, r)
		}()
	}
	wg.Wait()

	res := &Result{}
	var fatal []error
	for i, o := range outs {
		r := s.regs[i]
		res.Images += o.images
		res.Skipped = append(res.Skipped, o.skipped...)
		if o.err != nil {
			err := fmt.Errorf("registry %q: %w", r.cfg.Name, o.err)
			if r.cfg.FailOnError {
				fatal = append(fatal, err)
			}
			res.Errors = append(res.Errors, err)
			continue
		}
		res.Specs = append(res.Specs, o.specs...)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if len(fatal) > 0 {
		return nil, fmt.Errorf("bootstrap: %w", errors.Join(fatal...))
	}
	if len(s.regs) > 0 && len(res.Errors) == len(s.regs) {
		return nil, fmt.Errorf("all registries failed on bootstrap: %w", errors.Join(res.Errors...))
	}
	sort.Slice(res.Specs, func(i, j int) bool { return res.Specs[i].FQName < res.Specs[j].FQName })
	return res, nil
}

// discover lists one registry, filters the names and reads the images
// concurrently, within the registry's bound.
func (s *Set) discover(ctx context.Context, r *registry) ([]*apb.Spec, int, []Skipped, error) {
	names, err := r.a.list(ctx)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("listing images: %w", err)
	}
	names = dedup(names)
	pass, filtered := r.filter.apply(names)
	if len(filtered) > 0 {
		s.log.Info("bundles filtered by white/black list", "registry", r.cfg.Name, "count", len(filtered), "names", truncate(filtered, 20))
	}

	specs := make([]*apb.Spec, len(pass))
	skips := make([]*Skipped, len(pass))
	used := make([]string, len(pass))
	var wg sync.WaitGroup
	for i, n := range pass {
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, len(names), nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-r.sem; wg.Done() }()
			spec, digest, err := r.fetch(ctx, n)
			used[i] = digest
			if err != nil {
				skips[i] = &Skipped{Registry: r.cfg.Name, Image: n, Reason: err.Error()}
				return
			}
			specs[i] = spec
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, len(names), nil, err
	}
	r.prune(pass, used)

	var out []*apb.Spec
	var skipped []Skipped
	for i := range pass {
		switch {
		case specs[i] != nil:
			out = append(out, specs[i])
		case skips[i] != nil:
			skipped = append(skipped, *skips[i])
		}
	}
	s.log.Info("registry discovered", "registry", r.cfg.Name, "images", len(names), "passed_filter", len(pass), "bundles", len(out), "skipped", len(skipped))
	return out, len(names), skipped, nil
}

// fetch returns the finished spec of one image, reading it only when its
// digest is not in the cache. It also returns the digest it saw.
func (r *registry) fetch(ctx context.Context, name string) (*apb.Spec, string, error) {
	r.mu.Lock()
	prev := r.last[name]
	if _, ok := r.cache[prev]; !ok {
		prev = ""
	}
	r.mu.Unlock()
	ref, err := r.a.resolve(ctx, name, prev)
	if err != nil {
		return nil, "", err
	}
	r.mu.Lock()
	c, hit := r.cache[ref.digest]
	r.mu.Unlock()
	if !hit {
		c.spec, c.err = r.a.read(ctx, ref)
		if c.err != nil && ctx.Err() != nil {
			// Cancelled mid-read: not the image's fault, do not remember it.
			return nil, ref.digest, c.err
		}
		if c.err != nil && !permanent(c.err) {
			return nil, ref.digest, c.err
		}
		r.mu.Lock()
		r.cache[ref.digest] = c
		r.mu.Unlock()
	}
	if c.err != nil {
		return nil, ref.digest, c.err
	}
	spec := copySpec(c.spec)
	spec.Finish(r.cfg.Name, ref.image)
	spec.Digest = ref.digest
	return spec, ref.digest, nil
}

// prune keeps only the digests this bootstrap saw (used[i] is the digest
// of names[i]), so the cache holds no more than the registry does, and
// remembers them for the next bootstrap's conditional requests.
func (r *registry) prune(names, used []string) {
	keep := make(map[string]bool, len(used))
	last := make(map[string]string, len(used))
	for i, d := range used {
		if d != "" {
			keep[d] = true
			last[names[i]] = d
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = last
	for d := range r.cache {
		if !keep[d] {
			delete(r.cache, d)
		}
	}
}

// specError marks an image's content as unusable (no label, bad YAML, bad
// version): the same digest will fail the same way, so it is cached.
type specError struct{ err error }

func (e *specError) Error() string { return e.err.Error() }
func (e *specError) Unwrap() error { return e.err }

func permanent(err error) bool {
	var se *specError
	return errors.As(err, &se)
}

// copySpec gives each bootstrap its own Spec and Plans, so Finish and the
// broker's changes never reach the cached value.
func copySpec(s *apb.Spec) *apb.Spec {
	c := *s
	c.Plans = append([]apb.Plan(nil), s.Plans...)
	c.Tags = append([]string(nil), s.Tags...)
	return &c
}

func dedup(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := names[:0:0]
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

func truncate(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
}
