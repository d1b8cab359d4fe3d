package ha

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	clientv3 "go.etcd.io/etcd/client/v3"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
)

const (
	user     = "admin"
	password = "ha-e2e-pw"
	// registryName is the brokers' local registry: the test bundle's
	// catalog name is <registryName>-testbundle-apb.
	registryName = "hae2e"
	fqName       = registryName + "-testbundle-apb"
	// leaderLease is broker.leader_lease: how long a killed replica
	// still counts as alive.
	leaderLease = 3 * time.Second
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// etcdBinary finds a real etcd server, or fails t saying how to get one.
func etcdBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OSB_ETCD"); p != "" {
		return p
	}
	cache := os.Getenv("OSB_CACHE_DIR")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "openstack-service-broker")
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "kube", "*", "bin", "etcd")); len(m) > 0 {
		return m[len(m)-1]
	}
	t.Fatalf("no etcd server binary: set OSB_ETCD, or run hack/kube-build.sh (it builds etcd into %s/kube/<version>/bin), or OSB_SKIP=ha", cache)
	return ""
}

// startEtcd runs a one-member etcd server on 127.0.0.1 and returns its
// client endpoint; it is stopped when the test ends.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin := etcdBinary(t)
	dir := t.TempDir()
	client, peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t)), fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--name", "ha", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "ha="+peer, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(client + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return client
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd not healthy within 30 s:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cluster is the brokers sharing one etcd, one config each, the rest
// (registry, Docker work dir, basic auth) shared, as replicas of one
// Deployment share their ConfigMap and volumes.
type cluster struct {
	t        *testing.T
	dir      string
	endpoint string
	docker   *client.Client
	etcd     *clientv3.Client
	replicas []*replica
}

// replica is one broker process.
type replica struct {
	name   string
	url    string
	cfg    string
	cmd    *exec.Cmd
	logs   *syncBuffer
	done   chan struct{}
	client *osbclient.Client
}

func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	c, err := dockerruntime.NewClient("")
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = c.ServerVersion(ctx, client.ServerVersionOptions{})
	}
	if err != nil {
		t.Fatalf("no Docker engine answers (%v): install Debian's docker.io and start it with hack/docker.sh, or OSB_SKIP=ha", err)
	}
	return c
}

