package images

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// originalTags are the tags ansibleplaybookbundle/apb-base published
// (hack/images.sh APB_BASE_TAGS): every one is this project's apb-base,
// under the original's name and ours.
var originalTags = []string{"latest", "canary", "nightly", "release-1.0", "release-1.1", "release-1.2", "release-1.3", "v3.9", "v3.10", "v3.11"}

func imageID(t *testing.T, ref string) string {
	t.Helper()
	r := docker(t, "image", "inspect", "-f", "{{.Id}}", ref)
	if r.code != 0 {
		t.Fatalf("image %s: %s (%s)", ref, strings.TrimSpace(r.out), installHint)
	}
	return strings.TrimSpace(r.out)
}

// build runs a plain `docker build` of dir, as bundle authors did.
func build(t *testing.T, tag, dir string) {
	t.Helper()
	ctx, err := buildContext(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ctx != dir {
		defer os.RemoveAll(ctx)
	}
	cmd := exec.Command(dockerBin(), "build", "--network", "host", "-t", tag, ctx)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", dir, err, out)
	}
}

// buildContext is dir, or under OSB_IMAGE_PREFIX a copy of it whose
// Dockerfile says FROM the prefixed upstream name: the bundle sources stay
// unchanged (FROM ansibleplaybookbundle/apb-base[:tag]) and still build on
// the checkout's own base.
func buildContext(dir string) (string, error) {
	if prefix == "" {
		return dir, nil
	}
	tmp, err := os.MkdirTemp("", "osb-images-ctx-")
	if err != nil {
		return "", err
	}
	ctx := filepath.Join(tmp, "ctx")
	if err := os.CopyFS(ctx, os.DirFS(dir)); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("copying the build context %s: %w", dir, err)
	}
	df := filepath.Join(ctx, "Dockerfile")
	b, err := os.ReadFile(df)
	if err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	b = fromUpstream.ReplaceAll(b, []byte("${1}"+upstreamRepo+"${2}"))
	if err := os.WriteFile(df, b, 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return ctx, nil
}

var fromUpstream = regexp.MustCompile(`(?m)^(FROM\s+)ansibleplaybookbundle/apb-base(\s|:|$)`)

// An unchanged Dockerfile of the original's form builds FROM every tag the
// original published: brace expansion in RUN (bash), root as the build
// user (chmod of what COPY wrote), then USER apb.
func TestOriginalTags(t *testing.T) {
	requireImages(t)
	want := imageID(t, apbBase)
	ctx := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ctx, "playbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "playbooks", "provision.yml"), []byte("- hosts: localhost\n  gather_facts: false\n  tasks: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tag := range originalTags {
		for _, name := range []string{upstreamRepo, baseRepo} {
			if got := imageID(t, name+":"+tag); got != want {
				t.Errorf("%s:%s is %s, want the apb-base %s", name, tag, got, want)
			}
		}
		df := "FROM " + upstreamRepo + ":" + tag + "\nADD playbooks /opt/apb/actions\nADD . /opt/ansible/roles/tagged\n" +
			"RUN chmod -R g=u /opt/{ansible,apb}\nUSER apb\n"
		if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		img := testRepo + "/images-tag-" + strings.ReplaceAll(tag, ".", "-") + ":latest"
		build(t, img, ctx)
		r := docker(t, "run", "--rm", "--network", "none", "--entrypoint", "sh", img, "-c",
			"id -u; stat -c %A /opt/apb/actions/provision.yml /opt/ansible/roles/tagged/Dockerfile")
		if r.code != 0 || r.out != "1001\n-rw-rw-r--\n-rw-rw-r--\n" {
			t.Errorf("FROM :%s: exit %d, output %q; want uid 1001 and group-writable files", tag, r.code, r.out)
		}
		docker(t, "rmi", img)
	}
}

