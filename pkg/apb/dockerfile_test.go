package apb_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// The compatibility corpus' Dockerfiles carry the label as the original
// `apb prepare` wrote it: reading it back gives apb.yml, and writing it
// again changes nothing.
func TestDockerfileSpecRoundTrip(t *testing.T) {
	dirs, _ := filepath.Glob("../../test/compat/*-apb")
	if len(dirs) == 0 {
		t.Fatal("no compat bundles found")
	}
	for _, dir := range dirs {
		df := readFile(t, filepath.Join(dir, "Dockerfile"))
		spec := readFile(t, filepath.Join(dir, "apb.yml"))
		l, err := apb.DockerfileSpec(df)
		if err != nil || l == nil || !bytes.Equal(l.Spec, spec) || l.Line < 2 {
			t.Errorf("%s: DockerfileSpec = %+v, %v; want apb.yml (%d bytes)", dir, l, err, len(spec))
		}
		again, err := apb.SetDockerfileSpec(df, spec, false)
		if err != nil || !bytes.Equal(again, df) {
			t.Errorf("%s: SetDockerfileSpec changed an up-to-date Dockerfile (%v):\n%s", dir, err, again)
		}
	}
}

func TestSetDockerfileSpec(t *testing.T) {
	spec := []byte("version: '1.0'\nname: x\nplans: [{name: a}]\n" + strings.Repeat("# pad\n", 20))
	for _, tc := range []struct {
		name, in string
		oneLine  bool
		wantErr  string
	}{
		{name: "no label", in: "FROM base\nCOPY playbooks /opt/apb/project\n"},
		{name: "no label, no newline", in: "FROM base"},
		{name: "old label", in: "FROM base\n\nLABEL \"com.redhat.apb.spec\"=\\\n\"dmVyc2lvbjogMS4wCg==\"\nUSER apb\n"},
		{name: "one line", in: "FROM base\nLABEL com.redhat.apb.spec=dmVyc2lvbjogMS4wCg==\n", oneLine: true},
		{name: "odd label", in: "FROM base\nLABEL com.redhat.apb.spec='single quotes'\n", wantErr: "line 2: the com.redhat.apb.spec label is not in the form"},
		{name: "build arg", in: "FROM base\nARG APB_SPEC\nLABEL com.redhat.apb.spec=$APB_SPEC\n", wantErr: "set from a build argument"},
		{name: "no FROM", in: "COPY x y\n", wantErr: "no FROM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := apb.SetDockerfileSpec([]byte(tc.in), spec, tc.oneLine)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l, err := apb.DockerfileSpec(out)
			if err != nil || l == nil || !bytes.Equal(l.Spec, spec) {
				t.Fatalf("label reads back as %+v (%v) from\n%s", l, err, out)
			}
			if !strings.HasPrefix(string(out), "FROM base\n") || strings.Count(string(out), "com.redhat.apb.spec") != 1 {
				t.Errorf("Dockerfile:\n%s", out)
			}
			if strings.Contains(tc.in, "USER apb") && !strings.HasSuffix(string(out), "\"\nUSER apb\n") {
				t.Errorf("what followed the label was lost:\n%s", out)
			}
		})
	}
}

func TestDockerfileSpecFromBuildArg(t *testing.T) {
	for _, df := range []string{
		"FROM b\nARG APB_SPEC\nLABEL com.redhat.apb.spec=$APB_SPEC com.redhat.apb.runtime=\"2\"\n",
		"FROM b\nARG S\nLABEL x=y \"com.redhat.apb.spec\"=\"${S}\"\n",
	} {
		l, err := apb.DockerfileSpec([]byte(df))
		if err != nil || l == nil || l.Arg == "" || l.Line != 3 || l.Spec != nil {
			t.Errorf("%q: %+v, %v", df, l, err)
		}
	}
}
