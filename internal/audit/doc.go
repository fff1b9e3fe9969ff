// Package audit keeps the audit trail: one entry per mutating API call
// and per rejected authentication, appended to the OPENFC_AUDIT stream
// (ARCHITECTURE.md §5), which denies deletes and purges.
//
// Key type: Trail. Record publishes an entry and returns once JetStream
// acknowledged it; the API calls it before it answers a mutating call, so
// a change a client saw answered is in the trail even if the node is
// killed right after (a mutating call already waits for a KV write, and
// one more acknowledged publish costs about as much). An entry holds who
// (account, access key ID), what (FC's operation name and the resource
// path), when, from where, the request ID and the result: never a secret,
// a signature, a request body or an environment value.
//
// List reads entries back in order with filters and pagination.
// Trail is safe for concurrent use; it must not import the API.
package audit
