package openstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	"github.com/openstack-service-broker/openstack-service-broker/test/docker/dockertest"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// dockerPlatform is the Docker runtime on the engine hack/docker.sh
// starts (Debian's docker.io), as `make run` uses it: the broker on an
// embedded etcd with broker.runtime docker, the bundle images taken from
// the engine itself (hack/bundles.sh builds them there: nothing is pushed
// or imported), containers on the host network so that bundles reach the
// emulator on 127.0.0.1, and the broker-wide clouds.yaml a directory
// under docker.secrets_dir.
//
// What Kubernetes gives namespaces the engine does not have: a namespace
// here is only the name in the OSB context (the containers' target label
// and POD_NAMESPACE), and every Secret is one of the broker's own sources
// (a directory under secrets_dir). So the Docker runtime refuses a
// tenant's credentials_secret (topology b) outright; a namespace's own
// credentials are, on Docker, an entry of the broker-wide clouds.yaml that
// the instance picks with the cloud parameter (TenantCredentials).
type dockerPlatform struct {
	c *client.Client
	// Set by StartBroker, for the broker's tests.
	secretsDir string
	tag        string
	rt         *dockerruntime.Runtime
	log        *kubetest.Buffer
	// cloudsMu orders the edits of the broker-wide clouds.yaml.
	cloudsMu sync.Mutex
}

var (
	engineOnce sync.Once
	engine     *client.Client
	engineErr  error
)

func newDockerPlatform(t *testing.T) *dockerPlatform {
	t.Helper()
	engineOnce.Do(func() {
		engine, engineErr = dockerruntime.NewClient("")
		if engineErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, engineErr = engine.ServerVersion(ctx, client.ServerVersionOptions{})
	})
	if engineErr != nil {
		t.Fatalf("no Docker engine answers (%v): install Debian's docker.io and start it with hack/docker.sh, "+
			"or leave the docker platform out with OSB_SKIP=docker", engineErr)
	}
	return &dockerPlatform{c: engine, log: &kubetest.Buffer{}}
}

func (p *dockerPlatform) Name() string { return "docker" }

// bundlePrefix is where hack/bundles.sh puts the bundle images
// ($OSB_IMAGE_PREFIX/<bundle>:latest, hack/images.sh's default prefix).
func bundlePrefix() string {
	if p := os.Getenv("OSB_IMAGE_PREFIX"); p != "" {
		return p
	}
	return "openstack-service-broker"
}

// tagBundles tags every bundle image of registries/ as the broker's local
// registry "local" names it, under a tag of this broker's own (so runs
// and `make run`'s local/<bundle>:latest leave each other alone), and
// removes those tags when t ends; the images themselves stay.
func (p *dockerPlatform) tagBundles(t *testing.T, registries string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	tag := "e2e-" + hex.EncodeToString(b[:])
	entries, err := os.ReadDir(registries)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(registries, e.Name(), "Dockerfile")); err != nil {
			continue
		}
		src, dst := bundlePrefix()+"/"+e.Name()+":latest", "local/"+e.Name()+":"+tag
		if _, err := p.c.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: dst}); err != nil {
			if cerrdefs.IsNotFound(err) {
				t.Fatalf("bundle image %s is not on the Docker engine: build the bundles with hack/bundles.sh "+
					"(make test: hack/test.d/40-openstack.sh), or OSB_SKIP=docker", src)
			}
			t.Fatalf("tagging %s as %s: %v", src, dst, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := p.c.ImageRemove(ctx, dst, client.ImageRemoveOptions{}); err != nil {
				t.Logf("untagging %s: %v", dst, err)
			}
		})
	}
	return tag
}

