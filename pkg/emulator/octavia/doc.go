// Package octavia is the emulator's load-balancer service (Octavia v2, as
// Octavia 11 "Antelope" with its amphora provider answers): version
// discovery; load balancers with a VIP port made in Neutron (by subnet,
// network or an existing port), PENDING_CREATE -> ACTIVE after -delay,
// PENDING_UPDATE / PENDING_DELETE on changes and the 409s of an immutable
// load balancer, cascade delete, status trees, statistics and failover;
// listeners, pools (session persistence), members (one by one and the
// batch update), health monitors, L7 policies and rules; quotas;
// providers, flavors and flavor profiles, availability zones, amphorae.
// Bodies are validated as WSME does; errors have Octavia's shape
// {"faultcode", "faultstring", "debuginfo"}.
//
// No traffic is balanced: nothing listens on a VIP.
package octavia
