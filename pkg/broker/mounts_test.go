package broker

import (
	"regexp"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

func TestCloudsRule(t *testing.T) {
	spec := func(fq string, tags ...string) *apb.Spec { return &apb.Spec{FQName: fq, Tags: tags} }
	cases := []struct {
		name string
		rule CloudsRule
		sp   *apb.Spec
		want bool
	}{
		{"no secret configured", CloudsRule{}, spec("local-openstack-keypair-apb", "openstack"), false},
		{"tagged openstack", CloudsRule{Secret: "c"}, spec("local-openstack-keypair-apb", "compute", "OpenStack"), true},
		{"not tagged", CloudsRule{Secret: "c"}, spec("dh-postgresql-apb", "database"), false},
		{"regexp selects", CloudsRule{Secret: "c", Bundles: regexp.MustCompile(`^dh-`)}, spec("dh-postgresql-apb"), true},
		{"regexp replaces the tag rule", CloudsRule{Secret: "c", Bundles: regexp.MustCompile(`^dh-`)}, spec("local-x-apb", "openstack"), false},
	}
	for _, c := range cases {
		if got := c.rule.wants(c.sp); got != c.want {
			t.Errorf("%s: wants = %v, want %v", c.name, got, c.want)
		}
	}
}

// What a bundle gets mounted: its secrets: rules, then the OpenStack
// credentials, each source once, at apb-base's paths.
func TestMounts(t *testing.T) {
	b := &Broker{o: Options{
		Secrets: []SecretRule{{APBName: "local-os-apb", Secret: "db"}, {APBName: "other", Secret: "x"},
			{APBName: "local-os-apb", Secret: "clouds"}, {APBName: "local-os-apb", Secret: "db"}},
		Clouds: CloudsRule{Secret: "clouds", Cloud: "devstack"},
	}}
	got := b.mounts(&apb.Spec{FQName: "local-os-apb", Tags: []string{"openstack"}})
	want := []runtime.Mount{{Source: "db", Path: "/etc/apb-secrets/apb-db"}, {Source: "clouds", Path: "/etc/apb-secrets/apb-clouds"}}
	if len(got) != len(want) {
		t.Fatalf("mounts = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Source != want[i].Source || got[i].Path != want[i].Path {
			t.Errorf("mount %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[0].Env != nil || got[1].Env == nil {
		t.Errorf("only the clouds mount derives environment variables")
	}
	if m := b.mounts(&apb.Spec{FQName: "local-plain-apb"}); len(m) != 0 {
		t.Errorf("a bundle without rules got %+v", m)
	}
}

// OpenStack clients are pointed at the files the source holds, by path,
// and at the configured or only cloud; never a value from the files.
func TestCloudsEnv(t *testing.T) {
	one := []byte("clouds:\n  devstack:\n    auth: {password: pw}\n")
	two := []byte("clouds:\n  a: {}\n  b: {}\n")
	cases := []struct {
		name  string
		cloud string
		files map[string][]byte
		want  map[string]string
	}{
		{"only cloud", "", map[string][]byte{"clouds.yaml": one},
			map[string]string{"OS_CLIENT_CONFIG_FILE": "/d/clouds.yaml", "OS_CLOUD": "devstack"}},
		{"configured cloud wins", "prod", map[string][]byte{"clouds.yaml": one, "secure.yaml": []byte("x")},
			map[string]string{"OS_CLIENT_CONFIG_FILE": "/d/clouds.yaml", "OS_CLOUD": "prod", "OS_CLIENT_SECURE_FILE": "/d/secure.yaml"}},
		{"two clouds, none configured", "", map[string][]byte{"clouds.yaml": two},
			map[string]string{"OS_CLIENT_CONFIG_FILE": "/d/clouds.yaml"}},
		{"not YAML", "", map[string][]byte{"clouds.yaml": []byte(":")},
			map[string]string{"OS_CLIENT_CONFIG_FILE": "/d/clouds.yaml"}},
		{"no clouds.yaml", "prod", map[string][]byte{"other": one}, map[string]string{}},
	}
	for _, c := range cases {
		got := map[string]string{}
		for _, e := range cloudsEnv("/d", c.cloud)(c.files) {
			got[e.Name] = e.Value
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: env = %v, want %v", c.name, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.name, k, got[k], v)
			}
		}
	}
}
