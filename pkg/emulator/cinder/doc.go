// Package cinder is the emulator's Block Storage service (Cinder v3, API
// microversions 3.0-3.70 as Cinder 21 "Zed" serves them): version
// discovery, volumes (creating -> available after -delay, from a snapshot,
// a volume or a Glance image, metadata, actions: extend, retype, bootable,
// readonly, the attach/detach actions Nova uses, force-delete and
// reset-status for admins), snapshots, volume types with extra specs and
// access, the v3 attachments API (3.27+), backups, quotas (413 OverLimit),
// limits and availability zones.
//
// The catalog carries it twice, as block-storage and volumev3 (devstack's
// cinder and cinderv3), at /volume/v3/<project_id>.
package cinder
