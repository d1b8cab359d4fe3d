// Package registries holds the OpenStack bundles, one directory each
// (README.md says how to write one). This test is their lint in CI: every
// apb.yml must parse, validate and lint clean with pkg/apb (the rules a
// catalog UI needs plus this registry's: tagged openstack, plans free),
// and each bundle directory must be a bundle the broker and the build
// can use. End-to-end tests of the bundles live in test/openstack.
package registries

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// bundleName is what a directory of this registry may be called: the
// image and catalog names derive from it.
var bundleName = regexp.MustCompile(`^openstack-[a-z0-9-]+-apb$`)

func TestLintEveryBundle(t *testing.T) {
	dirs, err := filepath.Glob("*/apb.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no bundle found (registries/*/apb.yml)")
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(dir, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := apb.Parse(data, f)
			if err != nil {
				t.Fatal(err)
			}
			if err := apb.Lint(s, f, apb.LintOptions{Tags: []string{"openstack"}, Free: true}); err != nil {
				t.Error(err)
			}
			if s.Name != dir || !bundleName.MatchString(dir) {
				t.Errorf("%s: name %q: the directory and apb.yml's name must be the same, openstack-<service>-apb", f, s.Name)
			}
			checkFiles(t, dir, s)
		})
	}
}

// checkFiles: a Dockerfile, a README, and the playbooks of the actions
// the spec promises (bind and unbind are optional: without them the
// broker hands out the provision credentials; update only when a plan
// has updatable parameters).
func checkFiles(t *testing.T, dir string, s *apb.Spec) {
	t.Helper()
	for _, f := range []string{"Dockerfile", "README.md", "playbooks/provision.yml", "playbooks/deprovision.yml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
	updatable := false
	for _, p := range s.Plans {
		for _, prm := range p.Parameters {
			updatable = updatable || prm.Updatable
		}
		updatable = updatable || len(p.UpdatesTo) > 0
	}
	_, err := os.Stat(filepath.Join(dir, "playbooks/update.yml"))
	if updatable && err != nil {
		t.Errorf("%s: parameters are updatable but there is no playbooks/update.yml", dir)
	}
	if !updatable && err == nil {
		t.Errorf("%s: playbooks/update.yml exists but no parameter is updatable (the catalog offers no update)", dir)
	}
}
