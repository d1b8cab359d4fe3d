package registry

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

const goodYML = `version: '1.0'
name: %s
description: test bundle
bindable: false
async: optional
plans:
  - name: default
    description: the plan
    free: true
    parameters: []
`

func writeBundle(t *testing.T, root, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, dir, "apb.yml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func good(name string) string { return strings.Replace(goodYML, "%s", name, 1) }

func TestLocal(t *testing.T) {
	root := t.TempDir()
	writeBundle(t, root, "a-apb", good("a-apb"))
	writeBundle(t, root, "b-apb", good("b-apb"))
	if err := os.WriteFile(filepath.Join(root, "b-apb", "Dockerfile"), []byte("FROM x\nLABEL \"com.redhat.apb.runtime\"=\"1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeBundle(t, root, "bad-version-apb", strings.Replace(good("bad-version-apb"), "'1.0'", "'2.0'", 1))
	writeBundle(t, root, "bad-yaml-apb", "name: [unclosed\n")
	writeBundle(t, root, "filtered-out", good("filtered-out"))
	if err := os.MkdirAll(filepath.Join(root, "not-a-bundle"), 0o755); err != nil {
		t.Fatal(err)
	}

	s, err := New([]Config{{Type: "local", Name: "lo", Path: root, WhiteList: []string{"-apb$"}}}, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := s.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 5 {
		t.Errorf("Images = %d, want 5 (directories with apb.yml)", res.Images)
	}
	if len(res.Specs) != 2 {
		t.Fatalf("specs = %d, want 2: %+v", len(res.Specs), res.Skipped)
	}
	a, b := res.Specs[0], res.Specs[1]
	if a.FQName != "lo-a-apb" || a.ID != apb.ServiceID("lo-a-apb") || a.Image != "lo/a-apb:latest" || a.Runtime != 2 || a.Registry != "lo" {
		t.Errorf("a = %+v", a)
	}
	// a has no Dockerfile label (runtime 2, apb-base's); b says 1.
	if b.Runtime != 1 {
		t.Errorf("b runtime = %d, want 1 from the Dockerfile label", b.Runtime)
	}
	if !strings.HasPrefix(a.Digest, "sha256:") || a.Digest == b.Digest {
		t.Errorf("digests %q %q", a.Digest, b.Digest)
	}
	reasons := map[string]string{}
	for _, sk := range res.Skipped {
		reasons[sk.Image] = sk.Reason
	}
	if len(reasons) != 2 || !strings.Contains(reasons["bad-version-apb"], "unsupported version") || reasons["bad-yaml-apb"] == "" {
		t.Errorf("skipped = %+v", res.Skipped)
	}

	// A changed file is read again; an unchanged one comes from the cache.
	writeBundle(t, root, "a-apb", strings.Replace(good("a-apb"), "test bundle", "changed", 1))
	res2, err := s.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Specs[0].Description != "changed" || res2.Specs[0].Digest == a.Digest {
		t.Errorf("after change: %+v", res2.Specs[0])
	}
	if res2.Specs[1].Digest != b.Digest || res2.Specs[1] == b {
		t.Errorf("unchanged bundle: same digest, distinct spec value wanted")
	}
	if n := len(s.regs[0].cache); n != 4 {
		t.Errorf("cache holds %d digests, want 4 (pruned to what the registry has)", n)
	}
}

func TestLocalMissingDir(t *testing.T) {
	s, err := New([]Config{{Type: "local", Name: "lo", Path: filepath.Join(t.TempDir(), "nope"), WhiteList: []string{".*"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Bootstrap(context.Background())
	if err == nil || !strings.Contains(err.Error(), `registry "lo"`) || !strings.Contains(err.Error(), "all registries failed") {
		t.Fatalf("err = %v", err)
	}
}
