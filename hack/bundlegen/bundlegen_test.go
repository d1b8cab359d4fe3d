package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// TestUpToDate regenerates the bundles from modules.json and fails when
// the committed ones under registries/ differ: run go run ./hack/bundlegen.
func TestUpToDate(t *testing.T) {
	c, err := load("modules.json")
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no bundle generated")
	}
	diffs, err := Compare(files, "../../registries")
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("registries/ is not what hack/bundlegen generates (run go run ./hack/bundlegen from the top):\n  %s", strings.Join(diffs, "\n  "))
	}
}

// TestModulesMatchImage: modules.json is what extract.py reads from the
// openstack.cloud collection in the openstack-apb image the tests use
// (hack/test.d/10-images.sh builds it; OSB_TEST_IMAGES=1 says it did).
func TestModulesMatchImage(t *testing.T) {
	if os.Getenv("OSB_TEST_IMAGES") != "1" {
		t.Skip("OSB_TEST_IMAGES is not 1: no openstack-apb image built (make test builds it)")
	}
	image := os.Getenv("OSB_OPENSTACK_APB_IMAGE")
	if image == "" {
		prefix := os.Getenv("OSB_IMAGE_PREFIX")
		if prefix == "" {
			prefix = "openstack-service-broker"
		}
		image = prefix + "/openstack-apb:latest"
	}
	script, err := os.ReadFile("extract.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "run", "--rm", "-i", "--network", "none", "--entrypoint", "python3", image, "-")
	cmd.Stdin = bytes.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("extract.py in %s: %v\n%s", image, err, stderr.String())
	}
	want, err := os.ReadFile("modules.json")
	if err != nil {
		t.Fatal(err)
	}
	var g, w Collection
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("extract.py's output: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("modules.json differs from what extract.py reads in %s (openstack.cloud %s there, %s here): run hack/bundlegen/extract.sh", image, g.Version, w.Version)
	}
}

// TestReadmeNamesEveryDecision: README.md lists every module the
// generator leaves out or covers.
func TestReadmeNamesEveryDecision(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []map[string]string{excluded, handWritten} {
		for m := range table {
			if !strings.Contains(string(readme), "`"+m+"`") {
				t.Errorf("README.md does not name module %s", m)
			}
		}
	}
	for m, r := range resources {
		if !strings.Contains(string(readme), "`"+m+"`") || !strings.Contains(string(readme), r.Bundle) {
			t.Errorf("README.md does not name module %s and its bundle %s", m, r.Bundle)
		}
	}
}

func TestExpr(t *testing.T) {
	for _, c := range []struct {
		p    param
		want string
	}{
		{param{Name: "network"}, "{{ network | default(omit) }}"},
		{param{Name: "direction", Default: "ingress"}, "{{ direction | default('ingress') }}"},
		{param{Name: "policies", Default: []any{"anti-affinity"}}, "{{ policies | default(['anti-affinity']) }}"},
		{param{Name: "shared", Default: false}, "{{ shared | default(false) }}"},
		{param{Name: "q", Default: "it's"}, `{{ q | default('it\'s') }}`},
		{param{Name: "m", Default: map[string]any{"b": 1.0, "a": "x"}}, "{{ m | default({'a': 'x', 'b': 1}) }}"},
	} {
		if got := expr(c.p); got != c.want {
			t.Errorf("expr(%v) = %s, want %s", c.p, got, c.want)
		}
	}
}

func TestDocText(t *testing.T) {
	for in, want := range map[string]string{
		"Must be C(IPv4) or I(IPv6).":          "Must be IPv4 or IPv6.",
		"See L(the docs,https://example.com).": "See the docs.",
		"  two\n lines ":                       "two lines",
	} {
		if got := docText(in); got != want {
			t.Errorf("docText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDiscoveredAndRemoved: the port bundle's network is optional and
// provision looks the project's only network up (failing with the
// parameter's name otherwise); the RBAC policy bundle fills the owner in
// and its deprovision finds the policy by its parameters.
func TestDiscoveredAndRemoved(t *testing.T) {
	c, err := load("modules.json")
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	port, err := apb.Parse([]byte(files["openstack-port-apb/apb.yml"]), "port")
	if err != nil {
		t.Fatal(err)
	}
	var network *apb.Parameter
	for i, p := range port.Plans[0].Parameters {
		if p.Name == "network" {
			network = &port.Plans[0].Parameters[i]
		}
	}
	if network == nil || network.Required || !strings.Contains(network.Description, "the project's only network") {
		t.Errorf("port's network parameter: %+v", network)
	}
	for file, wants := range map[string][]string{
		"openstack-port-apb/playbooks/provision.yml": {
			"openstack.cloud.networks_info:",
			"when: network | default('', true) == ''",
			"parameter network not given, and the project has",
			"give network",
			"network: '{{ network | default(discovered_network, true) }}'",
		},
		"openstack-rbac-policy-apb/playbooks/provision.yml": {
			"import openstack; print(openstack.connect().current_project_id)",
			`project_id: "{{ credentials_project.stdout | trim }}"`,
		},
		"openstack-rbac-policy-apb/playbooks/deprovision.yml": {
			"openstack.cloud.neutron_rbac_policies_info:",
			`policy_id: "{{ item.id }}"`,
			"selectattr('action', 'equalto', action | default('access_as_shared'))",
		},
	} {
		for _, w := range wants {
			if !strings.Contains(files[file], w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
	rbac := files["openstack-rbac-policy-apb/apb.yml"]
	for _, hidden := range []string{"name: policy_id", "name: project_id"} {
		if strings.Contains(rbac, hidden) {
			t.Errorf("the RBAC policy bundle offers %s", hidden)
		}
	}
}

// TestDiscoverNeedsTheOption: a resource entry naming an option the module
// lacks is refused.
func TestDiscoverNeedsTheOption(t *testing.T) {
	c := &Collection{Collection: "openstack.cloud", Version: "1", Modules: []Module{{Module: "port", Options: []Option{{Name: "name", Type: "str"}}}}}
	r := resources["port"]
	if _, err := newBundle(c, c.Modules[0], r); err == nil || !strings.Contains(err.Error(), "network") {
		t.Errorf("a Discover option the module lacks: %v", err)
	}
}
