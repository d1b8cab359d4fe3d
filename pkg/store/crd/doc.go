// Package crd keeps the broker's state in the Automation Broker's custom
// resources (dao.type: crd): automationbroker.io/v1alpha1 bundles (specs),
// bundleinstances (instances and their jobs) and bundlebindings (bindings
// and their jobs), in the broker's namespace, with extracted credentials in
// Secrets named after the instance or binding, as the original kept them.
//
// Every object is written in the original's field layout (spec.fq_name,
// spec.bundle.name, spec.parameters as a JSON string, status.jobs keyed by
// token with its state spellings "not-started", "in-progress", ...), so an
// Automation Broker's objects are read as they are. What this broker keeps
// beyond the original's fields goes into one extra field per record: the
// JSON string spec.osb (the whole record, lossless) and status.jobs.<token>.osb
// (the whole job record); see record.go.
//
// Kubernetes has no transaction across objects, and the broker's Commit
// spans several records. Each object is a container of records (an instance
// and its jobs, a binding and its jobs) and each record has its own
// revision stamp, so a compare concerns that record only, whatever else
// changed in its object. A Commit checks every compare before it writes
// anything, writes each object conditionally on its resourceVersion
// (re-reading and re-applying when only other records of it changed), and
// undoes the objects already written when a later one's compare fails: see
// commit.go.
package crd
