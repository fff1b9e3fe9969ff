// Package sandbox defines the contract between openfc and the isolated
// processes that run function instances.
//
// A [Driver] starts an [Instance] from a [Spec]: a command, its environment,
// the function's code folder (read-only at /code), resource limits, the
// network mode and the per-instance socket folder through which the platform
// reaches the runtime inside (see [Instance.Addr] and [Instance.Dial]). The
// end of an instance is a result, an [Exit] returned by [Instance.Wait]
// (exit code, signal, OOM-killed, killed by Stop), never a Go error: errors
// are reserved for failures of the platform itself.
//
// Drivers:
//   - sandbox/linux: namespaces, cgroups, seccomp, a read-only root; the
//     default on Linux as root.
//   - sandbox/process: a plain child process without isolation, for
//     development.
//
// Every driver passes the conformance suite in sandbox/sandboxtest.
//
// Concurrency: drivers and instances are safe for concurrent use. Wait may be
// called any number of times from any goroutine; Stop is idempotent.
//
// This package imports nothing of openfc's.
package sandbox
