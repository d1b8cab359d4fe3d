package broker

import (
	"regexp"
	"strings"
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
		// Without a broker-wide Secret an instance may still bring its own.
		{"no secret configured", CloudsRule{}, spec("local-openstack-keypair-apb", "openstack"), true},
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
	got := b.mounts(&apb.Spec{FQName: "local-os-apb", Tags: []string{"openstack"}}, nil)
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
	if m := b.mounts(&apb.Spec{FQName: "local-plain-apb"}, map[string]any{"credentials_secret": "mine"}); len(m) != 0 {
		t.Errorf("a bundle without rules got %+v", m)
	}
}

// An instance naming credentials_secret gets that Secret of its own
// namespace (target scope) instead of the broker's clouds.yaml, never
// both; cloud picks the entry of either.
func TestTenantMounts(t *testing.T) {
	sp := &apb.Spec{FQName: "local-os-apb", Tags: []string{"openstack"}}
	for _, c := range []struct {
		name   string
		rule   CloudsRule
		params map[string]any
		want   []runtime.Mount
		cloud  string
	}{
		{"broker's", CloudsRule{Secret: "clouds", Cloud: "devstack"}, nil,
			[]runtime.Mount{{Source: "clouds", Path: "/etc/apb-secrets/apb-clouds"}}, "devstack"},
		{"broker's, cloud chosen", CloudsRule{Secret: "clouds", Cloud: "devstack"}, map[string]any{"cloud": "other"},
			[]runtime.Mount{{Source: "clouds", Path: "/etc/apb-secrets/apb-clouds"}}, "other"},
		{"tenant's replaces the broker's", CloudsRule{Secret: "clouds", Cloud: "devstack"}, map[string]any{"credentials_secret": "clouds", "cloud": "mine"},
			[]runtime.Mount{{Source: "clouds", Scope: runtime.ScopeTarget, Path: "/etc/apb-secrets/namespace-clouds"}}, "mine"},
		{"tenant's without a broker Secret", CloudsRule{}, map[string]any{"credentials_secret": "mine"},
			[]runtime.Mount{{Source: "mine", Scope: runtime.ScopeTarget, Path: "/etc/apb-secrets/namespace-mine"}}, "only"},
		{"neither", CloudsRule{}, map[string]any{"cloud": "x"}, nil, ""},
	} {
		b := &Broker{o: Options{Clouds: c.rule}}
		got := b.mounts(sp, c.params)
		if len(got) != len(c.want) {
			t.Errorf("%s: mounts = %+v, want %+v", c.name, got, c.want)
			continue
		}
		for i, w := range c.want {
			if got[i].Source != w.Source || got[i].Scope != w.Scope || got[i].Path != w.Path {
				t.Errorf("%s: mount %d = %+v, want %+v", c.name, i, got[i], w)
			}
			env := map[string]string{}
			for _, e := range got[i].Env(map[string][]byte{"clouds.yaml": []byte("clouds:\n  only: {}\n")}) {
				env[e.Name] = e.Value
			}
			if env["OS_CLOUD"] != c.cloud || env["OS_CLIENT_CONFIG_FILE"] != w.Path+"/clouds.yaml" {
				t.Errorf("%s: env = %v, want OS_CLOUD %q", c.name, env, c.cloud)
			}
		}
	}
}

// credentials_secret names a Secret of the instance's namespace and
// nothing else: no namespace/name, no path.
func TestCheckCredentialsParams(t *testing.T) {
	rule := CloudsRule{Secret: "clouds"}
	os := &apb.Spec{FQName: "local-os-apb", Tags: []string{"openstack"}}
	for _, c := range []struct {
		v  any
		ok bool
	}{
		{"my-openstack", true}, {"my.openstack-2", true}, {"", true},
		{"other-ns/secret", false}, {"../x", false}, {"Upper", false}, {"-x", false}, {42, false},
		{strings.Repeat("a", 254), false},
	} {
		err := rule.checkCredentialsParams(os, map[string]any{"credentials_secret": c.v})
		if (err == nil) != c.ok {
			t.Errorf("%v: err = %v, want ok %v", c.v, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "credentials_secret") {
			t.Errorf("%v: the error does not name the parameter: %v", c.v, err)
		}
	}
	if err := rule.checkCredentialsParams(&apb.Spec{FQName: "dh-x-apb"}, map[string]any{"credentials_secret": "a/b"}); err != nil {
		t.Errorf("a bundle that wants no cloud: its own parameter is its business, got %v", err)
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
