package local

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// walkThroughs reads README.rst's walk-throughs: the literal block after
// each ".. walk-through: NAME" comment, dedented, by name in order.
func walkThroughs(t *testing.T, readme string) (names []string, blocks map[string]string) {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blocks = map[string]string{}
	var cur string
	var body []string
	inBlock := false
	flush := func() {
		if cur != "" {
			blocks[cur] = strings.TrimSpace(strings.Join(body, "\n")) + "\n"
			names = append(names, cur)
		}
		cur, body, inBlock = "", nil, false
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, ".. walk-through: "); ok {
			flush()
			cur = strings.TrimSpace(name)
			continue
		}
		if cur == "" {
			continue
		}
		switch {
		case !inBlock && strings.HasSuffix(strings.TrimSpace(line), "::"):
			inBlock = true
		case inBlock && line != "" && !strings.HasPrefix(line, "    "):
			flush()
		case inBlock:
			body = append(body, strings.TrimPrefix(line, "    "))
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names, blocks
}

// makeRun starts the broker as `make run` starts it (hack/run.sh), on
// free ports with its own state, and returns the broker's address and
// the cache directory once the whole catalog is there. It is stopped when
// the test ends.
func makeRun(t *testing.T, root string) (listen, cache string) {
	t.Helper()
	cache = t.TempDir()
	listen = freeAddr(t)
	tag := fmt.Sprintf("test-%d", time.Now().UnixNano())
	env := append(isolatedEnv(t), "OSB_RUN_CACHE="+cache, "OSB_LISTEN="+listen, "OSB_EMULATOR_LISTEN="+freeAddr(t),
		"OSB_RUN_TAG="+tag, "OSB_RUN_DETACH=1")
	t.Cleanup(func() {
		// What run.sh left running, and the image tags it made.
		if b, err := os.ReadFile(filepath.Join(cache, "run.pids")); err == nil {
			for _, pid := range strings.Fields(string(b)) {
				exec.Command("kill", pid).Run()
			}
			time.Sleep(2 * time.Second)
			for _, pid := range strings.Fields(string(b)) {
				exec.Command("kill", "-9", pid).Run()
			}
		}
		if out, err := exec.Command(docker(), "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=local/*:"+tag).Output(); err == nil {
			for _, img := range strings.Fields(string(out)) {
				exec.Command(docker(), "rmi", img).Run()
			}
		}
	})
	start := time.Now()
	out, err := runCmd(t, 20*time.Minute, root, env, "hack/run.sh")
	if err != nil {
		t.Fatalf("hack/run.sh: %v\n%s\nbroker log:\n%s", err, out, tail(filepath.Join(cache, "log", "broker.log"), 60))
	}
	times, _ := os.ReadFile(filepath.Join(cache, "log", "run-times"))
	t.Logf("make run (hack/run.sh) ready in %s: %s", time.Since(start).Round(time.Second), strings.TrimSpace(string(times)))
	return listen, cache
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestReadmeWalkThroughs runs README.rst's walk-throughs, as written,
// against a broker started as make run starts it. The only changes: the
// broker's address (127.0.0.1:1338 is make run's, the test takes a free
// port), and, with OSB_IMAGE_PREFIX, the base image apb init writes.
// They run in a directory whose .cache and bin are the run's, as in the
// checkout after make run.
func TestReadmeWalkThroughs(t *testing.T) {
	need(t)
	root := repoRoot(t)
	names, blocks := walkThroughs(t, filepath.Join(root, "README.rst"))
	want := []string{"curl", "apb", "bundle"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("README.rst's walk-throughs are %q, want %q (each a \".. walk-through: NAME\" comment before its literal block)", names, want)
	}
	listen, cache := makeRun(t, root)
	work := t.TempDir()
	if err := os.Symlink(cache, filepath.Join(work, ".cache")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "bin"), filepath.Join(work, "bin")); err != nil {
		t.Fatal(err)
	}
	env := isolatedEnv(t)
	t.Cleanup(func() { exec.Command(docker(), "rmi", "my-net-apb:latest").Run() })
	// What each walk-through must have shown, beyond exiting 0.
	checks := map[string][]string{
		"curl":   {`"local-openstack-keypair-apb"`, `"state":"succeeded"`, "osb-demo-1 ", "-----BEGIN", "| fingerprint |", "| osb-demo-1 ", "osb-demo-1 is gone"},
		"apb":    {"local-openstack-keypair-apb", "-----BEGIN", "| fingerprint |", "| osb-demo-2 ", "demo-2", "osb-demo-2 is gone"},
		"bundle": {"0 errors, 0 warnings", "built my-net-apb:latest", "NETWORK_ID", "NETWORK_NAME  my-net", "passed"},
	}
	for _, name := range names {
		script := strings.ReplaceAll(blocks[name], "127.0.0.1:1338", listen)
		if p := os.Getenv("OSB_IMAGE_PREFIX"); p != "" {
			script = strings.ReplaceAll(script, "apb init --openstack ", "apb init --openstack --base "+p+"/openstack-apb:latest ")
		}
		start := time.Now()
		out, err := runCmd(t, 15*time.Minute, work, env, "bash", "-c", "set -euo pipefail\n"+script)
		t.Logf("walk-through %s: %s", name, time.Since(start).Round(time.Second))
		if err != nil {
			t.Fatalf("walk-through %s: %v\n--- script\n%s\n--- output\n%s\n--- broker log\n%s", name, err, script, out,
				tail(filepath.Join(cache, "log", "broker.log"), 40))
		}
		for _, c := range checks[name] {
			if !strings.Contains(out, c) {
				t.Errorf("walk-through %s: the output lacks %q\n--- output\n%s", name, c, out)
			}
		}
	}
}
