package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	osbbroker "github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/test/procnet"
)

// etcdOverSocket is what an operator (the broker's own user) has: an etcd
// client over the embedded etcd's unix socket.
func etcdOverSocket(t *testing.T, dataDir string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"unix://" + filepath.Join(dataDir, store.SocketName)},
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// The ids of issue 12, sent over HTTP as a platform would (escaped in the
// path): each refused with a 400 that names the rule, none stored; and
// "col/job/zz", which the rule allows, cannot reach instance col's
// operations.
func TestHostileIDs(t *testing.T) {
	b := startBroker(t, options{})
	bad := map[string]string{
		"NUL":     "i\x00d",
		"newline": "i\nd",
		"200 kB":  strings.Repeat("i", 200<<10),
		"300 kB":  strings.Repeat("i", 300<<10),
	}
	for name, id := range bad {
		_, err := b.client.Provision(ctx(t), id, b.provisionReq(dbSmall, map[string]any{"db_name": "x"}), true)
		if e := wantStatus(t, err, http.StatusBadRequest, ""); !strings.Contains(e.Description, osbbroker.IDRule) {
			t.Errorf("provision with a %s id: %q does not state the rule", name, e.Description)
		}
		sid, pid := b.ids(dbService, dbSmall)
		_, err = b.client.Bind(ctx(t), "some-instance", id, &osbapi.BindRequest{ServiceID: sid, PlanID: pid}, true)
		if e := wantStatus(t, err, http.StatusBadRequest, ""); !strings.Contains(e.Description, "binding_id") {
			t.Errorf("bind with a %s binding id: %q does not name binding_id", name, e.Description)
		}
		_, err = b.client.LastOperation(ctx(t), id, &osbapi.LastOperationRequest{})
		wantStatus(t, err, http.StatusBadRequest, "")
	}

	b.provisioned(t, "col", dbSmall, map[string]any{"db_name": "col"})
	b.provisioned(t, "col/job/zz", dbSmall, map[string]any{"db_name": "zz"})
	sid, pid := b.ids(dbService, dbSmall)
	resp, err := b.client.Deprovision(ctx(t), "col/job/zz", &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.PollLastOperation(ctx(t), "col/job/zz", &osbapi.LastOperationRequest{Operation: resp.Operation}, 50*time.Millisecond); err != nil {
		if e, ok := osbapi.AsError(err); !ok || e.Status != http.StatusGone {
			t.Fatalf("deprovision of col/job/zz: %v", err)
		}
	}
	lo, err := b.client.LastOperation(ctx(t), "col", &osbapi.LastOperationRequest{})
	if err != nil || lo.State != osbapi.StateSucceeded || !strings.Contains(lo.Description, "provision") || strings.Contains(lo.Description, "deprovision") {
		t.Fatalf("col's last operation after deprovisioning col/job/zz: %+v, %v; want col's own provision", lo, err)
	}
	if got, err := b.client.GetInstance(ctx(t), "col", nil); err != nil || got.Parameters["db_name"] != "col" {
		t.Fatalf("col after deprovisioning col/job/zz: %+v, %v", got, err)
	}
	// The job records of one id, counted through the operator's socket:
	// deleting an instance again and again leaves one (its tombstone).
	cli := etcdOverSocket(t, filepath.Join(b.dir, "etcd"))
	for range 5 {
		b.provisioned(t, "col/job/zz", dbSmall, map[string]any{"db_name": "zz"})
		resp, err := b.client.Deprovision(ctx(t), "col/job/zz", &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true)
		if err != nil {
			t.Fatal(err)
		}
		b.client.PollLastOperation(ctx(t), "col/job/zz", &osbapi.LastOperationRequest{Operation: resp.Operation}, 50*time.Millisecond)
	}
	for id, want := range map[string]int64{"col/job/zz": 1, "col": 1} {
		r, err := cli.Get(ctx(t), store.JobKey(id, ""), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || r.Count != want {
			t.Errorf("job records of %q: %v, %v; want %d", id, r.Count, err, want)
		}
	}
}

// The broker process, attacked from the outside: it listens on its OSB
// port and nothing else over TCP (no etcd client port, no peer port); the
// OSB port does not speak etcd; the embedded etcd's only socket is in its
// 0700 data directory, mode 0600.
func TestBrokerProcessExposesNoStore(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := writeConfig(t, dir, options{}, port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := startChild(t, cfgPath, url)
	defer func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		c.cmd.Wait()
	}()
	ls, err := procnet.Listeners(c.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "etcd", store.SocketName)
	var sawSock, sawOSB bool
	for _, l := range ls {
		switch {
		case (l.Network == "tcp" || l.Network == "tcp6") && l.Port == port:
			sawOSB = true
		case l.Network == "tcp" || l.Network == "tcp6":
			t.Errorf("the broker process listens on %s: only its OSB port %d may be open", l, port)
		case l.Network == "unix" && l.Addr == sock:
			sawSock = true
		case l.Network == "unix":
			t.Errorf("the broker process listens on the unix socket %q", l.Addr)
		}
	}
	if !sawOSB || !sawSock {
		t.Fatalf("listeners %v: want the OSB port %d and %s", ls, port, sock)
	}
	for p, want := range map[string]os.FileMode{filepath.Dir(sock): 0o700, sock: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %o", p, fi.Mode().Perm(), err, want)
		}
	}
	// An etcd client pointed at the OSB port gets nothing.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{fmt.Sprintf("127.0.0.1:%d", port)}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err == nil {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err = cli.Get(cctx, "/", clientv3.WithPrefix())
		cancel()
		cli.Close()
	}
	if err == nil {
		t.Error("an etcd client read through the broker's OSB port")
	}
}

