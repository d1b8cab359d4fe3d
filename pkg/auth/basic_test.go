package auth

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
)

func TestBasic(t *testing.T) {
	a := NewBasic("admin", "s3cret")
	tests := []struct {
		name   string
		header string // Authorization; "" sends none
		set    func(r *http.Request)
		want   string
		err    error
	}{
		{name: "right", set: basicAuth("admin", "s3cret"), want: "admin"},
		{name: "wrong password", set: basicAuth("admin", "s3cre"), err: osb.ErrUnauthorized},
		{name: "password with newline", set: basicAuth("admin", "s3cret\n"), err: osb.ErrUnauthorized},
		{name: "wrong user", set: basicAuth("Admin", "s3cret"), err: osb.ErrUnauthorized},
		{name: "swapped", set: basicAuth("s3cret", "admin"), err: osb.ErrUnauthorized},
		{name: "empty", set: basicAuth("", ""), err: osb.ErrUnauthorized},
		{name: "no header", err: osb.ErrUnauthorized},
		{name: "bearer", header: "Bearer abc", err: osb.ErrUnauthorized},
		{name: "garbled", header: "Basic !!!notbase64", err: osb.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v2/catalog", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if tt.set != nil {
				tt.set(r)
			}
			got, err := a.Authenticate(r)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("principal %q, want %q", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func basicAuth(u, p string) func(r *http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(u, p) }
}

func TestBasicEmptyUserAcceptsNobody(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("", "")
	if _, err := NewBasic("", "").Authenticate(r); !errors.Is(err, osb.ErrUnauthorized) {
		t.Fatalf("err %v", err)
	}
}

func TestNewBasicFromFiles(t *testing.T) {
	tests := []struct {
		name, user, pass   string // file contents; "-" means no file
		wantUser, wantPass string
		wantErr            string
	}{
		{name: "printf", user: "admin", pass: "pw", wantUser: "admin", wantPass: "pw"},
		// asbd kept the newline `echo` writes, so no client could match it.
		{name: "echo", user: "admin\n", pass: "pw\n", wantUser: "admin", wantPass: "pw"},
		{name: "crlf", user: "admin\r\n", pass: "pw\r\n", wantUser: "admin", wantPass: "pw"},
		{name: "only one newline trimmed", user: "admin", pass: "pw\n\n", wantUser: "admin", wantPass: "pw\n"},
		{name: "spaces kept", user: "admin", pass: " pw ", wantUser: "admin", wantPass: " pw "},
		{name: "no password file", user: "admin", pass: "-", wantErr: "password"},
		{name: "empty user", user: "\n", pass: "pw", wantErr: "username is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, c := range map[string]string{"username": tt.user, "password": tt.pass} {
				if c == "-" {
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a, err := NewBasicFromFiles(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error shows the password: %v", err)
				}
				if tt.pass == "-" && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err %v does not wrap fs.ErrNotExist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.SetBasicAuth(tt.wantUser, tt.wantPass)
			if p, err := a.Authenticate(r); err != nil || p != tt.wantUser {
				t.Errorf("Authenticate = %q, %v", p, err)
			}
			r.SetBasicAuth(tt.user, tt.pass)
			if _, err := a.Authenticate(r); (tt.user != tt.wantUser || tt.pass != tt.wantPass) && err == nil {
				t.Error("the untrimmed file content was accepted too")
			}
		})
	}
}
