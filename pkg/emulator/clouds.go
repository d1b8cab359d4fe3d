package emulator

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/keystone"
)

// CloudsYAML returns a clouds.yaml with four clouds: emulator (demo,
// password), emulator-appcred (demo's application credential),
// emulator-alt (alt, a member of the second project) and emulator-admin
// (admin, with the admin role).
func (c *Cloud) CloudsYAML() []byte {
	k := c.ks.Clouds()
	q := strconv.Quote
	var b strings.Builder
	b.WriteString("# Written by openstack-emulator; the credentials are valid for this emulator only.\nclouds:\n")
	password := func(name, user, pass, project string) {
		fmt.Fprintf(&b, "  %s:\n    auth:\n      auth_url: %s\n      username: %s\n      password: %s\n      project_name: %s\n"+
			"      user_domain_name: Default\n      project_domain_name: Default\n", name, q(c.AuthURL()), q(user), q(pass), q(project))
		common(&b)
	}
	password("emulator", "demo", k.DemoPassword, "demo")
	fmt.Fprintf(&b, "  emulator-appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: %s\n"+
		"      application_credential_id: %s\n      application_credential_secret: %s\n", q(c.AuthURL()), q(k.AppCredID), q(k.AppCredSecret))
	common(&b)
	password("emulator-alt", "alt", k.AltPassword, "alt")
	password("emulator-admin", "admin", k.AdminPassword, "admin")
	return []byte(b.String())
}

func common(b *strings.Builder) {
	fmt.Fprintf(b, "    region_name: %s\n    interface: public\n    identity_api_version: 3\n", keystone.Region)
}

// WriteCloudsYAML writes CloudsYAML to path (mode 0600, atomically).
func (c *Cloud) WriteCloudsYAML(path string) error {
	if err := writeFileAtomic(path, c.CloudsYAML(), 0o600); err != nil {
		return fmt.Errorf("writing clouds.yaml: %w", err)
	}
	return nil
}

// Credentials returns the built-in users' passwords and the start
// application credential (what clouds.yaml carries).
func (c *Cloud) Credentials() keystone.Clouds { return c.ks.Clouds() }
