// Package osbclient is a Go client of the Open Service Broker API v2:
// every route, the API version and identity headers, basic or bearer
// authentication, OSB error bodies decoded into *osbapi.Error, and polling
// of last_operation with Retry-After. Tests, benchmarks and the apb CLI use
// it; it does not import the server.
package osbclient