func (p *dockerPlatform) StartBroker(t *testing.T, files map[string][]byte, cloud string) *Broker {
	t.Helper()
	dir := t.TempDir()
	p.secretsDir = filepath.Join(dir, "secrets")
	p.PutSecret(t, "", cloudsSecret, files)
	registries, err := filepath.Abs("../../registries")
	if err != nil {
		t.Fatal(err)
	}
	p.tag = p.tagBundles(t, registries)
	work := filepath.Join(dir, "work")
	b := dockertest.StartBroker(t, p.c, dir, dockertest.Options{
		Registry: []map[string]any{{"type": "local", "name": "local", "path": registries, "tag": p.tag, "white_list": []string{".*"}}},
		// Bundles wait for OpenStack's asynchronous states; on a busy
		// 2-core machine an action may take minutes.
		Docker:    map[string]any{"secrets_dir": p.secretsDir, "work_dir": work, "timeout": "6m"},
		OpenStack: map[string]any{"clouds_secret": cloudsSecret, "cloud": cloud},
		LogLevel:  "info",
	})
	// Direct actions run under a broker id of their own: the broker's
	// janitor removes containers of its id whose operation it does not
	// know, which a direct action's would be.
	rt, err := dockerruntime.New(dockerruntime.Config{
		BrokerID: "osb-test-openstack-direct-" + newID(t)[:8], SecretsDir: p.secretsDir, WorkDir: work,
		PullPolicy: dockerruntime.PullNever, Timeout: 6 * time.Minute,
	}, p.c, kubetest.Logger(p.log))
	if err != nil {
		t.Fatal(err)
	}
	p.rt = rt
	// Registered after the broker's stop, so it runs first: every action
	// of the broker and every direct one is released by the time the
	// tests of this broker end; what is left is a cleanup that does not
	// work, reported and then removed.
	t.Cleanup(func() {
		deadline := time.Now().Add(30 * time.Second)
		left := b.Containers(t, p.c)
		for len(left) > 0 && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			left = b.Containers(t, p.c)
		}
		if len(left) == 0 {
			return
		}
		var ids []string
		for id, state := range left {
			ids = append(ids, id[:12]+" ("+state+")")
		}
		sort.Strings(ids)
		t.Errorf("containers of the broker left on the engine: %s", strings.Join(ids, ", "))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for id := range left {
			if _, err := p.c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil {
				t.Logf("removing container %s: %v", id[:12], err)
			}
		}
	})
	return &Broker{Client: b.Client, Logs: b.Logs, CloudsMount: broker.CloudsMount(cloudsSecret, cloud), Tag: p.tag}
}

// Namespace is a name only: the engine has no namespaces, the broker
// passes the OSB context's namespace to the bundle (namespace extra var,
// POD_NAMESPACE) and labels the containers with it.
func (p *dockerPlatform) Namespace(t *testing.T, prefix string) string {
	return prefix + newID(t)[:8]
}

// PutSecret makes files one of the broker's own sources, the directory
// secrets_dir/name: the engine has no namespaces to keep it in, so
// namespace has no meaning here, and no bundle gets it unless the
// broker's configuration names it (the Docker runtime refuses a request's
// credentials_secret whatever sources exist). A name is stored once.
func (p *dockerPlatform) PutSecret(t *testing.T, namespace, name string, files map[string][]byte) {
	t.Helper()
	if p.secretsDir == "" {
		t.Fatal("PutSecret before StartBroker")
	}
	d := filepath.Join(p.secretsDir, name)
	if err := os.MkdirAll(p.secretsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatalf("source %s (Secret %s of namespace %q): %v", d, name, namespace, err)
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(d, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TenantCredentials adds clouds (a clouds.yaml of one cloud, named cloud)
// to the broker-wide clouds.yaml as the entry <namespace>-<cloud>, removed
// when t ends, and returns the parameter that picks it: the Docker
// runtime's only way to run an instance with other credentials than the
// broker's default cloud. The file is replaced whole (rename), as the
// runtime copies it for each action while other tests run.
func (p *dockerPlatform) TenantCredentials(t *testing.T, namespace, cloud string, clouds []byte) map[string]any {
	t.Helper()
	var in struct {
		Clouds map[string]any `json:"clouds"`
	}
	if err := yaml.Unmarshal(clouds, &in); err != nil || in.Clouds[cloud] == nil {
		t.Fatalf("the tenant's clouds.yaml has no cloud %q (%v)", cloud, err)
	}
	entry := namespace + "-" + cloud
	p.editClouds(t, func(all map[string]any) { all[entry] = in.Clouds[cloud] })
	t.Cleanup(func() { p.editClouds(t, func(all map[string]any) { delete(all, entry) }) })
	return map[string]any{broker.ParamCloud: entry}
}

func (p *dockerPlatform) editClouds(t *testing.T, edit func(map[string]any)) {
	t.Helper()
	p.cloudsMu.Lock()
	defer p.cloudsMu.Unlock()
	path := filepath.Join(p.secretsDir, cloudsSecret, "clouds.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil || doc["clouds"] == nil {
		t.Fatalf("the broker's clouds.yaml: %v", err)
	}
	edit(doc["clouds"])
	if b, err = yaml.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	// A dot name: the runtime skips it when it copies the source.
	tmp := filepath.Join(filepath.Dir(path), ".clouds.yaml.new")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (p *dockerPlatform) Run(t *testing.T, ctx context.Context, a runtime.Action) (*runtime.Result, error) {
	t.Helper()
	if p.rt == nil {
		t.Fatal("Run before StartBroker")
	}
	res, err := p.rt.Run(ctx, a, nil)
	if rerr := p.rt.Release(context.Background(), a, err != nil); rerr != nil {
		t.Errorf("releasing %s of %s: %v", a.Name, a.FQName, rerr)
	}
	if l := p.log.String(); err != nil && l != "" {
		t.Logf("runtime log:\n%s", tail(l, 60))
	}
	return res, err
}
