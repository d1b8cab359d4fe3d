// Package neutron is the emulator's Networking service (Neutron v2.0, as
// ML2 serves it): version discovery, extensions, networks (shared,
// external, provider attributes, MTU, port security), subnets (IPv4 and
// IPv6, allocation pools, gateway, DNS, host routes, subnet pools), ports
// (fixed IPs allocated from the subnets, device owner and id, security
// groups, allowed address pairs, bindings), routers (external gateway,
// interfaces by subnet or port, extra routes), floating IPs, security
// groups and rules (a project's `default` group made on first use),
// address scopes, RBAC policies (sharing with one project or all),
// quotas, standard-attribute tags, availability zones; filters, fields,
// sorting and pagination as the real API does them.
//
// At start it holds what devstack makes: an external network `public`
// (admin's, flat) with `public-subnet` 172.24.4.0/24, and in each of the
// demo and alt projects a `private` network with `private-subnet`
// 10.0.0.0/26 and `router1` routing it to `public`.
package neutron
