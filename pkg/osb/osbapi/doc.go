// Package osbapi holds the Open Service Broker API v2 wire types: the
// catalog, request and response bodies, the OSB error body with its
// constructors (one per status and error code the spec names), and the
// Broker interface, the contract between the HTTP layer (pkg/osb) and the
// decisions (pkg/broker). It has no HTTP code and imports nothing of the
// broker, so the server, the client and the catalog conversion share it.
package osbapi
