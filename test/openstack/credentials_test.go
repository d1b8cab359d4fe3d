package openstack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// tenantSecret is the Secret name a namespace's own credentials live in.
const tenantSecret = "my-openstack"

// tenantCloudsYAML is a tenant's own credentials: an application
// credential of project alt (made with openstacksdk as a tenant would
// with `openstack application credential create`), as a clouds.yaml
// whose only cloud is named cloud. The credential is deleted when t ends.
func tenantCloudsYAML(t *testing.T, s *suite, cloud string, unrestricted bool) []byte {
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
	return []byte(fmt.Sprintf(`clouds:
  %s:
    auth_type: v3applicationcredential
    auth:
      auth_url: %q
      application_credential_id: %q
      application_credential_secret: %q
    region_name: RegionOne
    interface: public
    identity_api_version: 3
`, cloud, str(v["auth_url"]), str(v["id"]), str(v["secret"])))
}

// tenantCredentials is topology (b): the namespace ns brings its own
// credentials (tenantCloudsYAML) in the Secret tenantSecret.
func tenantCredentials(t *testing.T, s *suite, ns, cloud string, unrestricted bool) {
	t.Helper()
	s.p.PutSecret(t, ns, tenantSecret, map[string][]byte{"clouds.yaml": tenantCloudsYAML(t, s, cloud, unrestricted)})
}

// ownCredentials gives the namespace of f its own credentials of project
// alt (tenantCloudsYAML) the way its platform can, and returns the
// parameters an instance uses them by (Platform.TenantCredentials).
func ownCredentials(t *testing.T, s *suite, f *flow, unrestricted bool) map[string]any {
	t.Helper()
	return s.p.TenantCredentials(t, f.ns, "mine", tenantCloudsYAML(t, s, "mine", unrestricted))
}

// TestCredentials: a namespace names its own credentials by Secret name
// only; the broker reads that Secret from the instance's namespace and
// nowhere else, so naming another namespace's Secret fails cleanly,
// naming it as namespace/name is refused, and the instance is
// deprovisioned once its namespace has the Secret. On Docker, which has
// no namespaces to read a tenant's Secret from, credentials_secret is
// refused however the source is named.
func TestCredentials(t *testing.T) {
	c := cloud(t)
	for _, p := range platforms(t) {
		t.Run(p.Name(), func(t *testing.T) {
			t.Parallel() // the platforms at once, as in TestBundles
			timePlatform(t, p.Name())
			s := &suite{cloud: c, p: p, b: p.StartBroker(t, brokerSecret(c), "emulator")}
			if p.Name() == "docker" {
				dockerRefusesTenantSecret(t, s)
			} else {
				namespaceCredentials(t, s)
			}
			// namespace/name is not a Secret name: 400 naming the parameter,
			// before any runtime is asked.
			f := s.flow(t, "openstack-keypair-apb")
			for _, bad := range []string{f.ns + "/" + tenantSecret, "../" + tenantSecret} {
				_, err := f.tryProvision(newID(t), "default", map[string]any{"credentials_secret": bad})
				if e, ok := osbapi.AsError(err); !ok || e.Status != 400 || !strings.Contains(err.Error(), "credentials_secret") {
					t.Errorf("credentials_secret %q: %v, want 400 naming credentials_secret", bad, err)
				}
			}
		})
	}
}

// namespaceCredentials is topology (b) on Kubernetes: the owner's Secret
// works for the owner; another namespace naming it gets nothing. Only
// Kubernetes runs it: the other-namespace case needs namespaces that keep
// Secrets apart, which an engine does not have (the Docker runtime
// refuses every credentials_secret instead: dockerRefusesTenantSecret).
func namespaceCredentials(t *testing.T, s *suite) {
	c := s.cloud
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
}

// dockerRefusesTenantSecret: on Docker a provision naming
// credentials_secret fails saying the runtime has no namespaces, even
// when one of the broker's own sources has that name (a tenant must not
// reach the broker's sources by naming them), and nothing is made.
func dockerRefusesTenantSecret(t *testing.T, s *suite) {
	f := s.flow(t, "openstack-keypair-apb")
	s.p.PutSecret(t, f.ns, tenantSecret, map[string][]byte{"clouds.yaml": tenantCloudsYAML(t, s, "mine", false)})
	iid := newID(t)
	lo := f.provision(iid, "default", map[string]any{"credentials_secret": tenantSecret})
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "no namespaces") || !strings.Contains(lo.Description, fmt.Sprintf("%q", tenantSecret)) {
		t.Errorf("provision naming credentials_secret on Docker: %s %q, want failed saying the runtime has no namespaces", lo.State, lo.Description)
	}
	if n := len(asList(t, s.cloud.Python(t, fmt.Sprintf(`
emit([k.name for cl in ("emulator", "emulator-alt") for k in connect(cl).compute.keypairs() if k.name == "osb-%s"])`, iid)))); n != 0 {
		t.Errorf("a refused provision made %d keypairs", n)
	}
	// The instance keeps naming the Secret: its deprovision is refused the
	// same way, with nothing to delete.
	if lo := f.deprovision(iid); lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "no namespaces") {
		t.Errorf("deprovision naming credentials_secret on Docker: %s %q, want failed as the provision", lo.State, lo.Description)
	}
}
