// Package trove is the emulator's Database service (Trove v1.0, as Trove
// 18 "Antelope" answers): version discovery; datastores and their
// versions (mysql, mariadb, postgresql); flavors (Nova's, through the
// compute service when the emulator has one, else a small list of its
// own); instances (BUILD -> ACTIVE after -delay, volume, datastore, one
// nic, users and databases at create, resize of the volume and the
// flavor, restart, rename, access, delete); databases, users, user
// access and root of an instance; limits; quotas (413 as Trove answers).
//
// No database server runs behind an instance: its address is a Neutron
// port's when the instance was created on a network and the emulator has
// Neutron (a made-up private address without Neutron), and nothing
// listens there. README.md says what this means for bundles.
package trove
