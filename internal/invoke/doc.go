// Package invoke runs one invocation on the sync path: it resolves the
// qualifier (LATEST, a version, or an alias with its canary weights, picked
// per request) from the store's in-memory index, takes a slot of an
// instance from the scheduler, runs the initializer on a new instance, sends
// the call in FC's runtime protocol and turns the answer into FC's result:
// the function's output, or its error type (handled, unhandled, timeout,
// out of memory, crash), with the log tail and cold-start facts. A
// function's failure is a Result, not an error; errors are *fc.Error for
// the client (not found, throttled) or platform failures.
//
// An *Invoker is safe for concurrent use. It imports store, scheduler and
// fnlog; api and trigger call it.
package invoke
