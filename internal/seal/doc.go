// Package seal encrypts secrets at rest (code packages, environment
// variables, access-key secrets) with AES-256-GCM under a fresh data key per
// value, the data key itself wrapped by the node's master key (envelope
// encryption): rotating the master key means rewrapping data keys only.
//
// A *Box is safe for concurrent use. The package imports nothing of
// openfc's; the master key is loaded or created by LoadOrCreateKey.
package seal
