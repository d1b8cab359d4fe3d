// Package zaqar is the emulator's Messaging service (Zaqar v2, as
// zaqar-server 15 with the MongoDB driver answers): version discovery,
// the v2 home document, queues (lazy creation, metadata, JSON-patch
// updates, stats, purge), messages (batch post, listing with echo and
// include_claimed, get and delete by ids, pop), claims (create, query,
// renew, release, claim counts and dead-letter queues), subscriptions
// (stored, not delivered), pre-signed URLs (share) and ping/health, with
// Falcon's {"title", "description"} errors and Zaqar's limits.
package zaqar
