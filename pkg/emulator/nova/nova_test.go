package nova

import (
	"encoding/json"
	"net/http/httptest"
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

// TestSecurityGroupRuleFormat: Neutron's rules in the os-security-groups
// proxy's format (_convert_to_nova_security_group_rule_format).
func TestSecurityGroupRuleFormat(t *testing.T) {
	s := func(v string) *string { return &v }
	i := func(v int) *int { return &v }
	groups := map[string]map[string]any{"g1": {"name": "web", "tenant_id": "p"}}
	for _, tc := range []struct {
		rule neutronSGRule
		want string
	}{
		{neutronSGRule{ID: "r", SecurityGroupID: "sg", Protocol: s("tcp")},
			`{"from_port":1,"group":{},"id":"r","ip_protocol":"tcp","ip_range":{"cidr":"0.0.0.0/0"},"parent_group_id":"sg","to_port":65535}`},
		{neutronSGRule{ID: "r", SecurityGroupID: "sg", Protocol: s("icmp"), RemoteIPPrefix: s("10.0.0.0/8")},
			`{"from_port":-1,"group":{},"id":"r","ip_protocol":"icmp","ip_range":{"cidr":"10.0.0.0/8"},"parent_group_id":"sg","to_port":-1}`},
		{neutronSGRule{ID: "r", SecurityGroupID: "sg", Protocol: s("tcp"), PortRangeMin: i(22), PortRangeMax: i(22), RemoteGroupID: s("g1")},
			`{"from_port":22,"group":{"name":"web","tenant_id":"p"},"id":"r","ip_protocol":"tcp","ip_range":{},"parent_group_id":"sg","to_port":22}`},
		{neutronSGRule{ID: "r", SecurityGroupID: "sg", RemoteGroupID: s("gone")}, "skipped"},
	} {
		got, ok := sgRuleFormat(tc.rule, groups)
		b, _ := json.Marshal(got)
		s := string(b)
		if !ok {
			s = "skipped"
		}
		if s != tc.want {
			t.Errorf("%+v: %s, want %s", tc.rule, s, tc.want)
		}
	}
}

// TestLimited: nova.api.openstack.common.limited's offset and limit.
func TestLimited(t *testing.T) {
	for _, tc := range []struct {
		query      string
		start, end int
		err        bool
	}{
		{"", 0, 5, false}, {"limit=2", 0, 2, false}, {"offset=3&limit=1", 3, 4, false}, {"limit=0", 0, 5, false},
		{"offset=9", 5, 5, false}, {"limit=-1", 0, 0, true}, {"offset=x", 0, 0, true},
	} {
		start, end, err := limited(httptest.NewRequest("GET", "/x?"+tc.query, nil), 5)
		if (err != nil) != tc.err || !tc.err && (start != tc.start || end != tc.end) {
			t.Errorf("%q: %d %d %v", tc.query, start, end, err)
		}
	}
}
