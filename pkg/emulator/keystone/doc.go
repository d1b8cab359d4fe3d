// Package keystone is the emulator's Identity v3 service: version
// discovery, tokens (password, application_credential and token methods;
// validation, revocation, expiry), the catalog, projects, users, roles,
// role assignments, the Default domain, application credentials and
// access rules. It is also the emulator's core.TokenValidator.
package keystone
