#!/usr/bin/python3
"""logtool: the publisher and helper of the log-stream-processing example.

Standard library only: it speaks the NATS client protocol over TCP and FC's
signed API itself.

  logtool.py streams                       create the LOGS and SUMMARIES streams
  logtool.py async-config SVC/FN FILE      PUT FILE as the function's async invoke config
  logtool.py publish --count N             publish N log lines to logs.app (prints the expected totals)
  logtool.py totals                        sum the summaries the function sent to summaries.logs

NATS: --nats URL or $NATS_URL (default nats://127.0.0.1:4222).
openfc: $OPENFC_ENDPOINT, $OPENFC_ACCOUNT_ID, $OPENFC_ACCESS_KEY_ID and
$OPENFC_ACCESS_KEY_SECRET, else <data dir>/credentials.json with the data
dir from --data-dir, $OPENFC_DATA_DIR or ./openfc-data (as the openfc CLI).
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import os
import socket
import sys
import urllib.parse
import urllib.request

LEVELS = ["INFO", "INFO", "INFO", "INFO", "INFO", "INFO", "WARN", "WARN", "ERROR", "DEBUG"]


class NATS:
    """A minimal NATS client: publish, request/reply, flush."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url if "://" in url else "nats://" + url)
        self.sock = socket.create_connection((u.hostname, u.port or 4222), timeout=10)
        self.buf = b""
        self.sid = 0
        if not self._line().startswith(b"INFO "):
            raise SystemExit("logtool: %s is not a NATS server" % url)
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":false,"name":"logtool"}\r\n')
        self.flush()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("logtool: NATS closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("logtool: NATS closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _next(self):
        """Returns the next MSG's payload, or None for a PONG."""
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
            elif line == b"PONG":
                return None
            elif line.startswith(b"-ERR"):
                raise SystemExit("logtool: NATS error: %s" % line.decode())
            elif line.startswith(b"MSG "):
                return self._read(int(line.split()[-1]))

    def publish(self, subject, data, reply=None):
        head = "PUB %s %s%d\r\n" % (subject, reply + " " if reply else "", len(data))
        self.sock.sendall(head.encode() + data + b"\r\n")

    def flush(self):
        self.sock.sendall(b"PING\r\n")
        while self._next() is not None:
            pass

    def request(self, subject, data):
        self.sid += 1
        inbox = "_INBOX.logtool.%d.%d" % (os.getpid(), self.sid)
        self.sock.sendall(("SUB %s %d\r\n" % (inbox, self.sid)).encode())
        self.publish(subject, data, inbox)
        while True:
            msg = self._next()
            if msg is not None:
                self.sock.sendall(("UNSUB %d\r\n" % self.sid).encode())
                return json.loads(msg or b"{}")

    def js(self, api, body=None):
        r = self.request("$JS.API." + api, json.dumps(body).encode() if body is not None else b"")
        return r


def cmd_streams(nc, _args):
    for name, subjects in (("LOGS", ["logs.>"]), ("SUMMARIES", ["summaries.>"])):
        r = nc.js("STREAM.CREATE." + name, {"name": name, "subjects": subjects, "storage": "file"})
        err = r.get("error")
        if err and err.get("err_code") != 10058:  # 10058: it exists already
            raise SystemExit("logtool: create stream %s: %s" % (name, err.get("description")))
        print("stream %s (%s) ready" % (name, ", ".join(subjects)))


def cmd_publish(nc, args):
    totals = {}
    for i in range(args.count):
        level = LEVELS[i % len(LEVELS)]
        totals[level] = totals.get(level, 0) + 1
        line = "2026-01-02T03:04:%02dZ %s request %d handled by web-%d" % (i % 60, level, i, i % 3)
        nc.publish(args.subject, line.encode())
    nc.flush()
    print(json.dumps({"messages": args.count, "levels": totals}, sort_keys=True))


def cmd_totals(nc, _args):
    info = nc.js("STREAM.INFO.SUMMARIES")
    if "error" in info:
        raise SystemExit("logtool: stream SUMMARIES: %s (run 'logtool.py streams' first)" % info["error"].get("description"))
    state = info["state"]
    totals, messages, batches = {}, 0, 0
    for seq in range(state.get("first_seq", 1), state.get("last_seq", 0) + 1):
        r = nc.js("STREAM.MSG.GET.SUMMARIES", {"seq": seq})
        if "message" not in r:
            continue
        record = json.loads(base64.b64decode(r["message"]["data"]))
        summary = json.loads(record["responsePayload"])
        batches += 1
        messages += summary["messages"]
        for level, n in summary["levels"].items():
            totals[level] = totals.get(level, 0) + n
    print(json.dumps({"batches": batches, "messages": messages, "levels": totals}, sort_keys=True))


def credentials(args):
    env = {k: os.environ.get("OPENFC_" + k.upper()) for k in ("endpoint", "account_id", "access_key_id", "access_key_secret")}
    if all(env.values()):
        return env["endpoint"], env["account_id"], env["access_key_id"], env["access_key_secret"]
    path = os.path.join(args.data_dir, "credentials.json")
    try:
        with open(path) as f:
            c = json.load(f)
    except OSError as e:
        raise SystemExit("logtool: no OPENFC_* variables and no %s: %s" % (path, e))
    return (env["endpoint"] or c["endpoint"], env["account_id"] or c["accountId"],
            env["access_key_id"] or c["accessKeyId"], env["access_key_secret"] or c["accessKeySecret"])


def fc_request(args, method, path, body):
    """Sends an FC API request signed as spec section 1 says."""
    endpoint, account, key_id, secret = credentials(args)
    date = email.utils.formatdate(usegmt=True)
    ctype = "application/json"
    headers = {"x-fc-account-id": account}
    canon = "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers))
    to_sign = "\n".join([method, "", ctype, date, canon + urllib.parse.unquote(path)])
    sig = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).digest()).decode()
    req = urllib.request.Request(endpoint.rstrip("/") + path, data=body, method=method, headers=dict(
        headers, **{"Content-Type": ctype, "Date": date, "Authorization": "FC %s:%s" % (key_id, sig)}))
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        raise SystemExit("logtool: %s %s: %d %s" % (method, path, e.code, e.read().decode()))


def cmd_async_config(args):
    service, _, function = args.function.partition("/")
    if not service or not function:
        raise SystemExit("logtool: name the function as SERVICE/FUNCTION")
    with open(args.file, "rb") as f:
        body = f.read()
    path = "/2016-08-15/services/%s/functions/%s/async-invoke-config" % (service, function)
    print(fc_request(args, "PUT", path, body).decode())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nats", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"), help="NATS server URL")
    p.add_argument("--data-dir", default=os.environ.get("OPENFC_DATA_DIR", "openfc-data"), help="openfc data dir")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("streams", help="create the LOGS and SUMMARIES streams")
    a = sub.add_parser("async-config", help="set a function's async invoke config")
    a.add_argument("function", help="SERVICE/FUNCTION")
    a.add_argument("file", help="async config JSON")
    pub = sub.add_parser("publish", help="publish log lines")
    pub.add_argument("--count", type=int, default=1000)
    pub.add_argument("--subject", default="logs.app")
    sub.add_parser("totals", help="sum the summaries")
    args = p.parse_args()
    if args.cmd == "async-config":
        return cmd_async_config(args)
    nc = NATS(args.nats)
    {"streams": cmd_streams, "publish": cmd_publish, "totals": cmd_totals}[args.cmd](nc, args)


if __name__ == "__main__":
    main()
