package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlagsAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("dao:\n  etcd_port: abc\n"), 0o600)
	refused := filepath.Join(dir, "rhcc.yaml")
	os.WriteFile(refused, []byte("registry:\n  - type: rhcc\n    name: rh\n    url: x\n    white_list: ['.*']\n"), 0o600)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"version", []string{"--version"}, 0, "dev", ""},
		{"short version", []string{"-v"}, 0, "dev", ""},
		{"help", []string{"--help"}, 0, "--config", ""},
		{"unknown flag", []string{"--nope"}, 1, "", "unknown flag"},
		{"missing config", []string{"-c", filepath.Join(dir, "absent.yaml")}, 1, "", "absent.yaml"},
		{"wrong type names key and line", []string{"-c", bad}, 1, "", "bad.yaml:2: dao.etcd_port"},
		{"refused registry type", []string{"--config", refused}, 1, "", `registry "rh": type "rhcc" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, errb.String())
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
