// Package emulator assembles the OpenStack emulator: one HTTP listener
// with Keystone at the root and every other service under its own path
// (as devstack lays them out), the admin API under /_emulator/, fault
// injection, persistence of every service's state, and clouds.yaml.
// Tests start it in-process with Start(ctx, Options{Listen: "127.0.0.1:0"}).
// HOWTO.md beside this file says how to add a service.
package emulator
