package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestSandboxPrefix(t *testing.T) {
	long := strings.Repeat("a", 80)
	cases := []struct{ fq, action, want string }{
		{"dh-postgresql-apb", "provision", "dh-postgresql-apb-prov-"},
		{"dh-postgresql-apb", "bind", "dh-postgresql-apb-bind-"},
		{"local-Org_Name.apb", "deprovision", "local-org-name-apb-depr-"},
		{long, "unbind", strings.Repeat("a", 52) + "-unbi-"},
		{"", "test", "bundle-test-"},
	}
	for _, c := range cases {
		got := sandboxPrefix(c.fq, c.action)
		if got != c.want {
			t.Errorf("sandboxPrefix(%q, %q) = %q, want %q", c.fq, c.action, got, c.want)
		}
		// generateName appends 5 characters; the result must be a DNS label.
		if errs := validation.IsDNS1123Label(got + "abcde"); len(errs) > 0 {
			t.Errorf("%q: %v", got, errs)
		}
	}
}

func TestLabelValue(t *testing.T) {
	cases := []struct {
		in   string
		same bool
	}{
		{"6b0c2a7e-8f1d-4a51-9a0e-3c1b2d4e5f60", true},
		{"local-testbundle-apb", true},
		{"op with spaces", false},
		{strings.Repeat("x", 64), false},
		{"", true},
	}
	for _, c := range cases {
		got := labelValue(c.in)
		if (got == c.in) != c.same {
			t.Errorf("labelValue(%q) = %q, unchanged=%v want %v", c.in, got, got == c.in, c.same)
		}
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("labelValue(%q) = %q invalid: %v", c.in, got, errs)
		}
		if labelValue(c.in) != got {
			t.Errorf("labelValue(%q) not stable", c.in)
		}
	}
	if labelValue("a b") == labelValue("a c") {
		t.Error("distinct invalid values collide")
	}
}

func TestVolumeName(t *testing.T) {
	cases := []struct{ secret, want string }{
		{"openstack-clouds", "apb-openstack-clouds"},
		{"my.secret", ""},
		{"My_Secret", ""},
	}
	seen := map[string]string{}
	for _, c := range cases {
		got := volumeName(c.secret)
		if c.want != "" && got != c.want {
			t.Errorf("volumeName(%q) = %q, want %q", c.secret, got, c.want)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("volumeName(%q) = %q: %v", c.secret, got, errs)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%q and %q share volume %q", c.secret, other, got)
		}
		seen[got] = c.secret
	}
}

func TestNewUUID(t *testing.T) {
	a, b := newUUID(), newUUID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Errorf("newUUID: %q, %q", a, b)
	}
}
