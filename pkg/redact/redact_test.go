package redact

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestKey(t *testing.T) {
	secret := []string{"password", "db_password", "DB_PASSWD", "pwd", "adminPwd", "admin_pw", "db_pass", "passphrase",
		"client_secret", "secretKey", "api_token", "apiToken", "X-Auth-Token", "credentials", "_apb_provision_creds",
		"_apb_bind_creds", "pin", "db_pin", "ssh_key", "key", "private_key", "privateKey", "aws_access_key_id",
		"Authorization", "session_cookie", "APIKEY"}
	plain := []string{"db_name", "size", "spinner", "keystone_url", "auth_url", "region", "username", "passenger",
		"bypass_cache", "compass", "note", "magic_word", "monkey", "pinned", "display_type", "namespace",
		// Names of Kubernetes Secrets, not their contents: an error saying
		// which Secret is missing must name it.
		"credentials_secret", "db_secret_name", "tlsSecretName", "credentials_secret_ref"}
	for _, k := range secret {
		if !Key(k) {
			t.Errorf("Key(%q) = false, want true", k)
		}
	}
	for _, k := range plain {
		if Key(k) {
			t.Errorf("Key(%q) = true, want false", k)
		}
	}
}

func TestValue(t *testing.T) {
	var in any
	json.Unmarshal([]byte(`{"service_id":"s","parameters":{"db_name":"x","magic_word":"abracadabra","pin":"1",
		"nested":[{"api_token":"tok"},{"size":2}],"credentials":{"user":"u"}}}`), &in)
	got := Value(in, Names("magic_word"))
	want := map[string]any{"service_id": "s", "parameters": map[string]any{"db_name": "x", "magic_word": Mask, "pin": Mask,
		"nested": []any{map[string]any{"api_token": Mask}, map[string]any{"size": 2.0}}, "credentials": Mask}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Value = %v\nwant %v", got, want)
	}
	// The input is left as it was.
	if p := in.(map[string]any)["parameters"].(map[string]any); p["magic_word"] != "abracadabra" {
		t.Errorf("Value changed its input: %v", p)
	}
}

func TestText(t *testing.T) {
	var r Text
	r.AddUnder(map[string]any{
		"db_password": "hunter22",
		"greeting":    "hello world",
		"magic_word":  "abracadabra",
		"nested":      map[string]any{"api_token": "tok-123456"},
		"_apb_bind_creds": map[string]any{
			"user": "plainuser",
		},
		// What a bundle's provision stored as credentials: the keypair's
		// name, id and fingerprint identify it, its private key is secret.
		"_apb_provision_creds": map[string]any{
			"name":         "osb-0a1b2c3d",
			"id":           "5f2e9a7c-keypair-id",
			"fingerprint":  "aa:bb:cc:dd",
			"project_name": "demo",
			"private_key":  "-----BEGIN KEY-----xyz",
			"key_name":     map[string]any{"secret": "nested-secret-1"},
		},
		"quoted_pwd": `say "cheese"`,
	}, Names("magic_word"))
	r.Add(map[string][]byte{"clouds.yaml": []byte("clouds:\n  c:\n    auth:\n      password: \"cloudpw99\"\n")})
	r.Add("abc") // too short to mask in text
	cases := []struct{ in, want string }{
		{"connecting with hunter22", "connecting with ****"},
		{"token tok-123456 used", "token **** used"},
		{"say hello world", "say hello world"},
		{"the word is abracadabra", "the word is ****"},
		{"user plainuser", "user ****"},
		{"cloud cloudpw99!", "cloud ****!"},
		{`{"password": "unknown-value"}`, `{"password": ****}`},
		{"admin_password=s3cr3t next", "admin_password=**** next"},
		{`vars {"quoted_pwd":"say \"cheese\""}`, `vars {"quoted_pwd":"****"}`},
		{"abc stays", "abc stays"},
		{"checking keypair osb-0a1b2c3d", "checking keypair osb-0a1b2c3d"},
		{"id 5f2e9a7c-keypair-id, fp aa:bb:cc:dd", "id 5f2e9a7c-keypair-id, fp aa:bb:cc:dd"},
		{"a demonstration", "a demonstration"},
		{"key -----BEGIN KEY-----xyz", "key ****"},
		{"under a public name nested-secret-1", "under a public name ****"},
	}
	for _, c := range cases {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var none *Text
	if got := none.String("password=x1 and y"); got != "password=**** and y" {
		t.Errorf("nil Text: %q", got)
	}
	// Safe for use by several goroutines at once (go test -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Add("another-secret")
			if strings.Contains(r.String("hunter22"), "hunter22") {
				t.Error("not masked")
			}
		}()
	}
	wg.Wait()
}
