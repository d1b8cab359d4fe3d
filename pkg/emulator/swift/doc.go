// Package swift is the emulator's Object Storage service (Swift v1 behind
// keystoneauth): /info discovery, accounts (AUTH_<project_id>),
// containers, objects, metadata, container ACLs (with `.r:*` public read
// that needs no token), temp URLs, COPY / X-Copy-From, Range and
// conditional requests, expiring objects, bulk delete, static and dynamic
// large objects, container quotas and object versioning. It answers
// Swift's status codes and its HTML and plain-text error bodies, and sets
// X-Trans-Id on every answer.
package swift
