'use strict';

// Event triggers through the official @alicloud/fc2 2.6.6 SDK: an
// eventbridge trigger with a NATS source and an oss trigger are created,
// listed, read, updated and deleted like any FC trigger (the SDK knows
// only FC's trigger types), bad NATS configs come back as FC errors, and
// the oss trigger's webhook takes a MinIO notification. Run by
// TestNodeSDKEventTriggers (e2e/), or by hand with the environment that
// fc2_compat.test.js describes.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { connect, runId, makeZip } = require('./common.js');

const { accountId, config, client } = connect(60000);
const serviceName = `fc2ev_${runId}`;
const functionName = 'sink';

const natsConfig = {
  triggerEnable: true,
  asyncInvocationType: true,
  eventSourceConfig: {
    eventSourceType: 'NATS',
    eventSourceParameters: { sourceNATSParameters: { Stream: 'SDKLOGS', Subject: 'sdklogs.>' } },
  },
  runOptions: { batchWindow: { CountBasedWindow: 50, TimeBasedWindow: 1 } },
};

const token = 'sdk-webhook-token-0123456789';
const ossConfig = {
  events: ['oss:ObjectCreated:*'],
  filter: { key: { prefix: 'up/', suffix: '.csv' } },
  webhookToken: token,
};

async function rejectsWith(promise, status, code, text) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `ErrorCode of: ${err.message}`);
    assert.match(err.message, new RegExp(`failed with ${status}\\.`));
    if (text) {
      assert.ok(err.message.includes(text), `${err.message} should mention ${text}`);
    }
    return true;
  });
}

test('@alicloud/fc2 2.6.6: NATS and OSS event triggers', async () => {
  await client.createService(serviceName);
  await client.createFunction(serviceName, {
    functionName,
    runtime: 'python3.10',
    handler: 'index.handler',
    code: { zipFile: makeZip({ 'index.py': 'def handler(event, context):\n    return "ok"\n' }).toString('base64') },
  });

  let res = await client.createTrigger(serviceName, functionName, {
    triggerName: 'logs', triggerType: 'eventbridge', triggerConfig: natsConfig,
  });
  assert.equal(res.data.triggerType, 'eventbridge');
  assert.deepEqual(res.data.triggerConfig, natsConfig);

  res = await client.createTrigger(serviceName, functionName, {
    triggerName: 'uploads', triggerType: 'oss',
    sourceArn: `acs:oss:${config.region}:${accountId}:sdkbucket`,
    invocationRole: `acs:ram::${accountId}:role/any`,
    triggerConfig: ossConfig,
  });
  assert.equal(res.data.triggerType, 'oss');
  assert.deepEqual(res.data.triggerConfig, ossConfig);

  res = await client.listTriggers(serviceName, functionName);
  assert.deepEqual(res.data.triggers.map((tr) => [tr.triggerName, tr.triggerType]),
    [['logs', 'eventbridge'], ['uploads', 'oss']]);
  res = await client.getTrigger(serviceName, functionName, 'logs');
  assert.deepEqual(res.data.triggerConfig, natsConfig);

  // Bad NATS configs: FC's 400 InvalidArgument, nothing changes.
  await rejectsWith(client.createTrigger(serviceName, functionName, {
    triggerName: 'bad', triggerType: 'eventbridge',
    triggerConfig: { eventSourceConfig: { eventSourceType: 'NATS', eventSourceParameters: { sourceNATSParameters: {} } } },
  }), 400, 'InvalidArgument', 'Subject or Stream is required');
  const tooBig = structuredClone(natsConfig);
  tooBig.runOptions.batchWindow.CountBasedWindow = 20000;
  await rejectsWith(client.updateTrigger(serviceName, functionName, 'logs', { triggerConfig: tooBig }),
    400, 'InvalidArgument', 'CountBasedWindow 20000');
  res = await client.getTrigger(serviceName, functionName, 'logs');
  assert.deepEqual(res.data.triggerConfig, natsConfig);

  // Paused through the SDK's partial update.
  const paused = { ...natsConfig, triggerEnable: false };
  res = await client.updateTrigger(serviceName, functionName, 'logs', { triggerConfig: paused });
  assert.deepEqual(res.data.triggerConfig, paused);

  // The oss trigger's webhook, as MinIO calls it.
  const notification = (key) => JSON.stringify({
    EventName: 's3:ObjectCreated:Put',
    Key: `sdkbucket/${key}`,
    Records: [{
      eventVersion: '2.0', eventSource: 'minio:s3', eventTime: new Date().toISOString(), eventName: 's3:ObjectCreated:Put',
      s3: { bucket: { name: 'sdkbucket' }, object: { key, size: 12, eTag: 'abc' } },
    }],
  });
  const hook = `${config.endpoint}/openfc/v1/events/oss/${serviceName}/${functionName}/uploads`;
  for (const [key, matched] of [['up/a.csv', 1], ['up/a.txt', 0], ['down/a.csv', 0]]) {
    const r = await fetch(hook, {
      method: 'POST', body: notification(key),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    });
    assert.equal(r.status, 200, await r.clone().text());
    const body = await r.json();
    assert.equal(body.matched, matched, `${key}: ${JSON.stringify(body)}`);
  }
  const denied = await fetch(hook, { method: 'POST', body: notification('up/a.csv') });
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).ErrorCode, 'AccessDenied');

  for (const name of ['logs', 'uploads']) {
    await client.deleteTrigger(serviceName, functionName, name);
  }
  res = await client.listTriggers(serviceName, functionName);
  assert.deepEqual(res.data.triggers, []);
  await client.deleteFunction(serviceName, functionName);
  await client.deleteService(serviceName);
});
