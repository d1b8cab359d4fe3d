// Package magnum is the emulator's Container Infrastructure Management
// service (Magnum v1, as Magnum 15 answers): version discovery and
// microversions (1.1-1.10), cluster templates (checked against the
// emulator's Glance, Nova and Neutron; JSON-patch updates; a template in
// use cannot be deleted), clusters CREATE_IN_PROGRESS -> CREATE_COMPLETE
// and DELETE_IN_PROGRESS -> gone after -delay, node_count updates and the
// resize action, and cluster quotas. Errors have Magnum's
// {"errors": [{code, status, title, detail}]} shape.
//
// No Heat stack, server or Kubernetes stands behind a cluster: its
// addresses are made up and it never fails.
package magnum
