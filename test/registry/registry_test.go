// Package registry_test runs bundle discovery against Debian's
// docker-registry on 127.0.0.1: anonymous, htpasswd basic auth and Bearer
// token auth, with images built and pushed in Go.
package registry_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/registry"
	"github.com/openstack-service-broker/openstack-service-broker/test/registry/regtest"
)

func skipIfAsked(t *testing.T) {
	if strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " registry ") {
		t.Skip("OSB_SKIP names registry")
	}
	if _, err := os.Stat(regtest.Binary); err != nil {
		t.Fatalf("%s is missing: %s", regtest.Binary, regtest.InstallHint)
	}
}

const user, pass = "pusher", "correct-horse-battery"

func start(t *testing.T, mode string) *regtest.DockerRegistry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var auth regtest.Auth
	switch mode {
	case "basic":
		auth = regtest.Auth{User: user, Pass: pass}
	case "token":
		ts, err := regtest.NewTokenServer("regtest-issuer", "regtest-registry", user, pass)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(ts)
		t.Cleanup(srv.Close)
		// go-containerregistry refuses a realm on a loopback or private IP
		// literal other than the registry's own host:port (SSRF guard), so
		// the realm names the token server by host name.
		realm := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/token"
		auth = regtest.Auth{Token: ts, TokenRealm: realm}
	}
	r, err := regtest.StartDockerRegistry(ctx, t.TempDir(), auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func push(t *testing.T, host, repo string, yml []byte, labels map[string]string, auth authn.Authenticator) {
	t.Helper()
	img, err := regtest.BundleImage(yml, labels)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(host+"/"+repo+":latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("push %s: %v", repo, err)
	}
}

func TestDockerRegistry(t *testing.T) {
	skipIfAsked(t)
	tests := []struct {
		mode       string
		user, pass string
		wantErr    bool
	}{
		{mode: "anonymous"},
		{mode: "basic", user: user, pass: pass},
		{mode: "basic", user: user, pass: "wrong-pass", wantErr: true},
		{mode: "basic", wantErr: true},
		{mode: "token", user: user, pass: pass},
		{mode: "token", user: user, pass: "wrong-pass", wantErr: true},
		{mode: "token", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+map[bool]string{false: "ok", true: "refused"}[tt.wantErr]+"/"+tt.user, func(t *testing.T) {
			reg := start(t, tt.mode)
			pushAuth := authn.Anonymous
			if tt.mode != "anonymous" {
				pushAuth = authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})
			}
			push(t, reg.Host, "bundles/keypair-apb", regtest.BundleYML("keypair-apb"), nil, pushAuth)
			push(t, reg.Host, "bundles/network-apb", regtest.BundleYML("network-apb"), map[string]string{apb.LabelRuntime: "2"}, pushAuth)
			push(t, reg.Host, "bundles/broken-apb", []byte("version: '1.0'\nname: broken-apb\nplans: not-a-list\n"), nil, pushAuth)
			push(t, reg.Host, "base/ubuntu", nil, nil, pushAuth)

			set, err := registry.New([]registry.Config{{
				Type: "apiv2", Name: "e2e", URL: "http://" + reg.Host, Tag: "latest",
				User: tt.user, Pass: tt.pass, WhiteList: []string{"-apb$"}, FailOnError: true,
			}}, registry.Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := set.Bootstrap(ctx)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), `registry "e2e"`) {
					t.Fatalf("err = %v, want a failure naming the registry", err)
				}
				if tt.pass != "" && strings.Contains(err.Error(), tt.pass) {
					t.Errorf("the error holds the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Images != 4 || len(res.Specs) != 2 || len(res.Skipped) != 1 {
				t.Fatalf("images %d specs %d skipped %+v errors %v", res.Images, len(res.Specs), res.Skipped, res.Errors)
			}
			if sk := res.Skipped[0]; sk.Image != "bundles/broken-apb" || !strings.Contains(sk.Reason, "not-a-list") {
				t.Errorf("skipped = %+v, want broken-apb with the YAML error", sk)
			}
			for i, fq := range []string{"e2e-keypair-apb", "e2e-network-apb"} {
				s := res.Specs[i]
				if s.FQName != fq || !strings.HasPrefix(s.Image, reg.Host+"/bundles/") || !strings.HasPrefix(s.Digest, "sha256:") {
					t.Errorf("spec %d = %s %s %s", i, s.FQName, s.Image, s.Digest)
				}
				svc, err := apb.ToService(s, apb.ConvertOptions{})
				if err != nil || svc.Name != fq || svc.ID != s.ID || len(svc.Plans) != 1 {
					t.Errorf("catalog entry of %s: %+v, %v", fq, svc, err)
				}
			}
			if res.Specs[1].Runtime != 2 {
				t.Errorf("runtime = %d, want 2", res.Specs[1].Runtime)
			}
			res2, err := set.Bootstrap(ctx)
			if err != nil || len(res2.Specs) != 2 || res2.Specs[0].Digest != res.Specs[0].Digest {
				t.Fatalf("warm bootstrap: %v %+v", err, res2)
			}
		})
	}
}
