// Package pool keeps the instances of one function version: each instance
// has instanceConcurrency slots; Acquire takes a slot on the most recently
// used instance that has one free (so the working set stays small and idle
// instances age out), starts a new instance inside the request when none is
// free and the pool is under its limit, or else waits briefly in a bounded
// queue. Idle instances are stopped after the keep-alive, every instance
// after its maximum lifetime, all of them on Drain.
//
// What an instance is (a sandbox and its runtime) is the caller's business:
// the pool sees the narrow Instance interface and starts instances through
// Options.Start. A *Pool is safe for concurrent use; its one mutex guards
// all its state and is never held while starting or stopping an instance.
// Timers (keep-alive) use the time package, so tests drive them with
// testing/synctest.
package pool
