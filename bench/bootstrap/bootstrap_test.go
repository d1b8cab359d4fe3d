// Package bootstrap measures registry discovery of 1,000 bundle images in a
// local docker-registry against two baselines measured in the same run:
//
//   - bare-parallel: the requests any v2 discovery needs (the catalog, then
//     the manifest and the config blob of every image) fetched with plain
//     net/http, registry.DefaultConcurrency at a time over reused
//     connections: the floor of a cold discovery. bare-revalidate is the
//     catalog and one conditional manifest GET per image (If-None-Match
//     the digest bare-parallel saw; 304): the floor of a warm one.
//   - serial-original: the Automation Broker's algorithm (bundle-lib's
//     apiv2 adapter): GET /v2/, the catalog, then per image, one at a time,
//     the manifest and the config blob, each spec decoded as it arrives.
//
// and reports, as s/op and ratios to those baselines (x-bare-parallel,
// x-bare-revalidate, x-serial-original):
//
//   - discovery-cold, discovery-warm: registry.Set.Bootstrap, the first on a
//     new Set, the second with nothing changed (digest cache);
//   - broker-cold, broker-warm: the broker's whole bootstrap, discovery
//     plus storing the specs in an embedded etcd and swapping the catalog;
//     broker-store is broker-cold with the specs already discovered (the
//     storing part alone).
//
// Figures are reported, never asserted. Each figure is measured right
// after its baseline, so that both meet the same load on a shared machine:
// x-<baseline> is the median of those paired ratios; x-serial-original
// divides by the median of serial-original's own runs. At exit the test
// binary prints every figure's median, minimum and maximum, with the
// CPU time this process spent on it (cpu-s/op: the client, never the
// registry). Run it repeated, as the machine is shared:
//
//	go test -run '^$' -bench . -benchtime 1x -count 3 ./bench/bootstrap/
//
// OSB_BENCH_IMAGES sets the image count (default 1000);
// OSB_BENCH_REGISTRY_DIR keeps the registry's storage there, so the images
// are pushed only by the first run that uses the directory.
package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/registry"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/none"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/test/registry/regtest"
)

// images is how many bundles are pushed (OSB_BENCH_IMAGES overrides).
func images() int {
	if n, err := strconv.Atoi(os.Getenv("OSB_BENCH_IMAGES")); err == nil && n > 0 {
		return n
	}
	return 1000
}

var (
	setupOnce sync.Once
	setupErr  error
	regHost   string
	pushed    int
	reg       *regtest.DockerRegistry
	tmpDir    string // removed at exit; empty when OSB_BENCH_REGISTRY_DIR is kept
)

