package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinary runs the built command as users do: one ready line with the
// auth URL, clouds.yaml written, SIGTERM saves the state and exits 0.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "openstack-emulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cy, state := filepath.Join(dir, "c.yaml"), filepath.Join(dir, "state.json")
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-clouds-yaml", cy, "-state", state, "-delay", "0s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "openstack-emulator ready: auth_url http://127.0.0.1:") || !strings.HasSuffix(line, "/v3\n") {
			t.Fatalf("ready line %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no ready line; stderr:\n%s", stderr.String())
	}
	b, err := os.ReadFile(cy)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"emulator:", "emulator-appcred:", "emulator-alt:", "emulator-admin:", "application_credential_secret:", "region_name: RegionOne"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("clouds.yaml lacks %q", want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	var st struct {
		Version  int
		Services map[string]json.RawMessage
	}
	sb, err := os.ReadFile(state)
	if err != nil || json.Unmarshal(sb, &st) != nil || st.Services["keystone"] == nil || st.Services["glance"] == nil {
		t.Fatalf("state file after SIGTERM: %v %.200s", err, sb)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-listen", "0.0.0.0:0"}, 1, "-allow-remote"},
		{[]string{"-delay", "-1s"}, 2, "negative"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"-log-level", "loud"}, 2, "-log-level"},
		{[]string{"-h"}, 0, "Usage"},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, errb.String(), tc.code, tc.msg)
		}
	}
}
