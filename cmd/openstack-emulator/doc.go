// Command openstack-emulator runs a local OpenStack cloud that the real
// clients (openstacksdk, the openstack CLI, the openstack.cloud Ansible
// modules) talk to: Keystone at the root, every other service under its
// own path, one port. It prints one line with the auth URL when ready;
// SIGTERM or SIGINT saves the state (-state) and exits 0.
package main
