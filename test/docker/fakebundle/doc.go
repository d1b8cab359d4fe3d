// Command fakebundle plays a bundle without Ansible, for tests whose
// engine holds no bundle image (a private dockerd): `fakebundle <action>
// --extra-vars '<json>'` writes "50%: working" to $APB_RESULTS_DIR/
// last_operation, sleeps sleep_seconds (an extra var), then writes
// credentials and "100%: done"; exit 8 for an action other than
// provision. Built static (CGO_ENABLED=0) and imported as the only file
// of an image.
package main
