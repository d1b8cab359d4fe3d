// Package openstack runs every OpenStack bundle of registries/ end to end:
// the real bundle images (FROM openstack-apb: real ansible-playbook, the
// openstack.cloud modules, openstacksdk) on a real runtime, driven
// through the broker's OSB API, against the project's OpenStack emulator
// started in-process on 127.0.0.1:0. After each step the emulator's
// state is checked through the real clients (openstacksdk scripts and the
// openstack CLI), never through our own Go code; the suite ends by
// checking, through the emulator's admin API, that nothing it created is
// left in any project.
//
// Runtimes: OSB_TEST_RUNTIMES (default "docker kubernetes"): the Docker
// engine of hack/docker.sh runs every test (the full matrix), the one-node
// cluster of hack/kube-cluster.sh the subset of kubernetes-subset.txt
// (platforms() says why and how to change it); bundle containers and pods
// use the host network and so reach the emulator.
// hack/test.d/40-openstack.sh builds the bundle images on the engine and
// imports the subset's into the node. OSB_SKIP=openstack skips the suite,
// OSB_SKIP=docker or kube one platform.
package openstack

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// delay is how long the emulator's BUILD/creating/PENDING states last.
const delay = 500 * time.Millisecond

var (
	theCloud  *Cloud
	cloudErr  error
	cloudOnce sync.Once
)

// cloud is the suite's emulator (started once, for every test).
func cloud(t *testing.T) *Cloud {
	t.Helper()
	if skipped("openstack") {
		t.Skip("OSB_SKIP names openstack")
	}
	cloudOnce.Do(func() { theCloud, cloudErr = startCloud(delay) })
	if cloudErr != nil {
		t.Fatal(cloudErr)
	}
	requireClients(t)
	t.Cleanup(func() { theCloud.checkProblems(t) })
	return theCloud
}

// TestMain fails the suite when the emulator holds, at the end, any
// resource it did not hold at the start (in any project), or logged an
// internal error.
func TestMain(m *testing.M) {
	flag.Parse()
	// The lifecycles wait on pods and on the emulator's delays far more
	// than they compute: run more of them at once than go test's default
	// (GOMAXPROCS) unless -parallel says otherwise; both platforms' at once
	// (TestBundles), so a few more than one platform's CPU-bound
	// containers need.
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "6")
	}
	os.Exit(runChecked(m))
}

func runChecked(m *testing.M) int {
	var before []Resource
	if !skipped("openstack") {
		cloudOnce.Do(func() { theCloud, cloudErr = startCloud(delay) })
		if cloudErr == nil {
			var err error
			if before, err = theCloud.resources(); err != nil {
				fmt.Fprintf(os.Stderr, "openstack: listing the emulator's resources: %v\n", err)
				return 1
			}
		}
	}
	code := m.Run()
	if table := timesTable(); table != "" {
		fmt.Fprintf(os.Stderr, "openstack: action times (request to final state):\n%s\n", table)
	}
	if theCloud == nil {
		return code
	}
	defer theCloud.close()
	now, err := theCloud.resources()
	if err != nil {
		fmt.Fprintf(os.Stderr, "openstack: listing the emulator's resources: %v\n", err)
		return 1
	}
	if left := leftovers(before, now); len(left) > 0 {
		var s []string
		for _, r := range left {
			s = append(s, r.String())
		}
		fmt.Fprintf(os.Stderr, "FAIL: the suite left %d resources in the emulator:\n  %s\n", len(left), strings.Join(s, "\n  "))
		code = 1
	}
	if p := theCloud.Problems(); len(p) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the emulator had internal errors:\n  %s\n", strings.Join(p, "\n  "))
		code = 1
	}
	return code
}

// suite is what every bundle's test gets: the cloud, the platform and a
// broker on it.
type suite struct {
	cloud *Cloud
	p     Platform
	b     *Broker
}

// bundleTest is one bundle's tests: its lifecycle and its failed
// provision, each in parallel with the other bundles' (every fault a
// failed provision injects names its own instance: Cloud.Fault).
type bundleTest struct {
	bundle    string
	lifecycle func(t *testing.T, s *suite, f *flow)
	failure   func(t *testing.T, s *suite, f *flow)
}

var bundleTests = []bundleTest{
	{"openstack-keypair-apb", keypairLifecycle, keypairFailure},
	{"openstack-network-apb", networkLifecycle, networkFailure},
	{"openstack-server-apb", serverLifecycle, serverFailure},
	{"openstack-volume-apb", volumeLifecycle, volumeFailure},
	{"openstack-object-container-apb", containerLifecycle, containerFailure},
	{"openstack-application-credential-apb", appcredLifecycle, appcredFailure},
}

// TestBundles runs every bundle's lifecycle, then every bundle's failed
// provision, on each platform (those of its subset on a platform that does
// not run the full matrix: platforms()), through one broker per platform.
// The platforms run at once: the lifecycles on Docker keep the CPUs busy
// while those on Kubernetes mostly wait for pods.
func TestBundles(t *testing.T) {
	c := cloud(t)
	for _, p := range platforms(t) {
		t.Run(p.Name(), func(t *testing.T) {
			t.Parallel()
			timePlatform(t, p.Name())
			s := &suite{cloud: c, p: p, b: p.StartBroker(t, brokerSecret(c), "emulator")}
			t.Run("lifecycle", func(t *testing.T) {
				t.Parallel() // with the failed provisions: faults are scoped
				for _, bt := range bundleTests {
					if !p.runs("lifecycle", bt.bundle) {
						continue
					}
					t.Run(bt.bundle, func(t *testing.T) {
						t.Parallel()
						bt.lifecycle(t, s, s.flow(t, bt.bundle))
					})
				}
			})
			t.Run("failed-provision", func(t *testing.T) {
				t.Parallel()
				for _, bt := range bundleTests {
					if !p.runs("failed-provision", bt.bundle) {
						continue
					}
					t.Run(bt.bundle, func(t *testing.T) {
						t.Parallel()
						bt.failure(t, s, s.flow(t, bt.bundle))
					})
				}
			})
		})
	}
}

// podsNetwork is the network the suite's broker Secret says the pods sit
// on: the demo project's own network (the server bundle's network "pods").
const podsNetwork = "private"

// brokerSecret is the broker-wide credentials Secret (topology a): the
// emulator's clouds.yaml (password credentials of project demo by cloud
// emulator) and the pods' network.
func brokerSecret(c *Cloud) map[string][]byte {
	return map[string][]byte{"clouds.yaml": c.CloudsYAML(), "pods_network": []byte(podsNetwork)}
}

// flow makes a namespace for the bundle's instances and a flow in it.
func (s *suite) flow(t *testing.T, bundle string) *flow {
	t.Helper()
	ctx, cancel := contextFor(t, 20*time.Minute)
	t.Cleanup(cancel)
	ns := s.p.Namespace(t, "osb-os-"+strings.TrimSuffix(strings.TrimPrefix(bundle, "openstack-"), "-apb")+"-")
	f := newFlow(t, ctx, s.p, s.b, bundle, ns)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", tail(s.b.Logs.String(), 120))
		}
	})
	return f
}
