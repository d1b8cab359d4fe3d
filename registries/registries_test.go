// Package registries holds the OpenStack bundles, one directory each
// (README.md says how to write one). This test is their lint in CI: every
// apb.yml must parse, validate and lint clean with pkg/apb (the rules a
// catalog UI needs plus this registry's: tagged openstack, plans free),
// and each bundle directory must be a bundle the broker and the build
// can use. End-to-end tests of the bundles live in test/openstack.
package registries

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
			checkCatalog(t, f, s)
			checkReadme(t, dir, s)
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

// credentialsGroup is the form group of the parameters every OpenStack
// bundle takes for its credentials (README.rst, "OpenStack credentials"):
// cloud and credentials_secret, the broker reads both itself.
const credentialsGroup = "OpenStack credentials"

// checkCatalog: this registry's rules for a catalog UI, beyond apb.Lint's:
// a display name that says OpenStack, a documentation link and an icon,
// a description for every parameter (forms show it as help), and the
// two credentials parameters last in every plan, optional, in their own
// group, with a credentials_secret pattern that admits Secret names only
// (so a form refuses "namespace/name" before the broker does).
func checkCatalog(t *testing.T, f string, s *apb.Spec) {
	t.Helper()
	if d, _ := s.Metadata["displayName"].(string); !strings.HasPrefix(d, "OpenStack ") {
		t.Errorf("%s: metadata.displayName %q: must start with \"OpenStack \"", f, d)
	}
	for _, k := range []string{"documentationUrl", "imageUrl"} {
		if v, _ := s.Metadata[k].(string); !strings.HasPrefix(v, "https://") {
			t.Errorf("%s: metadata.%s: must be an https URL, got %q", f, k, v)
		}
	}
	for i, p := range s.Plans {
		path := fmt.Sprintf("%s: plans[%d] (%s)", f, i, p.Name)
		if c, _ := p.Metadata["cost"].(string); c == "" {
			t.Errorf("%s: metadata.cost: is required (catalog UIs show it; $0.00 for a free plan)", path)
		}
		for _, ps := range [][]apb.Parameter{p.Parameters, p.BindParameters} {
			for _, prm := range ps {
				if strings.TrimSpace(prm.Description) == "" {
					t.Errorf("%s: parameter %q: description is required (forms show it as help)", path, prm.Name)
				}
			}
		}
		n := len(p.Parameters)
		if n < 2 || p.Parameters[n-2].Name != "cloud" || p.Parameters[n-1].Name != "credentials_secret" {
			t.Errorf("%s: the last parameters must be cloud and credentials_secret (in that order)", path)
			continue
		}
		for _, prm := range p.Parameters[n-2:] {
			if prm.Required || prm.Type != "string" || prm.DisplayGroup != credentialsGroup || prm.Default != nil {
				t.Errorf("%s: parameter %q: must be an optional string without default in display_group %q", path, prm.Name, credentialsGroup)
			}
		}
		for _, prm := range p.Parameters[:n-2] {
			if prm.DisplayGroup == credentialsGroup {
				t.Errorf("%s: parameter %q: display_group %q is for cloud and credentials_secret only", path, prm.Name, credentialsGroup)
			}
		}
		re, err := regexp.Compile(p.Parameters[n-1].Pattern)
		if err != nil || p.Parameters[n-1].Pattern == "" {
			t.Errorf("%s: credentials_secret: pattern %q: must be a Secret name pattern (%v)", path, p.Parameters[n-1].Pattern, err)
			continue
		}
		for name, ok := range map[string]bool{"my-openstack": true, "creds.v2": true, "other-ns/my-openstack": false, "../my-openstack": false, "My_Secret": false} {
			if re.MatchString(name) != ok {
				t.Errorf("%s: credentials_secret: pattern %q matches %q: %v, want %v", path, p.Parameters[n-1].Pattern, name, !ok, ok)
			}
		}
	}
}

// checkReadme: README.md documents plans, parameters, binding fields and
// actions, naming every plan and parameter (as `name`).
func checkReadme(t *testing.T, dir string, s *apb.Spec) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		return // checkFiles reported it
	}
	md := string(b)
	for _, h := range []string{"## Parameters", "## Binding", "## Actions"} {
		if !strings.Contains(md, "\n"+h) {
			t.Errorf("%s/README.md: no section %q", dir, h)
		}
	}
	for _, p := range s.Plans {
		names := []string{p.Name}
		for _, prm := range append(append([]apb.Parameter{}, p.Parameters...), p.BindParameters...) {
			names = append(names, prm.Name)
		}
		for _, n := range names {
			if !strings.Contains(md, "`"+n+"`") {
				t.Errorf("%s/README.md: does not name `%s` (plan %s)", dir, n, p.Name)
			}
		}
	}
}