// etcd full: an operator-side writer fills the embedded etcd's quota with
// history (the broker does not see it happen); the next provision gets a
// 503 that says the store is full, the broker compacts, defragments and
// lifts the alarm on its own, and provisions work again, without a
// restart and without losing what was stored.
func TestStoreFullRecoversWithoutRestart(t *testing.T) {
	b := startBroker(t, options{dao: "  etcd_quota_bytes: 4194304\n  compaction_interval: 0\n"})
	b.provisioned(t, "before-full", dbSmall, map[string]any{"db_name": "before"})
	cli := etcdOverSocket(t, filepath.Join(b.dir, "etcd"))
	blob := strings.Repeat("h", 128<<10)
	var err error
	for i := 0; i < 200; i++ {
		if _, err = cli.Put(ctx(t), "/test/history", fmt.Sprint(i, blob)); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "space exceeded") {
		t.Fatalf("filling the quota: %v, want etcd's NOSPACE", err)
	}

	_, err = b.client.Provision(ctx(t), "when-full", b.provisionReq(dbSmall, map[string]any{"db_name": "full"}), true)
	e := wantStatus(t, err, http.StatusServiceUnavailable, "")
	if !strings.Contains(e.Description, "full") || !strings.Contains(e.Description, "dao.etcd_quota_bytes") {
		t.Errorf("503 description %q does not say the store is full", e.Description)
	}
	// Reads go on meanwhile.
	if _, err := b.client.GetInstance(ctx(t), "before-full", nil); err != nil {
		t.Errorf("reading while full: %v", err)
	}
	var resp *osbapi.ProvisionResponse
	waitFor(t, 60*time.Second, "provisions to work again", func() bool {
		resp, err = b.client.Provision(ctx(t), "after-full", b.provisionReq(dbSmall, map[string]any{"db_name": "after"}), true)
		if e, ok := osbapi.AsError(err); ok && e.Status == http.StatusServiceUnavailable {
			time.Sleep(200 * time.Millisecond)
			return false
		}
		return true
	})
	if err != nil {
		t.Fatalf("provision after recovery: %v", err)
	}
	b.waitInstance(t, "after-full", resp.Operation, osbapi.StateSucceeded)
	if _, err := b.client.GetInstance(ctx(t), "before-full", nil); err != nil {
		t.Errorf("the instance stored before etcd was full: %v", err)
	}
	if !strings.Contains(b.logs.String(), "has room again") {
		t.Errorf("the broker did not log that the store has room again")
	}
	// The operator's key is still there, at its last value.
	if r, err := cli.Get(ctx(t), "/test/history"); err != nil || len(r.Kvs) != 1 {
		t.Errorf("the last value written before the quota: %v, %v", r, err)
	}
}
