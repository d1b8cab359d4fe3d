package redact

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	var r Redactor
	r.Add(map[string]any{
		"db_password": "hunter22",
		"greeting":    "hello world",
		"nested":      map[string]any{"api_token": "tok-123456"},
		"_apb_bind_creds": map[string]any{
			"user": "plainuser",
		},
	}, false)
	r.Add(map[string]any{"user": "plainuser"}, true)
	r.Add(map[string][]byte{"clouds.yaml": []byte("clouds:\n  c:\n    auth:\n      password: \"cloudpw99\"\n")}, true)
	r.Add("abc", true) // too short to redact
	r.Finish()
	cases := []struct{ in, want string }{
		{"connecting with hunter22", "connecting with ****"},
		{"token tok-123456 used", "token **** used"},
		{"say hello world", "say hello world"},
		{"user plainuser", "user ****"},
		{"cloud cloudpw99!", "cloud ****!"},
		{`{"password": "unknown-value"}`, `{"password": ****}`},
		{"admin_password=s3cr3t next", "admin_password=**** next"},
		{"abc stays", "abc stays"},
	}
	for _, c := range cases {
		if got := r.Redact(c.in); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := r.Redact("x"); strings.Contains(got, Mask) {
		t.Errorf("redact(x) = %q", got)
	}
}
