// Package meter records what invocations and provisioned instances use, in
// billing units, and aggregates it for the usage API.
//
// Key types: Meter takes one Invocation per finished call (Record, never
// blocking: a full buffer drops the record and counts it) and samples
// provisioned instances on a ticker; a background writer publishes the
// buffered records every FlushInterval, batched into few messages, to the
// usage stream (OPENFC_USAGE, ARCHITECTURE.md §5). An
// aggregator reads the stream in order and folds each record into
// per-hour and per-day aggregates in the usage KV bucket, which Query
// reads, so the usage API never scans records.
//
// Guarantee: a record that JetStream acknowledged is counted exactly once
// in the aggregates, whatever crash or restart happens. The aggregates
// store the stream position they include (a cursor key, plus the last
// sequence folded into each aggregate key); after a restart the
// aggregator reads again from the cursor and skips, key by key, the
// records already folded in, so nothing is counted twice and nothing
// acknowledged is lost. Records still in the node's buffer when the
// process is killed (those of the last FlushInterval, 200 ms by default)
// are lost; Shutdown publishes them first.
//
// Lifecycle: New, Start, Shutdown. Record and Query are safe for
// concurrent use. Meter must not import the invocation path (invoke,
// scheduler): they hand it plain values.
package meter
