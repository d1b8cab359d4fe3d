package apb_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

func TestLabelRoundTrip(t *testing.T) {
	for _, f := range []string{"testdata/hello-world-apb.yml", "testdata/postgresql-apb.yml", "testdata/demo-apb.yml"} {
		yml := readFile(t, f)
		enc := apb.EncodeLabel(yml)
		if strings.ContainsAny(enc, " \n") {
			t.Errorf("%s: label contains whitespace", f)
		}
		// apb prepare splits the value into 76-character continuation lines.
		var split strings.Builder
		for i := 0; i < len(enc); i += 76 {
			split.WriteString(enc[i:min(i+76, len(enc))])
			split.WriteString(" \n\t")
		}
		for name, label := range map[string]string{"plain": enc, "split": split.String(), "unpadded": strings.TrimRight(enc, "=")} {
			got, err := apb.DecodeLabel(label)
			if err != nil {
				t.Fatalf("%s %s: %v", f, name, err)
			}
			if !bytes.Equal(got, yml) {
				t.Errorf("%s %s: round trip changed the document", f, name)
			}
		}
	}
}

func TestDecodeLabelErrors(t *testing.T) {
	for _, label := range []string{"", " \n ", "not*base64", "QUJD!"} {
		if _, err := apb.DecodeLabel(label); err == nil {
			t.Errorf("DecodeLabel(%q) succeeded", label)
		}
	}
}

func TestSpecFromLabels(t *testing.T) {
	spec := apb.EncodeLabel(readFile(t, "testdata/postgresql-apb.yml"))
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		runtime int
		err     string
	}{
		{"no runtime label", map[string]string{apb.LabelSpec: spec}, 1, ""},
		{"apb runtime", map[string]string{apb.LabelSpec: spec, apb.LabelRuntime: "2"}, 2, ""},
		{"bundle runtime preferred", map[string]string{apb.LabelSpec: spec, apb.LabelRuntime: "1", apb.LabelBundleRuntime: "2"}, 2, ""},
		{"bundle runtime alone", map[string]string{apb.LabelSpec: spec, apb.LabelBundleRuntime: " 1 "}, 1, ""},
		{"runtime too high", map[string]string{apb.LabelSpec: spec, apb.LabelRuntime: "3"}, 0, "runtime 3 not in 1..2"},
		{"runtime zero", map[string]string{apb.LabelSpec: spec, apb.LabelBundleRuntime: "0"}, 0, "runtime 0 not in 1..2"},
		{"runtime not a number", map[string]string{apb.LabelSpec: spec, apb.LabelRuntime: "two"}, 0, `"two" is not an integer`},
		{"bad base64", map[string]string{apb.LabelSpec: "%%%"}, 0, "decoding com.redhat.apb.spec"},
		{"invalid spec", map[string]string{apb.LabelSpec: apb.EncodeLabel([]byte("version: '1.0'\nname: x\n"))}, 0, "plans: at least one plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := apb.SpecFromLabels(tc.labels, "img:latest")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), `bundle "img:latest"`) {
					t.Fatalf("err = %v, want one naming the bundle and containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Runtime != tc.runtime || s.Name != "postgresql-apb" {
				t.Errorf("runtime %d name %q", s.Runtime, s.Name)
			}
		})
	}
	for _, labels := range []map[string]string{nil, {"other": "x"}, {apb.LabelSpec: ""}} {
		_, err := apb.SpecFromLabels(labels, "img")
		if !errors.Is(err, apb.ErrNoSpecLabel) {
			t.Errorf("labels %v: err = %v, want ErrNoSpecLabel", labels, err)
		}
	}
}

func TestFQNameAndIDs(t *testing.T) {
	for _, tc := range []struct{ registry, name, want string }{
		{"dh", "mediawiki-apb", "dh-mediawiki-apb"},
		{"h", "org/hello-world-apb", "h-org-hello-world-apb"},
		{"h", "1234567890123456789012345678901234567890-", "h-1234567890123456789012345678901234567890"},
		{"my.reg:5000", "a/b.c:d", "my-reg-5000-a-b-c-d"},
		// 51 characters after the replacement, the 51st being a dash.
		{"r", strings.Repeat("a", 48) + "-b", "r-" + strings.Repeat("a", 48)},
		// Longer than 51: cut, and the cut ends on a dash that is dropped.
		{"r", strings.Repeat("a", 48) + "--bbbb", "r-" + strings.Repeat("a", 48)},
		// Only one trailing dash is removed.
		{"r", strings.Repeat("a", 47) + "---bbbb", "r-" + strings.Repeat("a", 47) + "-"},
		{"r", strings.Repeat("x", 60), "r-" + strings.Repeat("x", 49)},
		{"apb-push", "my_app", "apb-push-my_app"},
	} {
		if got := apb.FQName(tc.registry, tc.name); got != tc.want {
			t.Errorf("FQName(%q, %q) = %q, want %q", tc.registry, tc.name, got, tc.want)
		}
	}
	if got := apb.ServiceID("dh-sns-apb"); got != "6f418d63aefb3f622d58117b2cbba90c" {
		t.Errorf("ServiceID = %s", got)
	}
	if got := apb.PlanID("dh-sns-apb", "dev"); got != "55822a921d2c4858fe6e58f5522429c2" {
		t.Errorf("PlanID = %s", got)
	}
	s, err := apb.Parse([]byte("version: '1.0'\nname: sns-apb\nplans:\n- name: dev\n- name: prod\n"), "sns")
	if err != nil {
		t.Fatal(err)
	}
	s.Finish("dh", "docker.io/org/sns-apb:latest")
	if s.FQName != "dh-sns-apb" || s.ID != "6f418d63aefb3f622d58117b2cbba90c" || s.Plans[0].ID != "55822a921d2c4858fe6e58f5522429c2" ||
		s.Plans[1].ID != apb.PlanID("dh-sns-apb", "prod") || s.Registry != "dh" || s.Image != "docker.io/org/sns-apb:latest" {
		t.Errorf("Finish: %+v", s)
	}
}
