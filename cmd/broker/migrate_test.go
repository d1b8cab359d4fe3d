package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

func TestMigrateFlagsAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	etcdDir := filepath.Join(dir, "etcd")
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("dao:\n  etcd_data_dir: "+etcdDir+"\nlog:\n  stdout: true\n"), 0o600)
	// An instance record the original could have left without its spec.
	withBroken := filepath.Join(dir, "broken.yaml")
	brokenDir := filepath.Join(dir, "broken-etcd")
	os.WriteFile(withBroken, []byte("dao:\n  etcd_data_dir: "+brokenDir+"\nlog:\n  stdout: true\n"), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, store.Config{DataDir: brokenDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, store.PutInstance(&store.ServiceInstance{ID: "5c8b6e1a-7f0c-4c7e-9d6e-2b1a3f4e5d60"})); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// The empty store: an embedded etcd that exists.
	e, err := store.Open(ctx, store.Config{DataDir: etcdDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	noData := filepath.Join(dir, "nodata.yaml")
	os.WriteFile(noData, []byte("dao:\n  etcd_data_dir: "+filepath.Join(dir, "none")+"\nlog:\n  stdout: true\n"), 0o600)

	cases := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"help", []string{"migrate", "--help"}, 0, "--dry-run", ""},
		{"dry run of an empty store", []string{"migrate", "-c", cfg, "--dry-run"}, 0, "0 records would change", ""},
		{"run of an empty store", []string{"migrate", "--config", cfg}, 0, "0 records changed", ""},
		{"bad store name", []string{"migrate", "-c", cfg, "--from", "redis"}, exitUsage, "", `--from "redis": want etcd or crd`},
		{"unknown flag", []string{"migrate", "--nope"}, exitUsage, "", "unknown flag"},
		{"arguments", []string{"migrate", "extra"}, exitUsage, "", "takes no arguments"},
		{"no etcd data", []string{"migrate", "-c", noData}, 1, "", "no etcd data in dao.etcd_data_dir"},
		{"missing config", []string{"migrate", "-c", filepath.Join(dir, "absent.yaml")}, 1, "", "absent.yaml"},
		{"crd without a namespace", []string{"migrate", "-c", cfg, "--to", "crd", "--dry-run"}, 1, "", "namespace"},
		{"refused", []string{"migrate", "-c", withBroken}, exitRefused, "refused instance 5c8b6e1a-7f0c-4c7e-9d6e-2b1a3f4e5d60: it holds no bundle spec", "records cannot be carried over"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, c.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), c.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), c.stdout)
			}
			if !strings.Contains(errb.String(), c.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), c.stderr)
			}
		})
	}
}
