// Package blob stores function code packages and layers: each zip is
// checked (corrupt archives, paths escaping the root, symlinks pointing
// outside, zip bombs) before anything is stored, then kept
// content-addressed by its SHA-256 in the JetStream object store, encrypted
// with seal, and unpacked at most once per node into a local cache keyed by
// that checksum.
//
// A *Store is safe for concurrent use. It imports fc (errors, limits) and
// seal; nothing above it.
package blob
