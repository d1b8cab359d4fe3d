// Package jobs runs the broker's asynchronous operations: it stores a new
// job with the instance or binding changes that start it, runs it through
// the runtime in a bounded pool of workers (one mutation per job token at
// a time), records progress and the outcome, and recovers jobs left in
// flight by a broker that stopped. It is the one writer of job records
// after their creation; the broker (a Handler) says what to run and what
// an outcome means. It needs only a few methods of the state store (Store).
package jobs