func bundleImage(t *testing.T) string {
	t.Helper()
	img := os.Getenv("OSB_TEST_BUNDLE_IMAGE")
	if img == "" {
		t.Fatal("OSB_TEST_BUNDLE_IMAGE not set: run `make test` (hack/test.d/35-ha.sh), or export it from test/bundles/build.sh testbundle, or OSB_SKIP=ha")
	}
	return img
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if skipped() {
		t.Skip("OSB_SKIP names ha")
	}
	c := &cluster{t: t, dir: t.TempDir(), docker: dockerClient(t)}
	img := bundleImage(t)
	c.endpoint = startEtcd(t)
	var err error
	c.etcd, err = clientv3.New(clientv3.Config{Endpoints: []string{c.endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.etcd.Close() })

	// The image under the name the local registry gives the bundle.
	var b [4]byte
	rand.Read(b[:])
	tag := "ha-" + hex.EncodeToString(b[:])
	ref := registryName + "/testbundle-apb:" + tag
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.docker.ImageTag(ctx, client.ImageTagOptions{Source: img, Target: ref}); err != nil {
		t.Fatalf("tagging %s: %v", img, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.docker.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
	})
	// What is left of the bundle containers goes after the brokers.
	t.Cleanup(c.removeContainers)

	apbYML, err := os.ReadFile("../bundles/testbundle/apb.yml")
	if err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(c.dir, "registry", "testbundle-apb")
	authDir := filepath.Join(c.dir, "auth")
	for _, d := range []string{reg, authDir, filepath.Join(c.dir, "work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(reg, "apb.yml"), apbYML, 0o644); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"username": user, "password": password} {
		if err := os.WriteFile(filepath.Join(authDir, f), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port, _ := strconv.Atoi(strings.TrimPrefix(c.endpoint, "http://127.0.0.1:"))
	for i := range 3 {
		name := fmt.Sprintf("r%d", i+1)
		p := freePort(t)
		doc := map[string]any{
			"registry": []any{map[string]any{"type": "local", "name": registryName, "path": filepath.Join(c.dir, "registry"),
				"tag": tag, "white_list": []string{".*"}}},
			"dao": map[string]any{"etcd_host": "127.0.0.1", "etcd_port": port},
			"log": map[string]any{"stdout": true, "level": "debug"},
			"docker": map[string]any{"image_pull_policy": "Never", "work_dir": filepath.Join(c.dir, "work"), "timeout": "3m",
				"host": c.docker.DaemonHost()},
			"broker": map[string]any{
				"runtime": "docker", "default_namespace": "osb-ha-e2e",
				"listen_address": fmt.Sprintf("127.0.0.1:%d", p), "plain_http": true, "basic_auth_dir": authDir,
				"bootstrap_on_startup": true, "launch_apb_on_bind": true, "leader_lease": leaderLease.String(),
				// No cluster to check platform users against.
				"auto_escalate": true,
				"auth":          []any{map[string]any{"type": "basic", "enabled": true}},
			},
		}
		raw, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(c.dir, name+".yaml")
		if err := os.WriteFile(cfg, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		r := &replica{name: name, url: fmt.Sprintf("http://127.0.0.1:%d", p), cfg: cfg, logs: &syncBuffer{}}
		r.client = osbclient.New(osbclient.Options{URL: r.url, Username: user, Password: password})
		c.replicas = append(c.replicas, r)
	}
	t.Cleanup(func() {
		for _, r := range c.replicas {
			r.stop()
		}
		if t.Failed() {
			for _, r := range c.replicas {
				t.Logf("log of %s:\n%s", r.name, r.logs)
			}
		}
	})
	return c
}

// start runs the replica's process and waits for /healthz.
func (c *cluster) start(r *replica) {
	c.t.Helper()
	r.cmd = exec.Command(brokerBin, "--config", r.cfg)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func() { r.cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(r.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-r.done:
			c.t.Fatalf("%s exited at start:\n%s", r.name, r.logs)
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s not healthy within 90 s:\n%s", r.name, r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown code runs, its lease
// is neither revoked nor renewed.
func (r *replica) kill() {
	r.cmd.Process.Kill()
	<-r.done
}

// stop ends the process as Kubernetes does (SIGTERM, then SIGKILL).
func (r *replica) stop() {
	if r.cmd == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.kill()
	}
}

func (r *replica) alive() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// replicaInfo is the value of /osb/replicas/<id>.
type replicaInfo struct {
	PID int `json:"pid"`
}

// leader returns the leading replica's id and process ("" when none
// leads).
func (c *cluster) leader(ctx context.Context) (string, *replica) {
	c.t.Helper()
	resp, err := c.etcd.Get(ctx, "/osb/leader/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return "", nil
	}
	id := string(resp.Kvs[0].Value)
	info, err := c.etcd.Get(ctx, "/osb/replicas/"+id)
	if err != nil || len(info.Kvs) == 0 {
		return id, nil
	}
	var ri replicaInfo
	json.Unmarshal(info.Kvs[0].Value, &ri)
	for _, r := range c.replicas {
		if r.cmd != nil && r.cmd.Process.Pid == ri.PID {
			return id, r
		}
	}
	return id, nil
}

// containers returns the bundle containers of this cluster's brokers for
// an operation ("" for all), as id to state.
func (c *cluster) containers(ctx context.Context, op string) (map[string]string, error) {
	f := client.Filters{}.Add("label", dockerruntime.LabelManagedBy+"="+dockerruntime.ManagedBy)
	if op != "" {
		f = f.Add("label", dockerruntime.LabelOperation+"="+op)
	}
	l, err := c.docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	work := filepath.Join(c.dir, "work") + string(filepath.Separator)
	out := map[string]string{}
	for _, ct := range l.Items {
		if strings.HasPrefix(ct.Labels[dockerruntime.LabelWorkDir], work) {
			out[ct.ID] = string(ct.State)
		}
	}
	return out, nil
}

func (c *cluster) removeContainers() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := c.containers(ctx, "")
	if err != nil {
		c.t.Logf("listing the bundle containers: %v", err)
		return
	}
	for id := range cs {
		c.docker.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	}
}
