package openstack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// keypairs are demo's keypairs named name, as openstacksdk lists them.
func keypairs(t *testing.T, c *Cloud, name string) []map[string]any {
	t.Helper()
	v := c.Python(t, fmt.Sprintf(`
c = connect("emulator")
emit([{"name": k.name, "fingerprint": k.fingerprint, "public_key": k.public_key}
      for k in c.compute.keypairs() if k.name == %q])`, name))
	var out []map[string]any
	for _, e := range asList(t, v) {
		out = append(out, asMap(t, e))
	}
	return out
}

// publicKeyOf derives the OpenSSH public key from a PEM private key.
func publicKeyOf(t *testing.T, c *Cloud, pem string) string {
	t.Helper()
	b, _ := json.Marshal(pem)
	return str(c.Python(t, fmt.Sprintf(`
from cryptography.hazmat.primitives import serialization
k = serialization.load_pem_private_key(%s.encode(), password=None)
emit(k.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode())`, b)))
}

func keypairLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	name := "osb-" + iid

	// A provision the broker never recorded, then the one it does: one
	// keypair, regenerated (Nova showed the first private key once).
	if _, err := f.runDirect("provision", iid, "default", nil); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	first := keypairs(t, c, name)
	if len(first) != 1 {
		t.Fatalf("after the first provision: %d keypairs named %s, want 1", len(first), name)
	}
	f.succeeded("provision", f.provision(iid, "default", nil))
	kps := keypairs(t, c, name)
	if len(kps) != 1 {
		t.Fatalf("after a repeated provision: %d keypairs named %s, want 1", len(kps), name)
	}
	shown := asMap(t, c.CLI(t, "emulator", "keypair", "show", name))
	if str(shown["fingerprint"]) != str(kps[0]["fingerprint"]) {
		t.Errorf("openstack keypair show: fingerprint %v, SDK %v", shown["fingerprint"], kps[0]["fingerprint"])
	}

	// Bind hands out keys that match the keypair Nova has.
	bid := newID(t)
	lo, creds := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if creds["name"] != name || creds["fingerprint"] != kps[0]["fingerprint"] || creds["public_key"] != kps[0]["public_key"] {
		t.Errorf("binding = name %v fingerprint %v, want %s %v", creds["name"], creds["fingerprint"], name, kps[0]["fingerprint"])
	}
	priv := str(creds["private_key"])
	if !strings.Contains(priv, "PRIVATE KEY") {
		t.Fatalf("the binding has no private key for a generated keypair")
	}
	if got, want := strings.Fields(publicKeyOf(t, c, priv)), strings.Fields(str(kps[0]["public_key"])); len(want) < 2 || len(got) < 2 || got[1] != want[1] {
		t.Errorf("the bound private key does not belong to the keypair's public key")
	}
	f.succeeded("unbind", f.unbind(iid, bid))
	if len(keypairs(t, c, name)) != 1 {
		t.Errorf("unbind removed the keypair")
	}
	f.succeeded("deprovision", f.deprovision(iid))
	if n := len(keypairs(t, c, name)); n != 0 {
		t.Errorf("after deprovision: %d keypairs named %s", n, name)
	}

	// An imported public key: no private key on bind.
	pub := str(c.Python(t, `
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
k = ed25519.Ed25519PrivateKey.generate()
emit(k.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " app@example")`))
	iid2 := newID(t)
	f.succeeded("provision (import)", f.provision(iid2, "default", map[string]any{"public_key": pub}))
	kps = keypairs(t, c, "osb-"+iid2)
	if len(kps) != 1 || strings.Fields(str(kps[0]["public_key"]))[1] != strings.Fields(pub)[1] {
		t.Fatalf("imported keypair = %v, want the public key given", kps)
	}
	bid2 := newID(t)
	lo, creds = f.bind(iid2, bid2, nil)
	f.succeeded("bind (import)", lo)
	if creds["private_key"] != "" || creds["public_key"] != kps[0]["public_key"] {
		t.Errorf("imported keypair's binding: private_key %q, public_key %v", creds["private_key"], creds["public_key"])
	}
	f.succeeded("unbind (import)", f.unbind(iid2, bid2))
	f.succeeded("deprovision (import)", f.deprovision(iid2))
	if n := len(keypairs(t, c, "osb-"+iid2)); n != 0 {
		t.Errorf("after deprovision: %d imported keypairs left", n)
	}
}

// keypairFailure: Nova refuses the keypair; the provision fails naming
// Nova's error, and a deprovision then succeeds with nothing to delete.
func keypairFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	nova := c.Fault(t, fault{Method: "POST", Path: "/compute/v2.1/os-keypairs", BodyContains: "osb-" + iid,
		Status: 503, Body: map[string]any{"computeFault": map[string]any{"code": 503, "message": "injected: nova-api is unavailable"}}})
	lo := f.provision(iid, "default", nil)
	nova.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "nova-api is unavailable") {
		t.Errorf("provision with Nova failing: %s %q, want failed naming Nova's error", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if n := len(keypairs(t, c, "osb-"+iid)); n != 0 {
		t.Errorf("%d keypairs left", n)
	}
}
