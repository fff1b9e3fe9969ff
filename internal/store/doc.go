// Package store keeps openfc's metadata (services, functions, triggers,
// versions, aliases, custom domains, provision/on-demand/async configs,
// layers, tags, access keys) in the JetStream KV bucket openfc_meta, and
// serves every read from an in-memory index that a KV watch keeps current on
// each node. Writes are compare-and-swap on the KV revision, which is also
// where FC's ETag comes from; a write returns once the local index has seen
// it, so a client reads its own writes on the same node.
//
// The store applies FC's rules for its resources (defaults, partial-merge
// updates, ETag/If-Match, names, references between resources) and returns
// *fc.Error for outcomes a client must see (not found, already exists,
// precondition failed, invalid argument); other errors are platform
// failures. Secrets (environment variables, access-key secrets, certificate
// keys) are sealed before they reach NATS.
//
// A *Store is safe for concurrent use. Values it returns share memory with
// the index and must not be modified. Lock order: Store.mu (writers of
// counters) before index.mu. It imports fc, seal and blob.
package store
