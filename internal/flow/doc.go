// Package flow is the invocation path's flow control: it admits or refuses
// each invocation against limits per account (invocations per second),
// per service and per function (concurrent requests and invocations per
// second), and shares the node between functions fairly.
//
// Key types: Controller (the limits in force and their counters, one per
// node) and Limits (one scope's limits). Admit takes an invocation in and
// returns a release function, or one of the sentinel errors (ErrRate,
// ErrConcurrency, ErrNodeBusy) that the caller turns into FC's 429 codes.
//
// Concurrency: a *Controller is safe for concurrent use. The warm path
// takes no lock when no node-wide limit is set: limits are read through
// atomic pointers, concurrent requests are counted with atomic counters,
// rates with golang.org/x/time/rate token buckets. A function over its
// concurrency limit waits in a bounded FIFO queue of its own (a full queue
// refuses at once), so a flood on one function cannot hold the waiting
// room of another. The node-wide limit (Options.NodeConcurrency) admits in
// round-robin order across functions and caps each busy function at its
// fair share of the node; its mutex (node.mu) is the package's only lock
// besides the token buckets' own and is never held while waiting.
//
// flow imports nothing of openfc's: it knows names, not services.
package flow
