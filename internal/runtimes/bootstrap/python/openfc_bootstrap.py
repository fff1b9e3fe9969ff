"""openfc Python runtime bootstrap.

Serves Function Compute's custom-runtime protocol (POST /invoke, POST /initialize,
GET /pre-stop, GET /pre-freeze) over HTTP/1.1 on a Unix socket (FC_SERVER_SOCKET)
or on TCP (FC_SERVER_PORT, default 9000), and runs the user's Python handlers:
event handlers handler(event, context), WSGI handlers for HTTP-trigger calls
(marked by the x-fc-http-params request header), initializer(context),
pre_stop(context) and pre_freeze(context).

Start-up cost matters (it is on every cold start), so the module imports only
C modules at load time (_socket, _thread, binascii) and imports json,
traceback, logging and urllib.parse on first use. Importing the module has no
side effect: a zygote may import it (and call preload()), fork, and call
serve() in the child.

The package doc of openfc's internal/runtimes describes the wire contract.
"""

import sys
import os
import time
import _socket
import _thread
import binascii

_CODE_DIR = os.environ.get("FC_FUNC_CODE_PATH") or "/code"
_LAYER_DIR = "/opt/python"

# Guards writes of whole lines to the real stdout and stderr, so that lines of
# concurrent requests never interleave within a line.
_write_lock = _thread.allocate_lock()
# Per-thread state: .rid (request ID being served), .parts (partial lines).
_local = _thread._local()
# Request ID of the most recently started request: the tag of lines written by
# threads the user started (they have no request of their own).
_last_rid = ""
_tagged = False
_out = sys.stdout
_err = sys.stderr

_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    413: "Payload Too Large", 500: "Internal Server Error",
}


# ---------------------------------------------------------------- logging


def _now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def _rid():
    return getattr(_local, "rid", None) or _last_rid


def _write_raw(stream, text):
    with _write_lock:
        stream.write(text)
        stream.flush()


def _log(level, msg, rid=None):
    """Writes msg as a log line '<time> <requestId> [<LEVEL>] msg' to stdout.

    With instance concurrency > 1 every line of a multi-line message carries
    the prefix, so that each line can be attributed to its request."""
    if rid is None:
        rid = _rid()
    prefix = "%s %s [%s] " % (_now(), rid, level)
    if _tagged and "\n" in msg:
        text = "".join(prefix + line + "\n" for line in msg.split("\n"))
    else:
        text = prefix + msg + "\n"
    _write_raw(_out, text)


def _marker(text):
    _write_raw(_out, text + "\n")


class _Tagger:
    """Replaces sys.stdout/sys.stderr when instance concurrency > 1: every
    complete line a request writes gets the log prefix with its request ID.
    Lines of threads without a request pass through untouched."""

    def __init__(self, raw, level):
        self._raw = raw
        self._level = level

    def write(self, s):
        rid = getattr(_local, "rid", None)
        if rid is None:
            _write_raw(self._raw, s)
            return len(s)
        parts = _local.parts
        pending = parts.get(self._level, "") + s
        if "\n" not in pending:
            parts[self._level] = pending
            return len(s)
        lines = pending.split("\n")
        parts[self._level] = lines.pop()
        prefix = "%s %s [%s] " % (_now(), rid, self._level)
        _write_raw(self._raw, "".join(prefix + line + "\n" for line in lines))
        return len(s)

    def flush_request(self):
        """Writes the partial line the current request left, if any."""
        parts = getattr(_local, "parts", None)
        if parts and parts.get(self._level):
            self.write("\n")

    def flush(self):
        self._raw.flush()

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._raw, name)


def _configure_logging(logging):
    """Routes the root logger to the runtime's log format, at level INFO (as
    FC's Python runtime does)."""

    class Handler(logging.Handler):
        def emit(self, record):
            try:
                msg = self.format(record)
                _log(record.levelname, msg)
            except Exception:
                self.handleError(record)

    root = logging.getLogger()
    root.addHandler(Handler())
    root.setLevel(logging.INFO)


