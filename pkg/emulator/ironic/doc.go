// Package ironic is the emulator's Bare Metal service (Ironic, API v1 with
// microversions 1.1-1.82): version discovery, nodes (a few enrolled and
// available at start, whose properties match Nova's bare-metal flavor),
// provision state transitions through PUT .../states/provision (manage,
// provide, deploy, undeploy, rebuild, inspect, clean, abort, adopt), power
// states, maintenance, validation, ports, and drivers. Admin only (or a
// call from another service, as Nova's ironic driver makes with its
// service credentials), as Ironic's default policy.
package ironic
