// Command apb is the bundle developer's and operator's tool: it scaffolds,
// lints, labels, builds and pushes Ansible Playbook Bundles, runs one
// bundle action on the local Docker engine against the OpenStack emulator
// (or a clouds.yaml) without any cluster, and drives a broker over the OSB
// API (catalog, bootstrap, provision, update, deprovision, bind, unbind)
// with a progress display while operations run. The original tools'
// command names are kept where they fit. Exit codes are documented in
// exit.go and README.rst.
package main
