// Package osb is the broker's HTTP layer: the OSB v2 routes under each of
// Prefixes, X-Broker-API-Version (412), authentication (401/403),
// request and originating identity, size-limited body decoding, OSB error
// bodies, request logs and metrics; and, through the same handling, the
// Automation Broker's other routes (POST /v2/bootstrap, the dev broker's
// /v2/apb). It knows nothing of APBs: an osbapi.Broker makes the decisions.
package osb
