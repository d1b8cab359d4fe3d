// Package nova is the emulator's Compute service (Nova, API v2.1 with
// microversions 2.1-2.95): version discovery, flavors with extra specs
// and access lists, keypairs, servers and their actions, metadata, tags,
// volume attachments and interfaces, server groups, limits and quotas,
// availability zones, hypervisors and services. Servers get their ports
// from Neutron, their volumes from Cinder, their snapshots go to Glance,
// and a server of a flavor asking for a bare-metal resource class is
// placed on an Ironic node: always through env.Do, and only when those
// services exist in the emulator (without Neutron a server has no ports).
package nova
