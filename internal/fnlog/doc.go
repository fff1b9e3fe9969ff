// Package fnlog captures, stores and queries what functions write to
// stdout and stderr.
//
// A Router splits an instance's output into lines (cutting lines over 32
// KB with a marker), attributes each line to the request that wrote it
// (from the runtimes' "FC Invoke Start/End RequestId" markers and the
// built-in loggers' "<time> <requestId> [LEVEL]" prefix, which the
// built-in runtimes put on every line when instance concurrency > 1) and
// hands lines to per-request tails (FC's X-Fc-Log-Result) and to a sink.
//
// A Store is such a sink: Add queues a Record in a bounded buffer without
// ever blocking (a full buffer drops the line and counts it in
// openfc_function_log_lines_dropped_total), and one goroutine publishes
// the buffer to the JetStream stream OPENFC_LOGS, the stream's age and
// size limits set by the broker. Subjects are
// openfc.logs.<service>.<function>.<bucket>: the bucket is "00" to "1f", a
// hash of the request ID, or "~" for lines of no request. The publisher
// collects lines for 200 ms and stores the lines of one bucket as one
// message (JSON lines), so a busy function costs about 33 stored
// messages per 200 ms however many requests it serves, over a fixed set of
// subjects. Query finds lines by subject filter: one request's lines come
// from its bucket alone (through the stream's subject index, without a
// scan), other requests' lines in it skipped by a byte compare before
// any decoding; Follow tails new lines in stream order.
//
// Order: the lines of one request, and of one instance's stream outside
// requests, are stored and returned in the order written. Lines of
// different requests written within the same 200 ms may come grouped by
// request (or bucket); each line carries the time it was written.
//
// Routers and Stores are safe for concurrent use; each has one mutex and
// never holds it while calling the other. Function output is user data; it
// never goes to the platform's own logs. fnlog imports broker (stream
// names) and nothing above it.
package fnlog
