'use strict';

// Async test: the official Function Compute Node SDK, @alicloud/fc2 2.6.6,
// on a running `openfc serve` that runs functions (root, linux sandbox):
// async invocations, the async invoke config (put/get/list/delete),
// stateful async invocations (get, list with filters and pages, stop),
// retries of a function that fails once, delayed start, and an onSuccess
// destination. The SDK has no methods for stateful invocations, so those
// go through its signed client.get/put with FC's paths. Run by
// TestNodeSDKAsync (e2e/), or by hand with the same environment as
// fc2_compat.test.js:
//
//   OPENFC_ENDPOINT=http://127.0.0.1:9700 OPENFC_ACCOUNT_ID=... \
//   OPENFC_ACCESS_KEY_ID=... OPENFC_ACCESS_KEY_SECRET=... \
//   node --test e2e/node/fc2_async.test.js

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { connect, runId, makeZip } = require('./common.js');

const { accountId, config, client } = connect(60000);
const serviceName = `fc2async_${runId}`;

// A custom runtime: "fail" fails, "flaky-<n>" fails until its retry count
// reaches n, "sleep" sleeps two minutes, anything else answers "done <event>".
const bootstrap = `#!/usr/bin/python3
import http.server, time
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0)).decode()
        retry = int(self.headers.get('x-fc-retry-count') or 0)
        if body == 'sleep':
            time.sleep(120)
        if body == 'fail' or (body.startswith('flaky-') and retry < int(body[6:])):
            self.send_response(500); self.end_headers(); self.wfile.write(b'{"errorMessage":"failed on purpose"}'); return
        out = ('done ' + body).encode()
        self.send_response(200); self.send_header('content-length', str(len(out))); self.end_headers(); self.wfile.write(out)
http.server.ThreadingHTTPServer(('0.0.0.0', 9000), H).serve_forever()
`;

const invocations = (fn) => `/services/${serviceName}/functions/${fn}/stateful-async-invocations`;

async function submit(fn, event, headers = {}) {
  const res = await client.invokeFunction(serviceName, fn, event, { 'x-fc-invocation-type': 'Async', ...headers });
  assert.equal(res.data, '');
  assert.match(res.headers['x-fc-request-id'] || '', /^[0-9a-f-]{36}$/);
  return res;
}