// The runtime user: an image that ends without USER starts as root and the
// entrypoint drops to apb (1001, group 0); BUNDLE_RUN_AS_ROOT=true keeps
// root; an arbitrary UID in group 0 (OpenShift's restricted SCC) is kept
// and gets a passwd entry; USER apb runs as 1001 directly.
func TestRuntimeUser(t *testing.T) {
	requireImages(t)
	cases := []struct {
		name string
		args []string
		want map[string]any
	}{
		{"no USER", nil, map[string]any{"uid": "1001", "gid": "0", "name": "apb", "home": "/opt/apb"}},
		{"BUNDLE_RUN_AS_ROOT", []string{"-e", "BUNDLE_RUN_AS_ROOT=true"}, map[string]any{"uid": "0", "gid": "0", "name": "root"}},
		{"arbitrary UID", []string{"--user", "1000470000:0"}, map[string]any{"uid": "1000470000", "gid": "0", "name": "apb", "home": "/opt/apb"}},
		{"USER apb", []string{"--user", "apb"}, map[string]any{"uid": "1001", "gid": "0", "name": "apb"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := outDir(t)
			args := append([]string{"run", "--rm", "--network", "none", "-v", out + ":/var/tmp/out"}, tc.args...)
			args = append(args, legacyImage, "provision", "--extra-vars", `{"namespace":"ns"}`)
			r := docker(t, args...)
			if r.code != 0 {
				t.Fatalf("exit %d:\n%s", r.code, r.out)
			}
			got := readJSON(t, filepath.Join(out, "user.json"))
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// The compatibility corpus (test/compat) builds from its unchanged
// Dockerfiles; each image runs as apb, carries its apb.yml in the spec
// label exactly, has its playbooks in /opt/apb/actions and its role(s) in
// /opt/ansible/roles, group-writable for OpenShift's arbitrary UIDs.
func TestCompatCorpusBuilds(t *testing.T) {
	requireImages(t)
	corpus := map[string]string{
		"hello-world-apb": "/opt/ansible/roles/apb/tasks/main.yml",
		"postgresql-apb":  "/opt/ansible/roles/postgresql-apb/tasks/main.yml",
		"mediawiki-apb":   "/opt/ansible/roles/mediawiki/tasks/main.yml",
	}
	for name, role := range corpus {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "compat", name)
			img := testRepo + "/images-compat-" + name + ":latest"
			build(t, img, dir)
			t.Cleanup(func() { docker(t, "rmi", img) })
			r := docker(t, "image", "inspect", img)
			var imgs []struct {
				Config struct {
					User   string
					Labels map[string]string
				}
			}
			if err := json.Unmarshal([]byte(r.out), &imgs); err != nil || len(imgs) != 1 {
				t.Fatalf("inspect: %v %s", err, r.out)
			}
			if imgs[0].Config.User != "apb" {
				t.Errorf("user %q, want apb", imgs[0].Config.User)
			}
			spec, err := base64.StdEncoding.DecodeString(imgs[0].Config.Labels["com.redhat.apb.spec"])
			if err != nil {
				t.Fatalf("spec label: %v", err)
			}
			src, err := os.ReadFile(filepath.Join(dir, "apb.yml"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(spec, src) {
				t.Errorf("the spec label is not apb.yml: run test/compat/prepare.sh %s", dir)
			}
			if _, err := apb.Parse(spec, name); err != nil {
				t.Errorf("the spec label does not parse: %v", err)
			}
			r = docker(t, "run", "--rm", "--network", "none", "--entrypoint", "sh", img, "-c",
				"id -u; ls /opt/apb/actions; test -f "+role+" && echo role; find /opt/apb /opt/ansible ! -perm -g=w | head -3")
			if r.code != 0 || !strings.HasPrefix(r.out, "1001\n") || !strings.Contains(r.out, "provision.yml\n") || !strings.Contains(r.out, "deprovision.yml\n") ||
				!strings.HasSuffix(r.out, "role\n") {
				t.Errorf("image contents (want uid 1001, playbooks, role, nothing not group-writable):\n%s", r.out)
			}
		})
	}
}