class _LoggingHook:
    """A meta path finder that configures the logging module right after its
    first import, whoever imports it: the runtime pays for logging only when
    the function uses it, and the root handler is in place before user code
    can call basicConfig."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_configure(module):
            exec_module(module)
            _configure_logging(module)

        spec.loader.exec_module = exec_and_configure
        return spec


# ---------------------------------------------------------------- context


class Credentials:
    def __init__(self, access_key_id, access_key_secret, security_token):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token


class FunctionMeta:
    def __init__(self, name, handler, memory, timeout, initializer, initialization_timeout):
        self.name = name
        self.handler = handler
        self.memory = memory
        self.timeout = timeout
        self.initializer = initializer
        self.initialization_timeout = initialization_timeout


class ServiceMeta:
    def __init__(self, name, log_project, log_store, qualifier, version_id):
        self.name = name
        self.log_project = log_project
        self.log_store = log_store
        self.qualifier = qualifier
        self.version_id = version_id


class Tracing:
    def __init__(self, span_context, span_baggages, jaeger_endpoint):
        self.span_context = span_context
        self.span_baggages = span_baggages
        self.jaeger_endpoint = jaeger_endpoint


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _baggages(h):
    v = h.get("x-fc-tracing-opentracing-span-baggages")
    if v:
        try:
            import json

            return json.loads(binascii.a2b_base64(v))
        except Exception:
            return {}
    prefix = "x-fc-tracing-opentracing-span-context-baggage-"
    return {k[len(prefix):]: v for k, v in h.items() if k.startswith(prefix)}


class FCContext:
    """The context object of FC's Python runtime, built from the x-fc-*
    headers of one request."""

    def __init__(self, h):
        self.request_id = h.get("x-fc-request-id", "")
        self.credentials = Credentials(
            h.get("x-fc-access-key-id", ""),
            h.get("x-fc-access-key-secret", ""),
            h.get("x-fc-security-token", ""),
        )
        self.function = FunctionMeta(
            h.get("x-fc-function-name", ""),
            h.get("x-fc-function-handler", ""),
            _int(h.get("x-fc-function-memory")),
            _int(h.get("x-fc-function-timeout")),
            h.get("x-fc-function-initializer", ""),
            _int(h.get("x-fc-initialization-timeout")),
        )
        self.service = ServiceMeta(
            h.get("x-fc-service-name", ""),
            h.get("x-fc-service-logproject", ""),
            h.get("x-fc-service-logstore", ""),
            h.get("x-fc-qualifier", ""),
            h.get("x-fc-version-id", ""),
        )
        self.region = h.get("x-fc-region", "")
        self.account_id = h.get("x-fc-account-id", "")
        self.retry_count = _int(h.get("x-fc-retry-count")) or 0
        self.tracing = Tracing(
            h.get("x-fc-tracing-opentracing-span-context", ""),
            _baggages(h),
            h.get("x-fc-tracing-jaeger-endpoint", ""),
        )

    def get_logger(self):
        """Returns the root logger, whose lines carry time, request ID and
        level."""
        import logging

        return logging.getLogger()

    getLogger = get_logger


# ---------------------------------------------------------------- handlers


class HandlerNotFound(Exception):
    pass


_handlers = {}
_load_lock = _thread.RLock()
_chdir_done = False


def _load(spec):
    fn = _handlers.get(spec)
    if fn is not None:
        return fn
    with _load_lock:
        fn = _handlers.get(spec)
        if fn is not None:
            return fn
        global _chdir_done
        if not _chdir_done:
            _chdir_done = True
            try:
                os.chdir(_CODE_DIR)
            except OSError:
                pass
        module_name, _, attr = spec.rpartition(".")
        if not module_name or not attr:
            raise HandlerNotFound("invalid handler %r: want module.function" % spec)
        __import__(module_name)
        module = sys.modules[module_name]
        fn = getattr(module, attr, None)
        if not callable(fn):
            raise HandlerNotFound("handler %r is not a function of module %r" % (attr, module_name))
        _handlers[spec] = fn
        return fn


def _stack(tb):
    import traceback

    # Compare with a code object's file name, not __file__: a precompiled
    # module keeps the path it was compiled at.
    frames = [f for f in traceback.extract_tb(tb) if f.filename != _stack.__code__.co_filename]
    return traceback.format_list(frames)


def _error_response(exc, rid):
    import json

    name = type(exc).__name__
    msg = str(exc)
    stack = _stack(exc.__traceback__)
    _log("ERROR", "%s: %s\nTraceback (most recent call last):\n%s" % (name, msg, "".join(stack).rstrip("\n")), rid)
    body = json.dumps({"errorMessage": msg, "errorType": name, "stackTrace": stack}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("x-fc-status", "404"),
        ("x-fc-error-type", "UnhandledInvocationError"),
    ]
    return 404, headers, body


def _begin(rid):
    global _last_rid
    _local.rid = rid
    _local.parts = {}
    _last_rid = rid


def _end():
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _Tagger):
            stream.flush_request()
        else:
            stream.flush()
    _local.rid = None


def _to_bytes(r):
    if r is None:
        return b""
    if isinstance(r, bytes):
        return r
    if isinstance(r, str):
        return r.encode("utf-8")
    if isinstance(r, (bytearray, memoryview)):
        return bytes(r)
    return str(r).encode("utf-8")


def _invoke(h, body):
    rid = h.get("x-fc-request-id", "")
    ctx = FCContext(h)
    _marker("FC Invoke Start RequestId: " + rid)
    _begin(rid)
    try:
        fn = _load(h.get("x-fc-function-handler") or os.environ.get("FC_FUNCTION_HANDLER") or "index.handler")
        resp = 200, [], _to_bytes(fn(body, ctx))
    except BaseException as e:
        resp = _error_response(e, rid)
    finally:
        _end()
    _marker("FC Invoke End RequestId: " + rid)
    return resp


def _native(s):
    # PEP 3333: environ strings are bytes decoded as latin-1.
    return s.encode("utf-8", "surrogateescape").decode("latin-1")


def _http_invoke(h, body):
    import json
    import io

    rid = h.get("x-fc-request-id", "")
    ctx = FCContext(h)
    _marker("FC Invoke Start RequestId: " + rid)
    _begin(rid)
    try:
        params = json.loads(binascii.a2b_base64(h["x-fc-http-params"]))
        uri = params.get("requestURI") or params.get("path") or "/"
        path = params.get("path") or uri.split("?", 1)[0]
        if "?" in uri:
            query = uri.split("?", 1)[1]
        else:
            from urllib.parse import urlencode

            query = urlencode(params.get("queriesMap") or {}, doseq=True)
        host = params.get("host") or ""
        name, _, port = host.partition(":")
        environ = {
            "REQUEST_METHOD": params.get("method") or "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": _native(path),
            "QUERY_STRING": query,
            "REQUEST_URI": _native(uri),
            "RAW_URI": _native(uri),
            "SERVER_NAME": name or "localhost",
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": params.get("clientIP") or "",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "fc.context": ctx,
            "fc.request_uri": uri,
        }
        for k, vs in (params.get("headersMap") or {}).items():
            key = k.upper().replace("-", "_")
            v = _native(",".join(vs) if isinstance(vs, list) else str(vs))
            if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                environ[key] = v
            else:
                environ["HTTP_" + key] = v
        if environ.get("HTTP_X_FORWARDED_PROTO", "").lower() == "https":
            environ["wsgi.url_scheme"] = "https"

        state = {}
        chunks = []

        def start_response(status, headers, exc_info=None):
            if exc_info and state:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"] = status
            state["headers"] = headers
            return chunks.append

        fn = _load(h.get("x-fc-function-handler") or os.environ.get("FC_FUNCTION_HANDLER") or "index.handler")
        result = fn(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    chunks.append(chunk if isinstance(chunk, bytes) else _to_bytes(chunk))
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if "status" not in state:
            raise RuntimeError("the WSGI handler did not call start_response")
        headers_map = {}
        names = {}
        for k, v in state["headers"]:
            k = names.setdefault(k.lower(), k)
            headers_map.setdefault(k, []).append(str(v))
        out = json.dumps({"status": int(str(state["status"]).split(" ", 1)[0]), "headersMap": headers_map})
        resp = 200, [("x-fc-http-params", binascii.b2a_base64(out.encode(), newline=False).decode())], b"".join(chunks)
    except BaseException as e:
        resp = _error_response(e, rid)
    finally:
        _end()
    _marker("FC Invoke End RequestId: " + rid)
    return resp


_init_lock = _thread.allocate_lock()
_initialized = False


def _initialize(h):
    global _initialized
    spec = h.get("x-fc-function-initializer")
    if not spec:
        return 200, [], b""
    # The initializer runs once per instance, even if the platform repeats
    # the call; concurrent calls wait for the first one.
    with _init_lock:
        if _initialized:
            return 200, [], b""
        rid = h.get("x-fc-request-id", "")
        _marker("FC Initialize Start RequestId: " + rid)
        _begin(rid)
        try:
            _load(spec)(FCContext(h))
            _initialized = True
            resp = 200, [], b""
        except BaseException as e:
            resp = _error_response(e, rid)
        finally:
            _end()
        _marker("FC Initialize End RequestId: " + rid)
        return resp


def _lifecycle(h, header, label):
    spec = h.get(header)
    if not spec:
        return 200, [], b""
    rid = h.get("x-fc-request-id", "")
    _marker("FC %s Start RequestId: %s" % (label, rid))
    _begin(rid)
    try:
        _load(spec)(FCContext(h))
        resp = 200, [], b""
    except BaseException as e:
        resp = _error_response(e, rid)
    finally:
        _end()
    _marker("FC %s End RequestId: %s" % (label, rid))
    return resp


def _specialize(h, body):
    """Turns a pre-started generic instance into one function's instance:
    the body holds the function's environment as NUL-separated KEY=VALUE
    items (no JSON, so nothing more is imported on the cold path)."""
    global _tagged
    for item in body.split(b"\0"):
        if item:
            k, _, v = item.decode("utf-8", "surrogateescape").partition("=")
            os.environ[k] = v
    if (_int(h.get("x-fc-instance-concurrency")) or 1) > 1 and not _tagged:
        _tagged = True
        sys.stdout = _Tagger(_out, "INFO")
        sys.stderr = _Tagger(_err, "ERROR")
    return 200, [], b""


def _dispatch(method, target, h, body):
    path = target.split("?", 1)[0]
    if path == "/specialize" and method == "POST":
        return _specialize(h, body)
    if path == "/invoke" and method == "POST":
        if "x-fc-http-params" in h:
            return _http_invoke(h, body)
        return _invoke(h, body)
    if path == "/initialize" and method == "POST":
        return _initialize(h)
    if path == "/pre-stop" and method == "GET":
        return _lifecycle(h, "x-fc-instance-lifecycle-pre-stop-handler", "PreStop")
    if path == "/pre-freeze" and method == "GET":
        return _lifecycle(h, "x-fc-instance-lifecycle-pre-freeze-handler", "PreFreeze")
    msg = ('{"errorMessage":"%s %s is not supported"}' % (method, path.replace('"', ""))).encode()
    return 404, [("Content-Type", "application/json")], msg


# ---------------------------------------------------------------- HTTP/1.1

_MAX_HEAD = 1 << 20


class _Conn:
    """A buffered reader over one accepted connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        d = self.sock.recv(1 << 16)
        if not d:
            raise EOFError
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            if len(self.buf) > _MAX_HEAD:
                raise EOFError
            self.fill()

    def read(self, n):
        while len(self.buf) < n:
            self.fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i]).decode("latin-1")
                del self.buf[: i + 4]
                return head
            if len(self.buf) > _MAX_HEAD:
                raise EOFError
            self.fill()

    def chunked(self):
        parts = []
        while True:
            size = int(self.line().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.line():  # trailers
                    pass
                return b"".join(parts)
            parts.append(self.read(size))
            self.read(2)


def _serve_conn(sock):
    conn = _Conn(sock)
    try:
        while True:
            try:
                head = conn.head()
            except EOFError:
                return
            lines = head.split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            h = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                k = k.strip().lower()
                v = v.strip()
                h[k] = h[k] + ", " + v if k in h else v
            if h.get("expect", "").lower() == "100-continue":
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if "chunked" in h.get("transfer-encoding", "").lower():
                body = conn.chunked()
            else:
                body = conn.read(int(h.get("content-length") or 0))
            status, headers, out = _dispatch(method, target, h, body)
            close = h.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            head = ["HTTP/1.1 %d %s\r\nContent-Length: %d\r\n" % (status, _REASONS.get(status, "Status"), len(out))]
            for k, v in headers:
                head.append("%s: %s\r\n" % (k, v))
            if close:
                head.append("Connection: close\r\n")
            head.append("\r\n")
            data = "".join(head).encode("latin-1")
            if len(out) < 65536:
                sock.sendall(data + out)
            else:
                sock.sendall(data)
                sock.sendall(out)
            if close:
                return
    except (EOFError, OSError, ValueError):
        return
    finally:
        sock.close()


def preload():
    """Imports what the first requests need (json, traceback, io), so that a
    zygote that calls it before forking gives its children a warm start."""
    import json  # noqa: F401
    import traceback  # noqa: F401
    import io  # noqa: F401


def _listen(path, port):
    if path:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        # Bind to a temporary name and rename once listening: the socket path
        # appears only when connections are accepted, so readiness is "the
        # path exists".
        tmp = path + ".tmp"
        for p in (tmp, path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        s.bind(tmp)
        s.listen(1024)
        os.rename(tmp, path)
        return s
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1024)
    return s


def serve(path=None, port=9000):
    """Listens on the Unix socket path (or on TCP port when path is empty)
    and serves requests, one thread per connection, until the process ends.
    Instance concurrency is bounded by the platform, which opens at most that
    many connections at once."""
    global _tagged
    # Drop the entry that found this module ('' for -c, or its folder).
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p and p != here]
    for p in (_LAYER_DIR, _CODE_DIR):
        if p not in sys.path:
            sys.path.insert(0, p)
    sys.meta_path.insert(0, _LoggingHook())
    if "logging" in sys.modules:
        _configure_logging(sys.modules["logging"])
    if (_int(os.environ.get("FC_INSTANCE_CONCURRENCY")) or 1) > 1:
        _tagged = True
        sys.stdout = _Tagger(_out, "INFO")
        sys.stderr = _Tagger(_err, "ERROR")
    else:
        _out.reconfigure(line_buffering=True)
    s = _listen(path, port)
    while True:
        try:
            fd, _ = s._accept()
        except InterruptedError:
            continue
        _thread.start_new_thread(_serve_conn, (_socket.socket(fileno=fd),))


def main():
    serve(os.environ.get("FC_SERVER_SOCKET") or None, _int(os.environ.get("FC_SERVER_PORT")) or 9000)


if __name__ == "__main__":
    main()
