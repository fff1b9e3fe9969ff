// Package scheduler runs function instances on a node: it keeps one pool
// (package pool) per function version and revision, starts instances
// inside the requests that need them (code unpacked from blob, the
// runtime's bootstrap and command from runtimes, the sandbox from the
// sandbox driver, output routed through fnlog), and enforces the node's
// limits: a memory budget (the sum of the memory sizes of live instances,
// evicting the least recently used idle instance of another function when
// full) and an instance quota. A new revision of a function (its code or
// configuration changed) gets a new pool, and the old one drains; so do
// the pools of versions that the alias they were started for no longer
// routes (DrainUnrouted).
//
// A *Scheduler is safe for concurrent use. Lock order: Scheduler.mu before
// any pool's lock (Scheduler.mu is never held while a pool starts or stops
// an instance).
package scheduler
