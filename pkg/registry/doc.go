// Package registry discovers bundles: one adapter per configured registry
// (the Automation Broker's types, in one table with what each needs, and
// the ones it refuses with the way out), white/black list filtering, and a
// parallel bootstrap that reads each image's spec label once per manifest
// digest. It takes its own Config; pkg/daemon maps the file's registry:
// list onto it.
package registry
