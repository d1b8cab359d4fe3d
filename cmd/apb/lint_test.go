package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestLintGolden: lint's messages for each bundle under testdata/lint,
// table and JSON, against golden files (go test -update rewrites them).
func TestLintGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/lint/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e := newEnv(t, nil)
			var got strings.Builder
			r := e.run("", "lint", dir)
			got.WriteString(r.out)
			got.WriteString("-- stderr --\n" + r.err)
			got.WriteString("-- exit --\n")
			got.WriteString(strconv.Itoa(r.code) + "\n")
			rj := e.run("", "lint", dir, "-o", "json")
			got.WriteString("-- json --\n" + rj.out)
			golden := dir + ".golden"
			if *update {
				must(t, os.WriteFile(golden, []byte(got.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("lint %s:\n--- got\n%s\n--- want\n%s", dir, got.String(), want)
			}
			if rj.code != r.code {
				t.Errorf("exit %d with -o json, %d without", rj.code, r.code)
			}
		})
	}
	if n < 4 {
		t.Fatalf("only %d lint cases", n)
	}
}

// A scaffolded bundle, generic or OpenStack, bindable or not, lints clean
// (no warning either), and prepare leaves its label as it is.
func TestScaffoldLintsClean(t *testing.T) {
	for _, args := range [][]string{{}, {"--openstack"}, {"--bindable=false"}, {"--openstack", "--async", "required"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e := newEnv(t, nil)
			dir := filepath.Join(t.TempDir(), "my-thing-apb")
			e.ok(append([]string{"init", dir}, args...)...)
			r := e.ok("lint", "--strict", dir)
			if r.out != "" || !strings.Contains(r.err, "0 errors, 0 warnings") {
				t.Errorf("lint:\n%s%s", r.out, r.err)
			}
			if r := e.ok("prepare", dir); !strings.Contains(r.err, "up to date") {
				t.Errorf("prepare changed a fresh scaffold: %s", r.err)
			}
			e.code(exitUsage, append([]string{"init", dir}, args...)...)
			e.ok(append([]string{"init", dir, "--force"}, args...)...)
		})
	}
}

// prepare writes the label apb lint then finds in step; a bad spec is
// refused with its problems.
func TestPrepare(t *testing.T) {
	e := newEnv(t, nil)
	dir := filepath.Join(t.TempDir(), "p-apb")
	e.ok("init", dir)
	spec := filepath.Join(dir, "apb.yml")
	data, _ := os.ReadFile(spec)
	must(t, os.WriteFile(spec, append(data, []byte("# changed\n")...), 0o644))
	if r := e.run("", "lint", dir); !strings.Contains(r.out, "apb.yml changed since the label was written") || r.code != 0 {
		t.Errorf("stale label: exit %d\n%s", r.code, r.out)
	}
	if r := e.ok("prepare", dir); !strings.Contains(r.err, "wrote the spec label") {
		t.Errorf("prepare: %s", r.err)
	}
	if r := e.ok("lint", "--strict", dir); r.out != "" {
		t.Errorf("after prepare:\n%s", r.out)
	}
	must(t, os.WriteFile(spec, []byte("version: '1.0'\nplans: []\n"), 0o644))
	r := e.code(exitFailed, "prepare", dir)
	if !strings.Contains(r.err, "name: is required (line 1)") {
		t.Errorf("prepare of a bad spec: %s", r.err)
	}
}
