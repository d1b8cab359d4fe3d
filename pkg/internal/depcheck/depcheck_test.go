package depcheck

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/openstack-service-broker/openstack-service-broker"

// rule says what a package (or, with a trailing "/...", a tree of them)
// may import. Rules are for the packages' own code; their tests may also
// use test helpers and sibling implementations.
type rule struct {
	pkg string
	// may lists the packages of this module it may import ("pkg/x/..."
	// for a tree). Anything else of the module is refused.
	may []string
	// not lists import path prefixes from outside the module it may not
	// use; stdlibOnly refuses every one.
	not        []string
	stdlibOnly bool
}

// k8s is what "knows nothing of Kubernetes" forbids.
var k8s = []string{"k8s.io/", "sigs.k8s.io/"}

// rules is the dependency rule of shared/DESIGN.md's flow, from the top
// (binaries, the daemon that wires everything) to the leaves: a package
// knows only packages below it. Every package of the module must match
// one rule; the first match counts. Rows for packages still to come say
// their rule ahead of them.
var rules = []rule{
	// Binaries.
	{pkg: "cmd/broker", may: []string{"pkg/config", "pkg/daemon"}},
	// The bundle developer's CLI: bundles, the OSB client, a runtime to run
	// one action locally, and the emulator as the cloud of those runs.
	{pkg: "cmd/apb", may: []string{"pkg/apb", "pkg/config", "pkg/osb/osbapi", "pkg/osb/osbclient", "pkg/registry",
		"pkg/runtime", "pkg/runtime/...", "pkg/schema", "pkg/tlsutil", "pkg/emulator"}},
	{pkg: "cmd/openstack-emulator", may: []string{"pkg/emulator/..."}}, // coming

	// The daemon: the one place that knows every component.
	{pkg: "pkg/daemon", may: []string{"pkg/apb", "pkg/auth", "pkg/broker", "pkg/config", "pkg/manager",
		"pkg/osb", "pkg/osb/osbapi", "pkg/registry", "pkg/runtime", "pkg/runtime/...", "pkg/store", "pkg/store/...", "pkg/tlsutil"}},

	// The OSB layer: wire types, server, client. It knows nothing of APBs.
	{pkg: "pkg/osb/osbapi", stdlibOnly: true},
	{pkg: "pkg/osb/osbclient", may: []string{"pkg/osb/osbapi"}, stdlibOnly: true},
	{pkg: "pkg/osb", may: []string{"pkg/osb/osbapi", "pkg/redact"}, not: k8s},
	{pkg: "pkg/auth", may: []string{"pkg/osb", "pkg/osb/osbapi"}},

	// The decisions, then operations, runtimes and state.
	{pkg: "pkg/broker", may: []string{"pkg/apb", "pkg/jobs", "pkg/osb/osbapi", "pkg/redact", "pkg/runtime", "pkg/schema", "pkg/store"}, not: k8s},
	{pkg: "pkg/jobs", may: []string{"pkg/redact", "pkg/runtime", "pkg/store"}, not: k8s},
	{pkg: "pkg/runtime", stdlibOnly: true},
	{pkg: "pkg/runtime/kubernetes", may: []string{"pkg/redact", "pkg/runtime"}},
	{pkg: "pkg/runtime/docker", may: []string{"pkg/redact", "pkg/runtime"}, not: k8s},
	{pkg: "pkg/runtime/...", may: []string{"pkg/runtime"}, not: k8s},
	{pkg: "pkg/store/crd", may: []string{"pkg/apb", "pkg/store"}},                 // state in the Automation Broker's CRDs
	{pkg: "pkg/store/migrate", may: []string{"pkg/apb", "pkg/store"}, not: k8s},   // broker migrate
	{pkg: "pkg/store/storetest", may: []string{"pkg/apb", "pkg/store"}, not: k8s}, // the suite every store passes
	{pkg: "pkg/store", may: []string{"pkg/apb"}, not: k8s},

	// Bundles: discovery, the apb.yml format, parameter schemas.
	{pkg: "pkg/registry", may: []string{"pkg/apb"}},
	{pkg: "pkg/apb", may: []string{"pkg/osb/osbapi"}, not: k8s},
	{pkg: "pkg/schema", not: k8s},

	// Leaves.
	{pkg: "pkg/config"},
	{pkg: "pkg/manager", stdlibOnly: true},
	{pkg: "pkg/redact", stdlibOnly: true},
	{pkg: "pkg/tlsutil", stdlibOnly: true},
	{pkg: "pkg/internal/depcheck", stdlibOnly: true},

	// The OpenStack emulator stands apart: it may import nothing of the
	// broker, so that it is a cloud, not a part of the broker.
	{pkg: "pkg/emulator/...", may: []string{"pkg/emulator/..."}},

	// Tests, their helpers and benchmarks use anything but the binaries.
	{pkg: "test/...", may: []string{"pkg/...", "test/..."}},
	{pkg: "bench/...", may: []string{"pkg/...", "test/..."}},
	{pkg: "registries", may: []string{"pkg/apb"}},
	// The bundle generator writes registries/ from openstack.cloud's specs.
	{pkg: "hack/bundlegen", may: []string{"pkg/apb"}},
}

