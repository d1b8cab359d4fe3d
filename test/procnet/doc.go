// Package procnet lists the sockets a process listens on, from Linux's
// /proc: what another local user could try to connect to. Tests use it to
// show that a component opens no listener it should not.
package procnet
