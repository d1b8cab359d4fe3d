package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"rhcc", Config{Type: "rhcc", Name: "rh", URL: "x"}, `registry "rh": type "rhcc" is not supported`},
		{"helm", Config{Type: "helm", Name: "h"}, `registry "h": type "helm" is not supported`},
		{"galaxy", Config{Type: "galaxy", Name: "g"}, `registry "g": type "galaxy" is not supported`},
		{"partner_rhcc", Config{Type: "partner_rhcc", Name: "p"}, `registry "p": type "partner_rhcc"`},
		{"registry_proxy", Config{Type: "registry_proxy", Name: "rp"}, `registry "rp": type "registry_proxy"`},
		{"mock", Config{Type: "mock", Name: "m"}, `registry "m": type "mock"`},
		{"unknown", Config{Type: "nexus", Name: "n"}, `registry "n": unknown type "nexus"`},
		{"apiv2 without url", Config{Type: "apiv2", Name: "a"}, `registry "a": type apiv2 needs url`},
		{"openshift without images", Config{Type: "openshift", Name: "o", URL: "reg:5000"}, `registry "o": type openshift needs images`},
		{"dockerhub without org", Config{Type: "dockerhub", Name: "d"}, `registry "d": type dockerhub needs org`},
		{"local without path", Config{Type: "local", Name: "l"}, `registry "l": type local needs path`},
		{"secret without kube", Config{Type: "apiv2", Name: "s", URL: "r:1", AuthType: "secret", AuthName: "creds"}, `registry "s": auth_type secret needs a Kubernetes client`},
		{"bad auth_type", Config{Type: "apiv2", Name: "b", URL: "r:1", AuthType: "vault"}, `registry "b": unknown auth_type "vault"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]Config{tt.cfg}, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New([]Config{{Type: "local", Name: "x", Path: "."}, {Type: "local", Name: "x", Path: "."}}, Options{}); err == nil || !strings.Contains(err.Error(), "unique") {
		t.Errorf("duplicate names: err = %v", err)
	}
}

func TestCredSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "creds.yaml")
	if err := os.WriteFile(file, []byte("username: fu\npassword: fp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badFile, []byte("username: only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "reg", Namespace: "asb"}, Data: map[string][]byte{"username": []byte(" su\n"), "password": []byte("sp\n")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "quay", Namespace: "asb"}, Data: map[string][]byte{"token": []byte("qt")}},
	)
	tests := []struct {
		name    string
		cfg     Config
		want    creds
		wantErr string
	}{
		{name: "config", cfg: Config{Type: "apiv2", User: "u", Pass: "p"}, want: creds{User: "u", Pass: "p"}},
		{name: "none", cfg: Config{Type: "apiv2"}},
		{name: "file", cfg: Config{Type: "apiv2", AuthType: "file", AuthName: file}, want: creds{User: "fu", Pass: "fp"}},
		{name: "file without password", cfg: Config{Type: "apiv2", AuthType: "file", AuthName: badFile}, wantErr: "needs username and password"},
		{name: "secret, trimmed", cfg: Config{Type: "apiv2", AuthType: "secret", AuthName: "reg"}, want: creds{User: "su", Pass: "sp"}},
		{name: "secret, quay token", cfg: Config{Type: "quay", AuthType: "secret", AuthName: "quay"}, want: creds{Token: "qt"}},
		{name: "secret missing", cfg: Config{Type: "apiv2", AuthType: "secret", AuthName: "gone"}, wantErr: "asb/gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := newCredSource(tt.cfg, Options{Kube: kube, Namespace: "asb"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := src(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