func TestMain(m *testing.M) {
	code := m.Run()
	fmt.Fprint(os.Stderr, summary())
	if reg != nil {
		reg.Close()
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// setup starts docker-registry and pushes the images once per process, or
// once per OSB_BENCH_REGISTRY_DIR.
func setup(b *testing.B) string {
	setupOnce.Do(func() {
		dir := os.Getenv("OSB_BENCH_REGISTRY_DIR")
		if dir == "" {
			if tmpDir, setupErr = os.MkdirTemp("", "bench-bootstrap-"); setupErr != nil {
				return
			}
			dir = tmpDir
		} else if setupErr = os.MkdirAll(dir, 0o700); setupErr != nil {
			return
		}
		ctx := context.Background()
		// The registry lives for the process; TestMain stops it.
		if reg, setupErr = regtest.StartDockerRegistry(ctx, dir, regtest.Auth{}); setupErr != nil {
			return
		}
		regHost = reg.Host
		n := images()
		marker := filepath.Join(dir, fmt.Sprintf("pushed-%d", n))
		if _, err := os.Stat(marker); err == nil {
			pushed = n
			return
		}
		start := time.Now()
		if setupErr = pushAll(ctx, reg.Host, n, 16); setupErr != nil {
			return
		}
		pushed = n
		setupErr = os.WriteFile(marker, nil, 0o600)
		fmt.Fprintf(os.Stderr, "bench/bootstrap: pushed %d images to docker-registry %s in %v\n", n, reg.Host, time.Since(start).Round(time.Millisecond))
	})
	if setupErr != nil {
		b.Fatalf("setup: %v (%s)", setupErr, regtest.InstallHint)
	}
	return regHost
}

func pushAll(ctx context.Context, host string, n, workers int) error {
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				bn := fmt.Sprintf("bench-%04d-apb", i)
				img, err := regtest.BundleImage(regtest.BundleYML(bn), nil)
				if err == nil {
					var ref name.Tag
					if ref, err = name.NewTag(host+"/bench/"+bn+":latest", name.Insecure); err == nil {
						err = remote.Write(ref, img, remote.WithContext(ctx))
					}
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("pushing %s: %w", bn, err):
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func registryConfig(host string) []registry.Config {
	return []registry.Config{{
		Type: "apiv2", Name: "bench", URL: "http://" + host, Tag: "latest", WhiteList: []string{"-apb$"},
	}}
}

func newSet(b *testing.B, host string) *registry.Set {
	s, err := registry.New(registryConfig(host), registry.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func discover(b *testing.B, s *registry.Set) []*apb.Spec {
	res, err := s.Bootstrap(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Specs) != pushed {
		b.Fatalf("bootstrap found %d specs, want %d (skipped %d, errors %v)", len(res.Specs), pushed, len(res.Skipped), res.Errors)
	}
	return res.Specs
}

// samples are every measurement of this process, by name, and ratios
// every paired ratio (a figure over the baseline measured just before it),
// by "figure/baseline"; TestMain prints their medians and spread.
var (
	samplesMu sync.Mutex
	samples   = map[string][]float64{} // seconds
	ratios    = map[string][]float64{}
	order     []string // names in first-measured order, for the summary
)

func record(m map[string][]float64, name string, v float64) {
	samplesMu.Lock()
	defer samplesMu.Unlock()
	if _, ok := samples[name]; !ok {
		if _, ok := ratios[name]; !ok {
			order = append(order, name)
		}
	}
	m[name] = append(m[name], v)
}

func median(m map[string][]float64, name string) float64 {
	samplesMu.Lock()
	defer samplesMu.Unlock()
	return mid(m[name])
}

// mid is the median of v (0 when empty).
func mid(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

// measure runs one figure b.N times, each right after its baseline (when
// base is set), so that both see the same load on a shared machine, and
// reports its median time, the median paired ratio (x-<baseline>) and the
// ratio to the medians of other baselines of this process (vs).
func measure(b *testing.B, name string, run func() cost, baseName string, base func() cost, vs ...string) {
	b.ReportAllocs()
	var own, cpu, paired []float64
	b.ResetTimer()
	for range b.N {
		var bt cost
		if base != nil {
			b.StopTimer()
			bt = base()
			record(samples, baseName, bt.wall.Seconds())
			record(samples, baseName+" cpu", bt.cpu.Seconds())
			b.StartTimer()
		}
		t := run()
		own = append(own, t.wall.Seconds())
		cpu = append(cpu, t.cpu.Seconds())
		if base != nil {
			paired = append(paired, float64(t.wall)/float64(bt.wall))
			record(ratios, name+"/"+baseName, float64(t.wall)/float64(bt.wall))
		}
	}
	for i := range own {
		record(samples, name, own[i])
		record(samples, name+" cpu", cpu[i])
	}
	b.ReportMetric(mid(own), "s/op")
	b.ReportMetric(mid(cpu), "cpu-s/op")
	if len(paired) > 0 {
		b.ReportMetric(mid(paired), "x-"+baseName)
	}
	for _, other := range vs {
		if m := median(samples, other); m > 0 {
			b.ReportMetric(mid(own)/m, "x-"+other)
		}
	}
}

// stamp is a point in wall time and in this process's CPU time (user and
// system, every thread: the client, and the embedded etcd of the broker
// benchmarks; never the registry).
type stamp struct {
	wall time.Time
	cpu  time.Duration
}

// cost is what happened between two stamps.
type cost struct{ wall, cpu time.Duration }

func now() stamp {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return stamp{wall: time.Now(), cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

func (s stamp) cost() cost {
	e := now()
	return cost{wall: e.wall.Sub(s.wall), cpu: e.cpu - s.cpu}
}

// summary is the medians and spreads of every figure and ratio measured.
func summary() string {
	samplesMu.Lock()
	defer samplesMu.Unlock()
	if len(order) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "bench/bootstrap summary, %d images: median [min .. max] (n)\n", pushed)
	line := func(name string, v []float64, unit string) {
		fmt.Fprintf(&sb, "  %-40s %8.3f%s [%.3f .. %.3f] (%d)\n", name, mid(v), unit, slices.Min(v), slices.Max(v), len(v))
	}
	for _, n := range order {
		if v, ok := samples[n]; ok {
			line(n, v, " s")
		}
	}
	for _, n := range order {
		if v, ok := ratios[n]; ok {
			line(n+" (paired)", v, " x")
		}
	}
	return sb.String()
}

// catalogNames pages through /v2/_catalog as the v2 spec says (Link
// header), n per page (0: the registry's default).
func catalogNames(ctx context.Context, client *http.Client, host string, n int) ([]string, error) {
	next := "/v2/_catalog"
	if n > 0 {
		next += fmt.Sprintf("?n=%d", n)
	}
	var names []string
	for next != "" {
		body, hdr, err := get(ctx, client, "http://"+host+next, "")
		if err != nil {
			return nil, err
		}
		var page struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		names = append(names, page.Repositories...)
		next = ""
		if l := hdr.Get("Link"); l != "" {
			next = strings.Trim(strings.TrimSpace(strings.Split(l, ";")[0]), "<>")
		}
	}
	return names, nil
}

func get(ctx context.Context, client *http.Client, url, accept string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, resp.Header, nil
}

func notModified(ctx context.Context, client *http.Client, url, etag string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", manifestAccept)
	req.Header.Set("If-None-Match", etag)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		return fmt.Errorf("GET %s If-None-Match %s: %s, want 304", url, etag, resp.Status)
	}
	return nil
}

const manifestAccept = "application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json"

// etags are the manifest digests bare-parallel saw, for bare-revalidate.
var etags sync.Map // repository -> quoted digest

// bareFetch is the floor of a discovery over the v2 API: the catalog, then
// per image its manifest and (cold) its config blob, or (!cold) only a
// conditional manifest GET answered 304, concurrency at a time over reused
// connections, with nothing parsed but the config digest.
func bareFetch(b *testing.B, host string, concurrency int, cold bool) cost {
	ctx := context.Background()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	start := now()
	names, err := catalogNames(ctx, client, host, 1000)
	if err != nil {
		b.Fatal(err)
	}
	if len(names) < pushed {
		b.Fatalf("catalog lists %d repositories, want %d", len(names), pushed)
	}
	jobs := make(chan string)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				if err := bareImage(ctx, client, host, n, cold); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for _, n := range names {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d images failed: %v", n, firstErr.Load())
	}
	return start.cost()
}

func bareImage(ctx context.Context, client *http.Client, host, repo string, cold bool) error {
	u := "http://" + host + "/v2/" + repo + "/manifests/latest"
	if !cold {
		etag, ok := etags.Load(repo)
		if !ok {
			return fmt.Errorf("%s: no digest from bare-parallel", repo)
		}
		return notModified(ctx, client, u, etag.(string))
	}
	m, hdr, err := get(ctx, client, u, manifestAccept)
	if err != nil {
		return err
	}
	etags.Store(repo, hdr.Get("Etag"))
	var mf struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if err := json.Unmarshal(m, &mf); err != nil {
		return err
	}
	_, _, err = get(ctx, client, "http://"+host+"/v2/"+repo+"/blobs/"+mf.Config.Digest, "")
	return err
}

// serialOriginal is bundle-lib's apiv2 discovery, as the Automation Broker
// ran it: a client of its own (default transport, keep-alive), GET /v2/ at
// adapter construction and again before listing, the catalog followed
// through Link headers, a map to deduplicate, the white list, then
// FetchSpecs: per image, one after the other, the manifest (Accept schema
// 1, signed schema 1, schema 2), the config blob of a schema 2 manifest,
// and the spec decoded from the config's labels.
func serialOriginal(b *testing.B, host string) cost {
	ctx := context.Background()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	start := now()
	for range 2 { // NewAPIV2Adapter, then GetImageNames
		if _, _, err := get(ctx, client, "http://"+host+"/v2/", "application/json"); err != nil {
			b.Fatal(err)
		}
	}
	// bundle-lib asked without n: the registry's default page size.
	names, err := catalogNames(ctx, client, host, 0)
	if err != nil {
		b.Fatal(err)
	}
	uniq := map[string]struct{}{}
	for _, n := range names {
		uniq[n] = struct{}{}
	}
	var specs []*apb.Spec
	for n := range uniq {
		if !strings.HasSuffix(n, "-apb") {
			continue
		}
		sp, err := originalLoadSpec(ctx, client, host, n)
		if err != nil {
			b.Fatalf("%s: %v", n, err)
		}
		specs = append(specs, sp)
	}
	d := start.cost()
	if len(specs) != pushed {
		b.Fatalf("serial discovery found %d specs, want %d", len(specs), pushed)
	}
	return d
}

func originalLoadSpec(ctx context.Context, client *http.Client, host, repo string) (*apb.Spec, error) {
	const accept = "application/vnd.docker.distribution.manifest.v1+json,application/vnd.docker.distribution.manifest.v1+prettyjws,application/vnd.docker.distribution.manifest.v2+json"
	m, hdr, err := get(ctx, client, "http://"+host+"/v2/"+repo+"/manifests/latest", accept)
	if err != nil {
		return nil, err
	}
	if ct := hdr.Get("Content-Type"); ct != "application/vnd.docker.distribution.manifest.v2+json" {
		return nil, fmt.Errorf("manifest media type %q, the bench pushes schema 2", ct)
	}
	var mf struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if err := json.Unmarshal(m, &mf); err != nil {
		return nil, err
	}
	blob, _, err := get(ctx, client, "http://"+host+"/v2/"+repo+"/blobs/"+mf.Config.Digest, "application/json")
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if err := json.Unmarshal(blob, &cfg); err != nil {
		return nil, err
	}
	return apb.SpecFromLabels(cfg.Config.Labels, host+"/"+repo+":latest")
}

// newBroker is a broker over a fresh embedded etcd, discovering through s.
func newBroker(b *testing.B, s *registry.Set) (*broker.Broker, func()) {
	return newBrokerDiscovering(b, func(ctx context.Context) ([]*apb.Spec, error) {
		res, err := s.Bootstrap(ctx)
		if err != nil {
			return nil, err
		}
		return res.Specs, nil
	})
}

func newBrokerDiscovering(b *testing.B, discover broker.Discover) (*broker.Broker, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	dir, err := os.MkdirTemp("", "bench-bootstrap-etcd-")
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(ctx, store.Config{DataDir: dir}, nil)
	if err != nil {
		cancel()
		os.RemoveAll(dir)
		b.Fatal(err)
	}
	br, err := broker.New(ctx, broker.Options{
		Store: st, Runtime: none.Runtime{Reason: "benchmark"}, Discover: discover,
	})
	if err != nil {
		cancel()
		st.Close()
		os.RemoveAll(dir)
		b.Fatal(err)
	}
	return br, func() {
		cancel()
		st.Close()
		os.RemoveAll(dir)
	}
}

func brokerBootstrap(b *testing.B, br *broker.Broker) {
	res, err := br.Bootstrap(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if res.SpecCount != pushed {
		b.Fatalf("broker bootstrap has %d services, want %d", res.SpecCount, pushed)
	}
}

func BenchmarkBootstrap(b *testing.B) {
	host := setup(b)
	if _, _, err := get(context.Background(), http.DefaultClient, "http://"+host+"/v2/", ""); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	bare := func() cost { return bareFetch(b, host, registry.DefaultConcurrency, true) }
	revalidate := func() cost {
		if _, ok := etags.Load("bench/bench-0000-apb"); !ok {
			bare() // the digests to revalidate, untimed
		}
		return bareFetch(b, host, registry.DefaultConcurrency, false)
	}
	timed := func(f func()) cost {
		start := now()
		f()
		return start.cost()
	}

	b.Run("catalog", func(b *testing.B) {
		measure(b, "catalog", func() cost {
			return timed(func() {
				if names, err := catalogNames(ctx, http.DefaultClient, host, 1000); err != nil || len(names) < pushed {
					b.Fatalf("catalog: %d names, %v", len(names), err)
				}
			})
		}, "", nil)
	})
	b.Run("bare-parallel", func(b *testing.B) {
		measure(b, "bare-parallel", bare, "", nil)
	})
	b.Run("bare-revalidate", func(b *testing.B) {
		measure(b, "bare-revalidate", revalidate, "bare-parallel", bare)
	})
	b.Run("serial-original", func(b *testing.B) {
		measure(b, "serial-original", func() cost { return serialOriginal(b, host) }, "bare-parallel", bare)
	})
	b.Run("discovery-cold", func(b *testing.B) {
		measure(b, "discovery-cold", func() cost {
			b.StopTimer()
			s := newSet(b, host)
			b.StartTimer()
			return timed(func() { discover(b, s) })
		}, "bare-parallel", bare, "serial-original")
	})
	b.Run("discovery-warm", func(b *testing.B) {
		s := newSet(b, host)
		discover(b, s) // fills the digest cache, untimed
		measure(b, "discovery-warm", func() cost {
			return timed(func() { discover(b, s) })
		}, "bare-revalidate", revalidate, "serial-original")
	})
	b.Run("broker-cold", func(b *testing.B) {
		measure(b, "broker-cold", func() cost {
			b.StopTimer()
			br, stop := newBroker(b, newSet(b, host))
			defer stop()
			b.StartTimer()
			d := timed(func() { brokerBootstrap(b, br) })
			b.StopTimer()
			return d
		}, "bare-parallel", bare, "serial-original")
	})
	b.Run("broker-store", func(b *testing.B) {
		specs := discover(b, newSet(b, host)) // untimed
		measure(b, "broker-store", func() cost {
			b.StopTimer()
			br, stop := newBrokerDiscovering(b, func(context.Context) ([]*apb.Spec, error) { return specs, nil })
			defer stop()
			b.StartTimer()
			d := timed(func() { brokerBootstrap(b, br) })
			b.StopTimer()
			return d
		}, "", nil, "broker-cold")
	})
	b.Run("broker-warm", func(b *testing.B) {
		br, stop := newBroker(b, newSet(b, host))
		defer stop()
		brokerBootstrap(b, br) // fills the digest cache and the store, untimed
		measure(b, "broker-warm", func() cost {
			return timed(func() { brokerBootstrap(b, br) })
		}, "bare-revalidate", revalidate, "serial-original")
	})
}
