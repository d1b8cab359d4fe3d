// Package glance is the emulator's Image service (Glance v2): version
// discovery, images (create, show, list with filters, sorting and
// pagination, JSON-patch update, delete), image data upload and download,
// tags, members of shared images, and a public cirros image at start.
//
// It is the worked example of a service: HOWTO.md in the parent directory
// walks through it.
package glance
