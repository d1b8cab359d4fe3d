// Package manager owns a process's background work, in the style of
// controller-runtime's manager: each piece (the store, the operations, the
// janitor, the catalog refresh, the HTTP server) is a Runnable; the
// Manager starts them in the order they were added and, when its context
// ends or one of them fails, stops them in the reverse order, one after
// the other, within one shutdown timeout. Runnables that must run on one
// replica at a time say so (LeaderElectionRunnable) and are started only
// once an Elector grants leadership; without an Elector they start at once.
package manager
