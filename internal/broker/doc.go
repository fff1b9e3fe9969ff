// Package broker gives openfc its NATS JetStream: an embedded nats-server
// running in process (the single-binary default; no TCP client port unless
// asked for, data under <data-dir>/nats) or a connection to an external
// NATS cluster. Start creates every bucket and stream openfc uses
// (ARCHITECTURE.md §5) idempotently, so a restart on the same data finds
// them as they were.
//
// A *Broker is safe for concurrent use; Shutdown closes the connection and
// then stops the embedded server. It imports nothing of openfc's.
package broker
