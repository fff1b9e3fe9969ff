// Package process is a sandbox.Driver that runs an instance as a plain child
// process, with no isolation, for development where namespaces are not
// available.
//
// Nothing is enforced: limits, network and the read-only code folder are not
// applied, and the runtime sees the host. Paths inside the sandbox that start
// with sandbox.CodeMount or sandbox.SocketMount (Spec.Path, Spec.Dir and each
// of Spec.Args) are rewritten to Spec.CodeDir and Spec.SocketDir, so the same
// Spec works with both drivers. The instance runs in its own process group,
// which is killed when the runtime ends or is stopped, so that an ordinary
// child does not outlive it (a child that leaves the group with setsid does).
//
// The driver is safe for concurrent use. It imports only sandbox of openfc's.
package process
