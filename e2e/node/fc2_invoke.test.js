'use strict';

// Invocation test: the official Function Compute Node SDK, @alicloud/fc2
// 2.6.6, invoking a python3, a nodejs20 and a custom function on a running
// `openfc serve` that runs functions (root, linux sandbox). Run by
// TestNodeSDKInvoke (e2e/), or by hand with the same environment as
// fc2_compat.test.js:
//
//   OPENFC_ENDPOINT=http://127.0.0.1:9700 OPENFC_ACCOUNT_ID=... \
//   OPENFC_ACCESS_KEY_ID=... OPENFC_ACCESS_KEY_SECRET=... \
//   node --test e2e/node/fc2_invoke.test.js

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { connect, runId, makeZip } = require('./common.js');

const { client } = connect(60000);
const serviceName = `fc2inv_${runId}`;

// Each function answers "<runtime> <event>" and logs "<runtime> log
// <event>"; event "error" fails unhandled, "handled" (Node.js) handled.
const python = `def handler(event, context):
    cmd = event.decode()
    if cmd == "error":
        raise ValueError("boom")
    print("python log " + cmd)
    return "python " + cmd
`;

const node = `exports.handler = (event, context, callback) => {
  const cmd = event.toString();
  if (cmd === 'error') throw new Error('boom');
  if (cmd === 'handled') return callback(new Error('handled boom'));
  console.log('node log ' + cmd);
  callback(null, 'node ' + cmd);
};
`;

const bootstrap = `#!/usr/bin/python3
import http.server, json

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        rid = self.headers.get("x-fc-request-id", "")
        cmd = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        print("FC Invoke Start RequestId: " + rid, flush=True)
        if cmd == "error":
            status, body = 404, json.dumps({"errorMessage": "boom", "errorType": "Error"}).encode()
        else:
            print("custom log " + cmd, flush=True)
            status, body = 200, ("custom " + cmd).encode()
        print("FC Invoke End RequestId: " + rid, flush=True)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("0.0.0.0", 9000), H).serve_forever()
`;

const functions = [
  { name: 'py', runtime: 'python3', label: 'python', files: { 'index.py': { data: python, mode: 0o644 } } },
  { name: 'node', runtime: 'nodejs20', label: 'node', files: { 'index.js': { data: node, mode: 0o644 } } },
  { name: 'custom', runtime: 'custom', label: 'custom', files: { bootstrap: { data: bootstrap, mode: 0o755 } } },
];
// go1: a static Go program the Go test runner builds (e2e/testdata/go1echo);
// its handler is the executable's name.
if (process.env.OPENFC_GO1_BINARY) {
  functions.push({ name: 'go', runtime: 'go1', label: 'go1', handler: 'main',
    files: { main: { data: require('fs').readFileSync(process.env.OPENFC_GO1_BINARY), mode: 0o755 } } });
}

test('@alicloud/fc2 2.6.6 invokeFunction', async (t) => {
  await client.createService(serviceName);
  t.after(async () => {
    for (const f of functions) {
      await client.deleteFunction(serviceName, f.name).catch(() => {});
    }
    await client.deleteService(serviceName).catch(() => {});
  });
  for (const f of functions) {
    await client.createFunction(serviceName, {
      functionName: f.name,
      runtime: f.runtime,
      handler: f.handler || 'index.handler',
      code: { zipFile: makeZip(f.files).toString('base64') },
    });
  }

  for (const f of functions) {
    await t.test(`${f.runtime}: result`, async () => {
      const res = await client.invokeFunction(serviceName, f.name, 'hello');
      assert.equal(res.data, `${f.label} hello`);
      assert.equal(res.headers['x-fc-error-type'], undefined);
      assert.match(res.headers['x-fc-request-id'] || '', /^[0-9a-f-]{36}$/);
      const raw = await client.invokeFunction(serviceName, f.name, Buffer.from('raw'), {}, undefined, { rawBuf: true });
      assert.ok(Buffer.isBuffer(raw.data), 'rawBuf gives a Buffer');
      assert.equal(raw.data.toString(), `${f.label} raw`);
    });

    await t.test(`${f.runtime}: log tail`, async () => {
      const res = await client.invokeFunction(serviceName, f.name, 'tail', { 'x-fc-log-type': 'Tail' });
      assert.equal(res.data, `${f.label} tail`);
      const logs = Buffer.from(res.headers['x-fc-log-result'] || '', 'base64').toString();
      const rid = res.headers['x-fc-request-id'];
      assert.match(logs, new RegExp(`FC Invoke Start RequestId: ${rid}[^]*${f.label} log tail[^]*FC Invoke End RequestId: ${rid}`));
      assert.ok(logs.length <= 4096, `log tail of ${logs.length} bytes`);
    });

    await t.test(`${f.runtime}: unhandled error`, async () => {
      const res = await client.invokeFunction(serviceName, f.name, 'error');
      assert.equal(res.headers['x-fc-error-type'], 'UnhandledInvocationError');
      // With x-fc-error-type the SDK decodes the JSON error body.
      assert.equal(res.data.errorMessage, 'boom');
    });
  }

  await t.test('nodejs20: handled error', async () => {
    const res = await client.invokeFunction(serviceName, 'node', 'handled');
    assert.equal(res.headers['x-fc-error-type'], 'HandledInvocationError');
    assert.equal(res.data.errorMessage, 'handled boom');
  });

  await t.test('unknown function', async () => {
    await assert.rejects(client.invokeFunction(serviceName, 'nope', 'x'), (err) => {
      assert.equal(err.code, 'FunctionNotFound');
      assert.match(err.message, /failed with 404\./);
      return true;
    });
  });
});
