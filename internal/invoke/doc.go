// Package invoke runs one invocation on the sync path: it resolves the
// qualifier (LATEST, a version, or an alias with its canary weights, picked
// per request) from the store's in-memory index, admits the call through
// flow control (the account's, service's and function's limits, set by
// ApplyLimits from the store; refusals are FC's 429 codes), takes a slot of
// an instance from the scheduler, runs the initializer on a new instance,
// sends the call in FC's runtime protocol and turns the answer into FC's
// result: the function's output, or its error type (handled, unhandled,
// timeout, out of memory, crash), with the log tail and cold-start facts.
// A function's failure is a Result, not an error; errors are *fc.Error for
// the client (not found, throttled) or platform failures.
//
// The Provisioner keeps provisioned instances at the target each provision
// config asks for now: its plain target, its scheduled actions (cron or at,
// in a time zone) and its target-tracking policies, applied again when the
// metadata changes and at the next time the answer can change by itself.
// As it follows alias changes, it also drains the instances of versions
// that an alias no longer routes (a rollback), and releases those an alias
// provisioned before it moved.
//
// An *Invoker is safe for concurrent use; limitsMu serialises ApplyLimits
// and is never held on the invocation path. It imports store, flow,
// scheduler and fnlog; api, queue and trigger call it.
package invoke
