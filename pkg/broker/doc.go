// Package broker makes the OSB decisions for a catalog of APBs: catalog
// lookups, parameter validation against the plans' schemas, idempotency and
// conflicts (200/201/202/409/410/422), the instance and binding records,
// what each operation runs (the runtime Action: extra vars, mounted files)
// and what its outcome means. pkg/jobs runs the operations; the broker
// implements osbapi.Broker for the HTTP layer and osb.DevBroker for the
// dev routes.
package broker
