"""openfc's go1 runtime shim: bridges FC's push protocol to the pull API
of fc-runtime-go-sdk (spec section 6.6).

The platform speaks FC's custom-runtime protocol to every instance. A go1
function is the user's own executable, which pulls its invocations from
FC's runtime API (GET .../invocation/next, POST .../{id}/response|error at
$FC_RUNTIME_API). This shim runs as the instance's runtime process: it
opens the runtime API on 127.0.0.1:9001 first, then starts the user's
executable (/code/<handler>) with FC_RUNTIME_API pointing at it, and
serves the push protocol on the instance's Unix socket with the Python
bootstrap's HTTP server (openfc_bootstrap). Each pushed call waits in a
queue until the executable takes it with `next`, and is answered with
what the executable posts back. When the executable exits, so does the
shim, with its status, and the platform reports the crash.
"""

import os
import sys
import collections
import _thread
import time

import openfc_bootstrap as ob

_API = "/2020-11-11/runtime/invocation/"
_queue = collections.deque()
_queue_lock = _thread.allocate_lock()
_queue_ready = _thread.allocate_lock()  # held while the queue is empty
_queue_ready.acquire()
_calls = {}


class _Call:
    __slots__ = ("rid", "kind", "headers", "body", "done", "result", "label")

    def __init__(self, rid, kind, headers, body, label):
        self.rid, self.kind, self.headers, self.body, self.label = rid, kind, headers, body, label
        self.done = _thread.allocate_lock()
        self.done.acquire()
        self.result = None


def _submit(kind, h, body, label):
    """Queues a call for the executable and waits for its answer."""
    rid = h.get("x-fc-request-id", "")
    c = _Call(rid, kind, h, body, label)
    with _queue_lock:
        _calls[rid] = c
        _queue.append(c)
        if len(_queue) == 1:
            _queue_ready.release()
    c.done.acquire()
    return c.result


def _next():
    """GET next: blocks until a call is queued (spec 6.6)."""
    while True:
        _queue_ready.acquire()
        with _queue_lock:
            if not _queue:
                continue
            c = _queue.popleft()
            if _queue:
                _queue_ready.release()
            break
    headers = [(k, v) for k, v in c.headers.items() if k.startswith("x-fc-")]
    timeout = ob._int(c.headers.get("x-fc-function-timeout")) or 60
    if c.kind == "1":
        timeout = ob._int(c.headers.get("x-fc-initialization-timeout")) or timeout
    headers.append(("x-fc-function-deadline", str(int((time.time() + timeout) * 1000))))
    headers.append(("x-fc-function-type", c.kind))
    ob._marker("FC %s Start RequestId: %s" % (c.label, c.rid))
    return 200, headers, c.body


def _finish(rid, result, failed):
    with _queue_lock:
        c = _calls.pop(rid, None)
    if c is None:
        return 404, [], b'{"errorMessage":"unknown request ID"}'
    end = "FC %s End RequestId: %s" % (c.label, c.rid)
    if failed:
        end += ", Error: Unhandled function error"
    ob._marker(end)
    c.result = result
    c.done.release()
    # fc-runtime-go-sdk treats any status but 200 as a failed post.
    return 200, [], b""


def _dispatch(method, target, h, body):
    path = target.split("?", 1)[0]
    if path.startswith(_API):
        rest = path[len(_API):]
        if rest == "next" and method == "GET":
            return _next()
        rid, _, what = rest.rpartition("/")
        if method == "POST" and what == "response":
            headers = []
            if "x-fc-http-params" in h:
                headers.append(("x-fc-http-params", h["x-fc-http-params"]))
            return _finish(rid, (200, headers, body), False)
        if method == "POST" and what == "error":
            headers = [("Content-Type", "application/json"), ("x-fc-status", "404"),
                       ("x-fc-error-type", "UnhandledInvocationError")]
            return _finish(rid, (404, headers, body), True)
        return 404, [], b'{"errorMessage":"unknown runtime API call"}'
    if path == "/invoke" and method == "POST":
        return _submit("0", h, body, "Invoke")
    if path == "/initialize" and method == "POST":
        if not h.get("x-fc-function-initializer"):
            return 200, [], b""
        return _submit("1", h, body, "Initialize")
    if path == "/pre-stop" and method == "GET":
        if not h.get("x-fc-instance-lifecycle-pre-stop-handler"):
            return 200, [], b""
        return _submit("2", h, body, "PreStop")
    if path == "/pre-freeze" and method == "GET":
        if not h.get("x-fc-instance-lifecycle-pre-freeze-handler"):
            return 200, [], b""
        return _submit("3", h, body, "PreFreeze")
    return 404, [], b'{"errorMessage":"not supported"}'


def _accept(sock):
    while True:
        try:
            fd, _ = sock._accept()
        except InterruptedError:
            continue
        _thread.start_new_thread(ob._serve_conn, (ob._socket.socket(fileno=fd),))


def _wait_child(pid):
    _, status = os.waitpid(pid, 0)
    sys.stdout.flush()
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def main():
    ob._dispatch = _dispatch
    api = os.environ.get("FC_RUNTIME_API") or "127.0.0.1:9001"
    port = int(api.rpartition(":")[2])
    # The API listens before the executable starts, so its first `next`
    # cannot be refused.
    api_sock = ob._listen(None, port)
    _thread.start_new_thread(_accept, (api_sock,))
    code = os.environ.get("FC_FUNC_CODE_PATH") or "/code"
    handler = os.environ.get("FC_FUNCTION_HANDLER") or "main"
    exe = handler if handler.startswith("/") else os.path.join(code, handler)
    env = dict(os.environ)
    env["FC_RUNTIME_API"] = api
    for k in ("FC_SERVER_SOCKET", "FC_SERVER_PORT"):
        env.pop(k, None)
    sys.stdout.flush()
    pid = os.posix_spawn(exe, [exe], env)
    _thread.start_new_thread(_wait_child, (pid,))
    ob.serve(os.environ.get("FC_SERVER_SOCKET") or None, ob._int(os.environ.get("FC_SERVER_PORT")) or 9000)
