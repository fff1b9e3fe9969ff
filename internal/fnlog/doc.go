// Package fnlog captures what functions write to stdout and stderr: a
// Router splits an instance's output into lines (cutting lines over 32 KB
// with a marker), attributes each line to the request that wrote it (from
// the runtimes' "FC Invoke Start/End RequestId" markers and the built-in
// loggers' request ID prefix) and hands lines to per-request tails (FC's
// X-Fc-Log-Result) and to a sink. Storing and querying logs in JetStream
// builds on the sink (issue #7).
//
// A Router is safe for concurrent use: the instance's output goroutines
// write, invocations subscribe. Function output is user data; it never
// goes to the platform's own logs.
package fnlog
