package openstack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// tenantSecret is the Secret name a namespace's own credentials live in.
const tenantSecret = "my-openstack"

// tenantCredentials is topology (b): the namespace ns brings its own
// credentials, an application credential of project alt (made with
// openstacksdk as a tenant would with `openstack application credential
// create`), in the Secret tenantSecret holding a clouds.yaml whose only
// cloud is named cloud. The credential is deleted when t ends.
func tenantCredentials(t *testing.T, s *suite, ns, cloud string, unrestricted bool) {
	t.Helper()
	name := "osb-e2e-" + newID(t)
	v := asMap(t, s.cloud.Python(t, fmt.Sprintf(`
c = connect("emulator-alt")
r = c.identity.post("/users/%%s/application_credentials" %% c.current_user_id,
    json={"application_credential": {"name": %q, "unrestricted": %s}})
r.raise_for_status()
ac = r.json()["application_credential"]
emit({"id": ac["id"], "secret": ac["secret"], "auth_url": c.config.config["auth"]["auth_url"]})`,
		name, map[bool]string{true: "True", false: "False"}[unrestricted])))
	t.Cleanup(func() {
		s.cloud.Python(t, fmt.Sprintf(`
c = connect("emulator-alt")
for ac in c.identity.get("/users/%%s/application_credentials" %% c.current_user_id, params={"name": %q}).json()["application_credentials"]:
    c.identity.delete("/users/%%s/application_credentials/%%s" %% (c.current_user_id, ac["id"])).raise_for_status()
emit(True)`, name))
	})
	clouds := fmt.Sprintf(`clouds:
  %s:
    auth_type: v3applicationcredential
    auth:
      auth_url: %q
      application_credential_id: %q
      application_credential_secret: %q
    region_name: RegionOne
    interface: public
    identity_api_version: 3
`, cloud, str(v["auth_url"]), str(v["id"]), str(v["secret"]))
	s.p.PutSecret(t, ns, tenantSecret, map[string][]byte{"clouds.yaml": []byte(clouds)})
}

// TestCredentials: a namespace names its own credentials by Secret name
// only; the broker reads that Secret from the instance's namespace and
// nowhere else, so naming another namespace's Secret fails cleanly,
// naming it as namespace/name is refused, and the instance is
// deprovisioned once its namespace has the Secret.
func TestCredentials(t *testing.T) {
	c := cloud(t)
	for _, p := range platforms(t) {
		t.Run(p.Name(), func(t *testing.T) {
			s := &suite{cloud: c, p: p, b: p.StartBroker(t, brokerSecret(c), "emulator")}
			owner := s.flow(t, "openstack-keypair-apb")
			tenantCredentials(t, s, owner.ns, "mine", false)
			other := s.flow(t, "openstack-keypair-apb")

			// The owner's Secret works for the owner.
			iid := newID(t)
			owner.succeeded("provision with the namespace's own credentials", owner.provision(iid, "default", map[string]any{"credentials_secret": tenantSecret}))
			if n := len(c.Python(t, fmt.Sprintf(`
c = connect("emulator-alt")
emit([k.name for k in c.compute.keypairs() if k.name == "osb-%s"])`, iid)).([]any)); n != 1 {
				t.Errorf("the keypair is not in project alt's user's keypairs (%d)", n)
			}
			owner.succeeded("deprovision", owner.deprovision(iid))

			// Another namespace naming it: not found there, nothing runs.
			iid2 := newID(t)
			lo := other.provision(iid2, "default", map[string]any{"credentials_secret": tenantSecret})
			if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, fmt.Sprintf("%q", tenantSecret)) ||
				!strings.Contains(lo.Description, other.ns) {
				t.Errorf("provision naming another namespace's Secret: %s %q, want failed naming the Secret and the instance's namespace", lo.State, lo.Description)
			}
			// Its deprovision needs the credentials too; once the namespace
			// has its own Secret it succeeds.
			if lo := other.deprovision(iid2); lo.State != osbapi.StateFailed {
				t.Errorf("deprovision without the Secret: %s %q", lo.State, lo.Description)
			}
			tenantCredentials(t, s, other.ns, "mine", false)
			other.succeeded("deprovision once the namespace has the Secret", other.deprovision(iid2))

			// namespace/name is not a Secret name: 400 naming the parameter.
			for _, bad := range []string{owner.ns + "/" + tenantSecret, "../" + tenantSecret} {
				_, err := other.tryProvision(newID(t), "default", map[string]any{"credentials_secret": bad})
				if e, ok := osbapi.AsError(err); !ok || e.Status != 400 || !strings.Contains(err.Error(), "credentials_secret") {
					t.Errorf("credentials_secret %q: %v, want 400 naming credentials_secret", bad, err)
				}
			}
		})
	}
}