// match reports whether path (relative to the module) is pattern or,
// for "x/...", x or below it.
func match(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func ruleFor(path string) *rule {
	for i := range rules {
		if match(rules[i].pkg, path) {
			return &rules[i]
		}
	}
	return nil
}

// pkgInfo is one package of the module.
type pkgInfo struct {
	path    string // relative to the module
	imports []string
	lib     bool // has non-test Go files
	hasDoc  bool // doc.go with a package or command comment
	name    string
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// packages finds every package of the module, as the go command would.
func packages(t *testing.T) []pkgInfo {
	t.Helper()
	root := moduleRoot(t)
	var out []pkgInfo
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
			return filepath.SkipDir
		}
		if p != root {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		bp, err := build.ImportDir(p, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info := pkgInfo{path: filepath.ToSlash(rel), lib: len(bp.GoFiles) > 0, name: bp.Name}
		for _, imp := range bp.Imports {
			info.imports = append(info.imports, imp)
		}
		if doc, err := os.ReadFile(filepath.Join(p, "doc.go")); err == nil {
			s := string(doc)
			info.hasDoc = strings.Contains(s, "// Package "+bp.Name+" ") || strings.Contains(s, "// Command ")
		}
		out = append(out, info)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s", len(out), root)
	}
	return out
}

func stdlib(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

// TestDependencyRule: each package imports only what its rule allows.
func TestDependencyRule(t *testing.T) {
	for _, p := range packages(t) {
		r := ruleFor(p.path)
		if r == nil {
			t.Errorf("%s: no rule says what it may import; add one to rules", p.path)
			continue
		}
		for _, imp := range p.imports {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				if !slices.ContainsFunc(r.may, func(m string) bool { return match(m, rel) }) {
					t.Errorf("%s imports %s; its rule (%s) allows %v", p.path, rel, r.pkg, r.may)
				}
				continue
			}
			if stdlib(imp) {
				continue
			}
			if r.stdlibOnly {
				t.Errorf("%s imports %s; its rule (%s) allows the standard library only", p.path, imp, r.pkg)
			}
			for _, bad := range r.not {
				if strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s; its rule (%s) forbids %s", p.path, imp, r.pkg, bad)
				}
			}
		}
	}
}

// TestPackagesSayWhatTheyOwn: every package with code has a doc.go whose
// comment says what it owns.
func TestPackagesSayWhatTheyOwn(t *testing.T) {
	for _, p := range packages(t) {
		if p.lib && !p.hasDoc {
			t.Errorf("%s: no doc.go with a \"// Package %s ...\" (or \"// Command ...\") comment saying what it owns", p.path, p.name)
		}
	}
}

// The rule must bite: imports against it are found.
func TestRuleRefuses(t *testing.T) {
	cases := []struct {
		pkg, imp string
		ok       bool
	}{
		{"pkg/emulator/nova", "pkg/store", false},
		{"pkg/emulator/nova", "pkg/emulator/keystone", true},
		{"pkg/osb", "pkg/apb", false},
		{"pkg/broker", "pkg/osb", false},
		{"pkg/broker", "pkg/osb/osbapi", true},
		{"pkg/runtime/docker", "pkg/runtime", true},
		{"pkg/runtime/docker", "pkg/store", false},
		{"pkg/runtime/docker", "pkg/redact", true},
		{"pkg/runtime/docker", "pkg/runtime/kubernetes", false},
		{"pkg/store/crd", "pkg/store", true},
		{"pkg/jobs", "pkg/broker", false},
		{"cmd/openstack-emulator", "pkg/broker", false},
	}
	for _, c := range cases {
		r := ruleFor(c.pkg)
		if r == nil {
			t.Errorf("%s: no rule", c.pkg)
			continue
		}
		got := slices.ContainsFunc(r.may, func(m string) bool { return match(m, c.imp) })
		if got != c.ok {
			t.Errorf("%s importing %s: allowed %v, want %v (rule %s)", c.pkg, c.imp, got, c.ok, r.pkg)
		}
	}
}
