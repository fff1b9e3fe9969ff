// Package runtimes is openfc's catalogue of function runtimes and the
// in-instance bootstrap programs of the built-in ones.
//
// # Catalogue
//
// A runtime is data, not behaviour: [Runtime] names the FC runtime
// identifier (python3, python3.9, python3.10, nodejs12 … nodejs20, custom,
// custom.debian10, go1), its [Kind], the [Protocol] the platform speaks to
// it, where it listens ([Listen]) and its handler convention.
// [Lookup] finds one by name and [All] lists them; [Runtime.Check] reports
// why a runtime cannot run on this node (its interpreter is missing), so
// that a function with an unknown or unavailable runtime can be refused
// when it is created; [Runtime.Command] gives the program, arguments and
// environment that start an instance's runtime process. The three
// python3* runtimes share the node's one Python 3 interpreter
// (/usr/bin/python3 by default, see [Interpreters]; never the first python3
// on PATH, which is a slow pyenv shim on some machines) and the five
// nodejs* runtimes the node's Node.js (/usr/bin/node).
//
// # Bootstraps
//
// The Python and Node.js runtimes are small programs embedded in the binary
// (bootstrap/python/openfc_bootstrap.py, bootstrap/nodejs/bootstrap.js,
// standard library only) that load the user's handler from the code folder
// and serve FC's custom-runtime protocol, so that the platform speaks one
// protocol to every instance. [WriteBootstrap] writes a runtime's files
// into a folder once per node; the sandbox mounts that folder read-only
// into every instance (at [DefaultBootstrapDir], /var/runtime, unless
// [CommandOptions].BootstrapDir says otherwise; outside /opt and /code,
// which layers and code own). Files rather than `python3 -c <source>`:
// Python then loads the bootstrap from a .pyc that [WriteBootstrap]
// compiles once (saving 3-6 ms of compilation on every start), tracebacks
// and process listings name a real file, and the command line stays short.
//
// # Wire contract (platform → bootstrap)
//
// Environment read by the bootstraps (all set by [Runtime.Command]):
//   - FC_SERVER_SOCKET: path of the Unix socket to listen on (at most 103
//     bytes, so that PATH.tmp fits a sockaddr_un). The bootstrap binds
//     PATH.tmp, listens, then renames it to PATH: the socket path exists
//     only once connections are accepted, so readiness is "the path exists"
//     (or a successful connect).
//   - FC_SERVER_PORT: TCP port on 0.0.0.0 when FC_SERVER_SOCKET is empty
//     (default 9000).
//   - FC_FUNC_CODE_PATH: the code folder (default /code). It is read on the
//     first request that needs a handler, not at start, so an instance may
//     be started before its code is in place (pre-started generic
//     instances). Python also searches /opt/python, Node.js NODE_PATH
//     (/opt/nodejs/node_modules).
//   - FC_INSTANCE_CONCURRENCY: the function's instanceConcurrency. Above 1,
//     Python tags every line a request prints, Node.js every line of its
//     console and context.logger output (see Logs).
//   - FC_FUNCTION_HANDLER: the handler when a request has no
//     x-fc-function-handler header.
//
// Requests, as in FC's custom-runtime protocol (spec §6.4), HTTP/1.1 with
// keep-alive; the bootstraps never close idle connections and have no
// timeouts of their own (the platform enforces the function's timeout):
//   - POST /invoke, body = event: calls the handler named by the
//     x-fc-function-handler header. 200 with the result as body (Python:
//     bytes as is, str as UTF-8, None empty, anything else str(); Node.js:
//     Buffer/string as is, undefined/null empty, anything else JSON).
//   - POST /invoke with header x-fc-http-params (an HTTP-trigger call,
//     spec §4.3: base64 of JSON {path, method, requestURI, clientIP, host,
//     queriesMap, headersMap}) and the raw request body: calls the WSGI
//     (Python) or (req, resp, context) (Node.js) handler and answers 200
//     with the response body and header x-fc-http-params = base64 of JSON
//     {status, headersMap}.
//   - POST /initialize: runs the x-fc-function-initializer handler, at most
//     once per instance (a repeated call after a success is a no-op; after
//     a failure it runs again).
//   - GET /pre-stop, GET /pre-freeze: run the handler named by
//     x-fc-instance-lifecycle-pre-stop-handler or
//     x-fc-instance-lifecycle-pre-freeze-handler. Without such a header the
//     hooks and /initialize answer 200 and do nothing.
//
// The context object (spec §6.3) is built from the request's x-fc-*
// headers (request ID, credentials, function, service, region, account,
// tracing, retry count).
//
// A function error is answered with status 404, header x-fc-status: 404,
// Content-Type: application/json, body {"errorMessage", "errorType",
// "stackTrace"} (stackTrace: a list of strings, bootstrap frames removed)
// and header x-fc-error-type saying which error FC reports to the caller:
// HandledInvocationError for a Node.js callback(err), and
// UnhandledInvocationError for everything else (exceptions, thrown errors,
// rejected promises, a handler that cannot be loaded). For an HTTP-trigger
// call an error is signalled the same way (no x-fc-http-params reply
// header). Any other non-2xx answer without x-fc-error-type (404 on an
// unknown path) is a protocol error of the platform.
//
// # Logs
//
// Stdout carries `FC Invoke Start RequestId: <id>` and
// `FC Invoke End RequestId: <id>` lines around each invocation (and the
// Initialize, PreStop and PreFreeze variants). Log lines have the form
// `<ISO-8601 UTC time, ms> <requestId> [<LEVEL>] <message>`: the Python
// root logger (configured at level INFO when the function first imports
// logging) and context.get_logger(); Node.js context.logger (all levels
// to stdout) and console.* calls made while serving a request (log, info,
// debug to stdout; warn, error to stderr; Node.js tracks the request across
// async calls). Python's print output is passed through as is when
// FC_INSTANCE_CONCURRENCY is 1 (the Start/End lines attribute it); above 1
// every line a request writes to stdout (level INFO) or stderr (ERROR) gets
// that prefix, so a log line belongs to request R when its second field is
// R. Unhandled errors are logged at level ERROR with their stack.
//
// # Zygotes
//
// The Python bootstrap imports only C modules at load time (json,
// traceback and logging on first use) and has no import side effects:
// a zygote can import openfc_bootstrap, call its preload() (imports what the
// first requests need), fork, and call serve(socket_path) in the child.
// Measured without a sandbox (BenchmarkBootstrapStart, this 2-core VM):
// python3 ≈ 16 ms and nodejs ≈ 36 ms from exec to a listening socket.
// Node.js 20 cannot build a user start-up snapshot that includes http.
//
// The package imports nothing of openfc's. Its functions are safe for
// concurrent use.
package runtimes
