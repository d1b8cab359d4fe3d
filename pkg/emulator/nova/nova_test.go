package nova

import (
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func TestValidateMessages(t *testing.T) {
	sc := keypairSchema(core.MustVersion("2.92"))
	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{}, "'keypair' is a required property"},
		{map[string]any{"keypair": map[string]any{"name": "k"}}, "Invalid input for field/attribute keypair. Value: {'name': 'k'}. 'public_key' is a required property"},
		{map[string]any{"keypair": map[string]any{"name": "k", "public_key": "x", "x": 1.0}}, "Additional properties are not allowed ('x' was unexpected)"},
		{map[string]any{"keypair": map[string]any{"name": "k", "public_key": "x", "type": "rsa"}}, "Invalid input for field/attribute type. Value: 'rsa'. 'rsa' is not one of ['ssh', 'x509']"},
		{map[string]any{"keypair": map[string]any{"name": "", "public_key": "x"}}, "Invalid input for field/attribute name. Value: ''. '' is too short"},
	} {
		err := validate(sc, tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate(%v) = %v, want %q", tc.body, err, tc.want)
		}
	}
	if err := validate(sc, map[string]any{"keypair": map[string]any{"name": "k", "public_key": "x"}}); err != nil {
		t.Errorf("valid body: %v", err)
	}
}

func TestKeys(t *testing.T) {
	pub, priv, err := generateKey()
	if err != nil || !strings.HasPrefix(priv, "-----BEGIN RSA PRIVATE KEY-----") {
		t.Fatalf("generateKey: %v %q", err, priv[:20])
	}
	fp, err := fingerprint(pub, "ssh")
	if err != nil || len(fp) != 47 {
		t.Errorf("fingerprint: %q %v", fp, err)
	}
	// A well-formed ed25519 line (32 key bytes after the type string).
	ed := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGpkX2J0b3N0cmFwX2tleV9mb3JfdGVzdHNfMDEyMzQ1 me@host"
	if _, err := fingerprint(ed, "ssh"); err != nil {
		t.Errorf("ed25519 key refused: %v", err)
	}
	for _, bad := range []string{"", "ssh-rsa", "ssh-rsa !!!", "ssh-ed25519 AAAAC3NzaC1yc2EAAAADAQABAAABAQ==", "ssh-foo AAAA"} {
		if _, err := fingerprint(bad, "ssh"); err == nil {
			t.Errorf("fingerprint(%q) accepted", bad)
		}
	}
}

func TestResourceClass(t *testing.T) {
	if rc := resourceClass(map[string]string{"resources:CUSTOM_BAREMETAL": "1", "resources:VCPU": "0"}); rc != "baremetal" {
		t.Errorf("resource class %q", rc)
	}
	if rc := resourceClass(map[string]string{"hw:cpu_policy": "dedicated"}); rc != "" {
		t.Errorf("virtual flavor has resource class %q", rc)
	}
}
