package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
)

const (
	user     = "admin"
	password = "docker-e2e-pw"
	// Registry is the broker's local registry: the test bundle's catalog
	// name is <Registry>-testbundle-apb.
	Registry = "dockere2e"
	FQName   = Registry + "-testbundle-apb"
)

// Options say how StartBroker configures the daemon.
type Options struct {
	// Image is the test bundle image (OSB_TEST_BUNDLE_IMAGE); StartBroker
	// tags it as the local registry names it, under a tag of its own, and
	// removes that tag at the end.
	Image string
	// APBYML is the test bundle's apb.yml.
	APBYML []byte
	// Docker is added to the docker: section (secrets_dir, keep_container,
	// ...); Broker to the broker: section; OpenStack is the openstack:
	// section, Secrets the secrets: section.
	Docker    map[string]any
	Broker    map[string]any
	OpenStack map[string]any
	Secrets   []map[string]string
	// LogLevel is log.level (default debug, which streams bundle output).
	LogLevel string
	// Registry, when set, is the registry: section instead of the test
	// bundle's local registry (Image and APBYML are then unused): the
	// caller names and tags its own bundles.
	Registry []map[string]any
}

// Broker is a running daemon.
type Broker struct {
	URL    string
	Client *osbclient.Client
	Logs   *Buffer
	Dir    string
	stop   func() error
	cfg    string
	o      Options
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// Stop stops the daemon, as a broker being restarted stops: containers
// keep running.
func (b *Broker) Stop() error { return b.stop() }

// bundleTag tags image as the local registry names the test bundle,
// <Registry>/testbundle-apb:<random>, untagged when the test ends (the
// image itself stays).
func bundleTag(tb testing.TB, c *client.Client, image string) string {
	var b [4]byte
	rand.Read(b[:])
	tag := "e2e-" + hex.EncodeToString(b[:])
	ref := Registry + "/testbundle-apb:" + tag
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.ImageTag(ctx, client.ImageTagOptions{Source: image, Target: ref}); err != nil {
		tb.Fatalf("tagging %s for the broker's local registry: %v", image, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.ImageRemove(ctx, ref, client.ImageRemoveOptions{}); err != nil {
			tb.Logf("untagging %s: %v", ref, err)
		}
	})
	return tag
}

// StartBroker runs the daemon in dir (reused across restarts: the etcd
// data lives there) on the engine c.
func StartBroker(tb testing.TB, c *client.Client, dir string, o Options) *Broker {
	tb.Helper()
	registry := make([]any, 0, 1)
	for _, r := range o.Registry {
		registry = append(registry, r)
	}
	if o.Registry == nil {
		tg := bundleTag(tb, c, o.Image)
		reg := filepath.Join(dir, "registry", "testbundle-apb")
		if err := os.MkdirAll(reg, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(reg, "apb.yml"), o.APBYML, 0o644); err != nil {
			tb.Fatal(err)
		}
		registry = append(registry, map[string]any{"type": "local", "name": Registry, "path": filepath.Join(dir, "registry"), "tag": tg, "white_list": []string{".*"}})
	}
	authDir := filepath.Join(dir, "auth")
	if err := os.MkdirAll(authDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	for f, v := range map[string]string{"username": user, "password": password} {
		if err := os.WriteFile(filepath.Join(authDir, f), []byte(v+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dockerSec := map[string]any{"image_pull_policy": "Never", "work_dir": filepath.Join(dir, "work"), "timeout": "3m", "host": c.DaemonHost()}
	for k, v := range o.Docker {
		dockerSec[k] = v
	}
	level := o.LogLevel
	if level == "" {
		level = "debug"
	}
	doc := map[string]any{
		"registry": registry,
		"dao":      map[string]any{"etcd_data_dir": filepath.Join(dir, "etcd")},
		"log":      map[string]any{"stdout": true, "level": level},
		"docker":   dockerSec,
		"broker": map[string]any{
			"runtime": "docker", "default_namespace": "osb-docker-e2e",
			"listen_address": fmt.Sprintf("127.0.0.1:%d", port), "plain_http": true, "basic_auth_dir": authDir,
			"bootstrap_on_startup": true, "launch_apb_on_bind": true, "auto_escalate": true,
			"auth": []any{map[string]any{"type": "basic", "enabled": true}},
		},
	}
	for k, v := range o.Broker {
		doc["broker"].(map[string]any)[k] = v
	}
	if o.OpenStack != nil {
		doc["openstack"] = o.OpenStack
	}
	if o.Secrets != nil {
		doc["secrets"] = o.Secrets
	}
	cfg, err := yaml.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		tb.Fatal(err)
	}
	b := &Broker{Logs: &Buffer{}, Dir: dir, cfg: cfgPath, o: o}
	b.start(tb)
	return b
}

// Restart starts the daemon again on the same directory (a restarted
// broker: same etcd, same broker id).
func (b *Broker) Restart(tb testing.TB) {
	tb.Helper()
	if err := b.stop(); err != nil {
		tb.Fatal(err)
	}
	b.start(tb)
}

func (b *Broker) start(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, b.cfg, b.Logs, daemon.Options{Version: "docker-e2e", Ready: func(u string) { ready <- u }})
	}()
	select {
	case b.URL = <-ready:
	case err := <-done:
		cancel()
		tb.Fatalf("broker did not start: %v\n%s", err, b.Logs)
	case <-time.After(90 * time.Second):
		cancel()
		tb.Fatalf("broker did not start within 90 s\n%s", b.Logs)
	}
	var once sync.Once
	var stopErr error
	b.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("broker did not stop within 30 s")
			}
		})
		return stopErr
	}
	tb.Cleanup(func() { _ = b.stop() })
	b.Client = osbclient.New(osbclient.Options{URL: b.URL, Username: user, Password: password})
}

// Containers lists the bundle containers on c whose work dir is under
// this broker's directory (its own: the broker id lives in its etcd), as
// id to state (running, exited, ...).
func (b *Broker) Containers(tb testing.TB, c *client.Client) map[string]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", dockerruntime.LabelManagedBy+"="+dockerruntime.ManagedBy)})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	work := filepath.Join(b.Dir, "work") + string(filepath.Separator)
	for _, ct := range l.Items {
		if strings.HasPrefix(ct.Labels[dockerruntime.LabelWorkDir], work) {
			out[ct.ID] = string(ct.State)
		}
	}
	return out
}
