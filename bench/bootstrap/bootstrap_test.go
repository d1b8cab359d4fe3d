// Package bootstrap measures registry discovery: 1,000 bundle images in a
// local docker-registry, bootstrapped cold (every config blob read) and warm
// (digest cache: manifests only), each also as a ratio of two baselines
// measured in the same run: a bare /v2/_catalog listing, and bare manifest
// GETs of every image (the floor of any v2 discovery). Targets (DESIGN.md): cold
// under 10 s, warm under 1 s. Figures are reported, never asserted.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/bootstrap/
package bootstrap

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/registry"
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
	regDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if reg != nil {
		reg.Close()
	}
	if regDir != "" {
		os.RemoveAll(regDir)
	}
	os.Exit(code)
}

// setup starts docker-registry and pushes the images once per process.
func setup(b *testing.B) string {
	setupOnce.Do(func() {
		var err error
		if regDir, err = os.MkdirTemp("", "bench-bootstrap-"); err != nil {
			setupErr = err
			return
		}
		ctx := context.Background()
		// The registry lives for the process; TestMain stops it.
		if reg, err = regtest.StartDockerRegistry(ctx, regDir, regtest.Auth{}); err != nil {
			setupErr = err
			return
		}
		regHost = reg.Host
		n := images()
		start := time.Now()
		setupErr = pushAll(ctx, reg.Host, n, 16)
		pushed = n
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

func newSet(b *testing.B, host string) *registry.Set {
	s, err := registry.New([]registry.Config{{
		Type: "apiv2", Name: "bench", URL: "http://" + host, Tag: "latest", WhiteList: []string{"-apb$"},
	}}, registry.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func bootstrap(b *testing.B, s *registry.Set) {
	res, err := s.Bootstrap(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Specs) != pushed {
		b.Fatalf("bootstrap found %d specs, want %d (skipped %d, errors %v)", len(res.Specs), pushed, len(res.Skipped), res.Errors)
	}
}

// catalogTime is the baseline: one bare paginated _catalog listing.
func catalogTime(b *testing.B, host string) time.Duration {
	reg, err := name.NewRegistry(host, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	names, err := remote.Catalog(context.Background(), reg)
	if err != nil {
		b.Fatal(err)
	}
	if len(names) < pushed {
		b.Fatalf("catalog lists %d repositories, want %d", len(names), pushed)
	}
	return time.Since(start)
}

// manifestsTime is the floor of any discovery over the v2 API: one bare
// manifest GET per image, with the bootstrap's concurrency.
func manifestsTime(b *testing.B, host string) time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: registry.DefaultConcurrency}}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for range registry.DefaultConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/v2/bench/bench-%04d-apb/manifests/latest", host, i), nil)
				if err != nil {
					failed.Add(1)
					continue
				}
				req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	for i := range pushed {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d manifest GETs failed", n)
	}
	return time.Since(start)
}

func BenchmarkBootstrap(b *testing.B) {
	host := setup(b)
	var baseline time.Duration
	b.Run("catalog-baseline", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			total += catalogTime(b, host)
		}
		baseline = total / time.Duration(b.N)
		b.ReportMetric(float64(pushed), "images")
	})
	var floor time.Duration
	b.Run("manifests-baseline", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			total += manifestsTime(b, host)
		}
		floor = total / time.Duration(b.N)
		b.ReportMetric(float64(pushed), "images")
	})
	ratio := func(b *testing.B, total time.Duration) {
		if baseline > 0 {
			b.ReportMetric(float64(total/time.Duration(b.N))/float64(baseline), "x-catalog")
		}
		if floor > 0 {
			b.ReportMetric(float64(total/time.Duration(b.N))/float64(floor), "x-manifests")
		}
		b.ReportMetric(float64(pushed), "images")
	}
	b.Run("cold", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			s := newSet(b, host)
			start := time.Now()
			bootstrap(b, s)
			total += time.Since(start)
		}
		b.ReportMetric((total / time.Duration(b.N)).Seconds(), "s/bootstrap")
		ratio(b, total)
	})
	b.Run("warm", func(b *testing.B) {
		s := newSet(b, host)
		bootstrap(b, s) // fills the digest cache, untimed
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			bootstrap(b, s)
		}
		total := time.Since(start)
		b.ReportMetric((total / time.Duration(b.N)).Seconds(), "s/bootstrap")
		ratio(b, total)
	})
}
