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
// the buffer to the JetStream stream OPENFC_LOGS under
// openfc.logs.<service>.<function>.<requestId>, the stream's age and size
// limits set by the broker. It collects lines for up to 2 ms and stores
// the lines of one request as one message (JSON lines), so a warm
// invocation costs one stored message. Query finds lines by subject
// filter, so one request's lines come from the stream's subject index
// without a scan; Follow tails new lines in stream order.
//
// Order: the lines of one request, and of one instance's stream outside
// requests, are stored and returned in the order written. Lines of
// different requests written within the same 2 ms may come grouped by
// request; each line carries the time it was written.
//
// Routers and Stores are safe for concurrent use; each has one mutex and
// never holds it while calling the other. Function output is user data; it
// never goes to the platform's own logs. fnlog imports broker (stream
// names) and nothing above it.
package fnlog
