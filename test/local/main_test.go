// Package local tests the local path of README.rst: `make run` (the
// broker on the Docker runtime, the OpenStack emulator, the bundles of
// registries/ built into images) and the walk-throughs, whose commands
// it takes from README.rst and runs as they are written; and the apb CLI
// end to end against a broker and Debian's Docker engine (init, lint,
// build, push to a dev broker, run, provision/bind/deprovision through
// the broker, checked with the openstack CLI against the emulator).
//
// Needs a Docker engine (hack/docker.sh), curl, python3 and the openstack
// CLI (hack/test.d/50-local.sh installs them); the images are built as
// make run builds them. OSB_SKIP=local skips the suite, and so does
// OSB_SKIP=images (it builds and runs images). OSB_IMAGE_PREFIX names
// the images as hack/images.sh does.
package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const installHint = "install them (make test does: hack/test.d/50-local.sh installs docker.io, curl, python3-openstackclient; hack/docker.sh starts dockerd), or set OSB_SKIP=local"

func skipped(name string) bool {
	return slices.Contains(strings.Fields(os.Getenv("OSB_SKIP")), name)
}

// need skips the test when the suite is skipped, and fails it naming
// what to install when a component is missing.
func need(t *testing.T) {
	t.Helper()
	for _, s := range []string{"local", "images"} {
		if skipped(s) {
			t.Skipf("OSB_SKIP names %s", s)
		}
	}
	for _, tool := range []string{"bash", "curl", "python3", "openstack"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: %s", tool, installHint)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, docker(), "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("no Docker engine answers (%v: %s): %s", err, strings.TrimSpace(string(out)), installHint)
	}
}

// docker prefers Debian's client, which matches Debian's engine.
func docker() string {
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	return "docker"
}

func imagePrefix() string {
	if p := os.Getenv("OSB_IMAGE_PREFIX"); p != "" {
		return p
	}
	return "openstack-service-broker"
}

// repoRoot is the checkout's top directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s", dir)
	}
	return dir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runCmd runs a command with a deadline and returns its combined output.
func runCmd(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return string(out), err
}

// isolatedEnv is the environment with HOME and the XDG directories of a
// temporary directory, so that apb's records and config are the test's.
func isolatedEnv(t *testing.T, extra ...string) []string {
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "APB_CONFIG", "APB_BROKER_URL", "APB_USER", "APB_PASSWORD", "APB_TOKEN", "APB_STATE_DIR",
			"OS_CLIENT_CONFIG_FILE", "OS_CLOUD":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_STATE_HOME="+filepath.Join(home, ".local", "state"))
	// Go's caches stay the machine's: under the test's HOME, make run
	// would download every module and compile the broker from nothing.
	return append(append(env, goCaches(t)...), extra...)
}

// goCaches pins GOCACHE, GOMODCACHE, GOPATH and OSB_CACHE_DIR to what
// they are now.
func goCaches(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	v := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(v) != 3 {
		t.Fatalf("go env: %q", out)
	}
	// And hack/'s: the Debian base image's tarball (hack/lib.sh).
	osbCache := os.Getenv("OSB_CACHE_DIR")
	if osbCache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		osbCache = filepath.Join(dir, "openstack-service-broker")
	}
	return []string{"GOCACHE=" + v[0], "GOMODCACHE=" + v[1], "GOPATH=" + v[2], "OSB_CACHE_DIR=" + osbCache}
}