async function waitFor(what, fn, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) {
        return v;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(`${what}: not within ${timeoutMs} ms (${last || 'condition false'})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitStatus(fn, id, status) {
  return waitFor(`${id} ${status}`, async () => {
    const { data } = await client.get(`${invocations(fn)}/${id}`);
    return data.status === status ? data : null;
  });
}

const statuses = (inv) => inv.events.map((e) => e.status).join(',');

test('@alicloud/fc2 2.6.6 async invocation', async (t) => {
  await client.createService(serviceName);
  t.after(async () => {
    for (const fn of ['task', 'dest']) {
      await client.deleteFunctionAsyncConfig(serviceName, fn).catch(() => {});
      await client.deleteFunction(serviceName, fn).catch(() => {});
    }
    await client.deleteService(serviceName).catch(() => {});
  });
  for (const fn of ['task', 'dest']) {
    await client.createFunction(serviceName, {
      functionName: fn, runtime: 'custom', handler: 'x', timeout: 300, instanceConcurrency: 20,
      code: { zipFile: makeZip({ bootstrap: { data: bootstrap, mode: 0o755 } }).toString('base64') },
    });
  }
  const destArn = `acs:fc:${config.region}:${accountId}:services/${serviceName}.LATEST/functions/dest`;

  await t.test('async invoke config: put, get, list, delete', async () => {
    const put = await client.putFunctionAsyncConfig(serviceName, 'task', 'LATEST', {
      maxAsyncRetryAttempts: 1, maxAsyncEventAgeInSeconds: 3600, statefulInvocation: true,
      destinationConfig: { onSuccess: { destination: destArn } },
    });
    assert.equal(put.data.maxAsyncRetryAttempts, 1);
    assert.equal(put.data.statefulInvocation, true);
    assert.equal(put.data.destinationConfig.onSuccess.destination, destArn);
    const got = await client.getFunctionAsyncConfig(serviceName, 'task', 'LATEST');
    assert.equal(got.data.maxAsyncEventAgeInSeconds, 3600);
    assert.equal(got.data.qualifier, 'LATEST');
    // The destination keeps its records in task mode too.
    await client.putFunctionAsyncConfig(serviceName, 'dest', 'LATEST', { statefulInvocation: true });
    const list = await client.listFunctionAsyncConfigs(serviceName, 'task', { limit: 10 });
    assert.equal(list.data.configs.length, 1);
    assert.equal(list.data.nextToken, '');
    // Deleting a config that does not exist any more is an FC error.
    await client.putFunctionAsyncConfig(serviceName, 'dest', '1', {}).then(
      () => assert.fail('a config for a missing version was accepted'),
      (err) => assert.equal(err.code, 'VersionNotFound'));
  });

  await t.test('stateful: caller-chosen ID, result, destination', async () => {
    const res = await submit('task', 'hello', { 'x-fc-stateful-async-invocation-id': 'job_hello' });
    assert.equal(res.headers['x-fc-stateful-async-invocation-id'], 'job_hello');
    const inv = await waitStatus('task', 'job_hello', 'Succeeded');
    assert.equal(inv.returnPayload, 'done hello');
    assert.equal(inv.invocationPayload, 'hello');
    assert.equal(inv.serviceName, serviceName);
    assert.equal(inv.functionName, 'task');
    assert.equal(inv.qualifier, 'LATEST');
    assert.equal(inv.requestId, res.headers['x-fc-request-id']);
    assert.equal(inv.alreadyRetriedTimes, 0);
    assert.equal(inv.destinationStatus, 'Succeeded');
    assert.equal(statuses(inv), 'Enqueued,Running,Succeeded');
    assert.ok(inv.endTime >= inv.startedTime && inv.startedTime > 0);
    // The onSuccess destination (another function) got FC's record.
    const rec = await waitFor('destination record', async () => {
      const { data } = await client.get(invocations('dest'), { includePayload: 'true' });
      const done = data.invocations.filter((i) => i.status === 'Succeeded');
      return done.length ? JSON.parse(done[0].invocationPayload) : null;
    });
    assert.equal(rec.requestContext.requestId, res.headers['x-fc-request-id']);
    assert.equal(rec.requestContext.condition, 'Success');
    assert.equal(rec.requestPayload, 'hello');
    assert.equal(rec.responsePayload, 'done hello');

    await assert.rejects(submit('task', 'again', { 'x-fc-stateful-async-invocation-id': 'job_hello' }), (err) => {
      assert.equal(err.code, 'StatefulAsyncInvocationAlreadyExists');
      assert.match(err.message, /failed with 409\./);
      return true;
    });
    await assert.rejects(client.get(`${invocations('task')}/job_nope`), (err) => {
      assert.equal(err.code, 'StatefulAsyncInvocationNotFound');
      return true;
    });
  });

  await t.test('retries: a function that fails once, then succeeds; one that always fails', async () => {
    await submit('task', 'flaky-1', { 'x-fc-stateful-async-invocation-id': 'job_flaky' });
    const flaky = await waitStatus('task', 'job_flaky', 'Succeeded');
    assert.equal(flaky.alreadyRetriedTimes, 1);
    assert.equal(statuses(flaky), 'Enqueued,Running,Retrying,Running,Succeeded');
    await submit('task', 'fail', { 'x-fc-stateful-async-invocation-id': 'job_fail' });
    const failed = await waitStatus('task', 'job_fail', 'Failed');
    assert.equal(failed.invocationErrorMessage, 'failed on purpose');
    assert.equal(failed.alreadyRetriedTimes, 1);
  });

  await t.test('delayed start: x-fc-async-delay', async () => {
    await submit('task', 'later', { 'x-fc-stateful-async-invocation-id': 'job_later', 'x-fc-async-delay': '2' });
    const inv = await waitStatus('task', 'job_later', 'Succeeded');
    const enqueued = inv.events.find((e) => e.status === 'Enqueued').timestamp;
    const running = inv.events.find((e) => e.status === 'Running').timestamp;
    assert.ok(running - enqueued >= 2000, `started ${running - enqueued} ms after it was enqueued, want at least 2000`);
  });

  await t.test('stop a running invocation', async () => {
    await submit('task', 'sleep', { 'x-fc-stateful-async-invocation-id': 'job_sleep' });
    await waitStatus('task', 'job_sleep', 'Running');
    const stop = await client.put(`${invocations('task')}/job_sleep`);
    assert.deepEqual(stop.data, {});
    const inv = await waitStatus('task', 'job_sleep', 'Stopped');
    assert.equal(statuses(inv), 'Enqueued,Running,Stopped');
    await assert.rejects(client.put(`${invocations('task')}/job_sleep`), (err) => {
      assert.equal(err.code, 'InvalidArgument');
      return true;
    });
  });

  await t.test('list: filters and pages', async () => {
    const all = ['job_hello', 'job_flaky', 'job_fail', 'job_later', 'job_sleep'];
    const asc = await client.get(invocations('task'), { sortOrderByTime: 'asc' });
    assert.deepEqual(asc.data.invocations.map((i) => i.invocationId), all);
    assert.equal(asc.data.nextToken, undefined);
    assert.equal(asc.data.invocations[0].invocationPayload, undefined);
    const failed = await client.get(invocations('task'), { status: 'Failed' });
    assert.deepEqual(failed.data.invocations.map((i) => i.invocationId), ['job_fail']);
    const prefixed = await client.get(invocations('task'), { invocationIdPrefix: 'job_f', sortOrderByTime: 'desc' });
    assert.deepEqual(prefixed.data.invocations.map((i) => i.invocationId), ['job_fail', 'job_flaky']);
    const first = asc.data.invocations[0].startedTime;
    const window = await client.get(invocations('task'), { startedTimeBegin: first, startedTimeEnd: first });
    assert.deepEqual(window.data.invocations.map((i) => i.invocationId), ['job_hello']);
    const paged = [];
    let nextToken;
    do {
      const { data } = await client.get(invocations('task'), { sortOrderByTime: 'asc', limit: 2, ...(nextToken ? { nextToken } : {}) });
      paged.push(...data.invocations.map((i) => i.invocationId));
      nextToken = data.nextToken;
    } while (nextToken);
    assert.deepEqual(paged, all);
  });

  await t.test('delete the async config: no more task mode', async () => {
    const del = await client.deleteFunctionAsyncConfig(serviceName, 'task');
    assert.equal(del.data, '');
    await assert.rejects(client.getFunctionAsyncConfig(serviceName, 'task'), (err) => {
      assert.equal(err.code, 'AsyncConfigNotExists');
      return true;
    });
    const res = await submit('task', 'plain');
    assert.equal(res.headers['x-fc-stateful-async-invocation-id'], undefined);
  });
});
