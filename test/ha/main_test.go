// Package ha runs several broker replicas (the real cmd/broker binary,
// one process each) on one real etcd server and kills the replica running
// an action on the Docker runtime (the leader, or a follower) with SIGKILL:
// a live replica must lead, resume the action by attaching to its
// container (one container ever runs for it) and every replica left must
// serve OSB requests throughout.
//
// It needs the Docker engine (hack/docker.sh), the test bundle image
// (OSB_TEST_BUNDLE_IMAGE, test/bundles/build.sh testbundle) and an etcd
// server binary (OSB_ETCD, else the one hack/kube-build.sh builds into
// the cache); hack/test.d/35-ha.sh provides them. OSB_SKIP=ha skips it.
package ha

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// brokerBin is the broker binary TestMain builds from this tree.
var brokerBin string

func skipped() bool {
	return strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " ha ")
}

func TestMain(m *testing.M) {
	if skipped() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "osb-ha-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	brokerBin = filepath.Join(dir, "broker")
	build := exec.Command("go", "build", "-o", brokerBin, "../../cmd/broker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cmd/broker:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
