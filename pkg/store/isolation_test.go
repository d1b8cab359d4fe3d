package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/openstack-service-broker/openstack-service-broker/test/procnet"
)

// attackEnv makes the test binary an attacker: another local process
// trying to read and write the broker's embedded etcd.
const attackEnv = "OSB_STORE_ATTACK"

func TestMain(m *testing.M) {
	if a := os.Getenv(attackEnv); a != "" {
		var t attackTargets
		if err := json.Unmarshal([]byte(a), &t); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		json.NewEncoder(os.Stdout).Encode(attack(t))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// attackTargets are every way into a broker's store another process can
// find: the unix socket, the data files, and every TCP port the broker's
// process listens on.
type attackTargets struct {
	Socket string
	Files  []string
	TCP    []string
	// Secret is a value stored in the broker's etcd; seeing it means the
	// read succeeded.
	Secret string
}

// attempt is one try; Err is empty when it succeeded.
type attempt struct {
	What string
	Err  string
	// Saw reports whether the stored secret was read.
	Saw bool
}

// attack tries, as an etcdctl user would, to read every instance and to
// write one, over each way in, and to read the data files directly.
func attack(t attackTargets) []attempt {
	var out []attempt
	record := func(what string, err error, saw bool) {
		a := attempt{What: what, Saw: saw}
		if err != nil {
			a.Err = err.Error()
		}
		out = append(out, a)
	}
	etcd := func(what, endpoint string) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			record(what+" connect", err, false)
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, "/service_instance/", clientv3.WithPrefix())
		saw := false
		if err == nil {
			for _, kv := range resp.Kvs {
				saw = saw || strings.Contains(string(kv.Value), t.Secret)
			}
		}
		record(what+" read", err, saw)
		_, err = cli.Put(ctx, "/service_instance/planted", `{"id":"planted"}`)
		record(what+" write", err, false)
	}
	if t.Socket != "" {
		c, err := net.DialTimeout("unix", t.Socket, 2*time.Second)
		if err == nil {
			c.Close()
		}
		record("connect "+t.Socket, err, false)
		etcd("etcd over "+t.Socket, "unix://"+t.Socket)
	}
	for _, f := range t.Files {
		data, err := os.ReadFile(f)
		record("read "+f, err, err == nil && strings.Contains(string(data), t.Secret))
	}
	for _, addr := range t.TCP {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
		}
		record("connect tcp "+addr, err, false)
		etcd("etcd over tcp "+addr, "http://"+addr)
	}
	return out
}

// runAs runs the attack in a child process of the test binary as uid/gid,
// from a copy of the binary that user can execute.
func runAs(t *testing.T, uid, gid uint32, targets attackTargets) []attempt {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(openDir(t), "attacker")
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	spec, _ := json.Marshal(targets)
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = []string{attackEnv + "=" + string(spec), "HOME=/"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("attacker as uid %d: %v\n%s", uid, err, out)
	}
	var res []attempt
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("attacker output %q: %v", out, err)
	}
	return res
}

// openDir is a temporary directory every user may enter and read, so
// that only the store's own permissions stand between an attacker and it.
func openDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// The embedded etcd serves the broker alone: the process listens on no TCP
// port at all (no client port, no peer port), the only listener is a unix
// socket in the 0700 data directory, mode 0600. The broker's own user can
// use it (etcdctl for backups); another local user can neither connect to
// it nor read the data files, and finds no TCP port to try.
func TestEmbeddedEtcdServesTheBrokerAlone(t *testing.T) {
	dir := filepath.Join(openDir(t), "etcd")
	s := openTest(t, dir)
	defer s.Close()
	ctx := context.Background()
	const secret = "db-admin-password-0xC0FFEE"
	if _, err := s.Commit(ctx, PutInstance(&ServiceInstance{ID: "victim", UserParameters: map[string]any{"admin_password": secret}})); err != nil {
		t.Fatal(err)
	}

	ls, err := procnet.Listeners(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	targets := attackTargets{Secret: secret}
	for _, l := range ls {
		switch l.Network {
		case "tcp", "tcp6":
			t.Errorf("the process listens on %s: the embedded etcd must open no TCP port", l)
			targets.TCP = append(targets.TCP, l.Addr)
		case "unix":
			if l.Addr != filepath.Join(dir, SocketName) {
				t.Errorf("unexpected unix listener %q", l.Addr)
			}
			targets.Socket = l.Addr
		}
	}
	if targets.Socket == "" || targets.Socket != s.Socket() {
		t.Fatalf("no unix socket of the embedded etcd among %v (Socket() = %q)", ls, s.Socket())
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, targets.Socket: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", p, got, want)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			targets.Files = append(targets.Files, p)
		}
		return nil
	})

	// The broker's own user (what an operator's etcdctl runs as) gets in:
	// the attack itself works when the permissions allow it.
	own := attack(attackTargets{Socket: targets.Socket, Secret: secret})
	for _, a := range own {
		if a.Err != "" {
			t.Errorf("the broker's own user: %s failed: %s", a.What, a.Err)
		}
	}
	if len(own) < 3 || !own[1].Saw {
		t.Fatalf("the broker's own user could not read the store over its socket: %+v", own)
	}
	planted, err := s.GetInstance(ctx, "planted")
	if err != nil {
		t.Fatalf("the broker's own user's write is not there: %v", err)
	}
	if _, err := s.Commit(ctx, DeleteInstance(planted)); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		// Switching users needs root; the modes above are what the kernel
		// enforces against other users.
		t.Log("not root: the attack as another user is not run; the modes were checked")
		return
	}
	// Another local user, with the binary of an etcd client, every way in.
	res := runAs(t, 65534, 65534, targets)
	if len(res) < 3+len(targets.Files) {
		t.Fatalf("the attacker reported %d attempts: %+v", len(res), res)
	}
	for _, a := range res {
		t.Logf("another user: %s: %s", a.What, a.Err)
		if a.Err == "" || a.Saw {
			t.Errorf("another user succeeded: %s (saw the secret: %v)", a.What, a.Saw)
		}
	}
	if in, err := s.GetInstance(ctx, "planted"); err == nil {
		t.Errorf("another user planted an instance: %+v", in)
	}
}
