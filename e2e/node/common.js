'use strict';

// What the SDK tests share: the server they talk to (from the environment
// that TestNodeSDKCompat and TestNodeSDKInvoke set, or that you set by hand
// as the top of each test file shows), a name unique to the run, and a zip
// writer (no dependencies beyond the SDK).

const zlib = require('node:zlib');
const FCClient = require('@alicloud/fc2');

function env(name, fallback) {
  const v = process.env[name] || fallback;
  if (!v) {
    throw new Error(`${name} is not set: see the comment at the top of the test file`);
  }
  return v;
}

// connect returns the account, the SDK configuration and a client for it.
function connect(timeout) {
  const accountId = env('OPENFC_ACCOUNT_ID');
  const config = {
    accessKeyID: env('OPENFC_ACCESS_KEY_ID'),
    accessKeySecret: env('OPENFC_ACCESS_KEY_SECRET'),
    region: env('OPENFC_REGION', 'local'),
    // The SDK uses config.endpoint as the base URL instead of
    // <account>.<region>.fc.aliyuncs.com (lib/client.js, constructor).
    endpoint: env('OPENFC_ENDPOINT'),
    timeout,
  };
  return { accountId, config, client: new FCClient(accountId, config) };
}

// runId makes names unique per run, so the tests can run against a used
// server.
const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

// makeZip returns a zip archive (stored, not deflated) of files: name →
// contents (a string or Buffer, mode 0644) or {data, mode}.
function makeZip(files) {
  const parts = [];
  const central = [];
  let offset = 0;
  const names = Object.keys(files);
  for (const name of names) {
    let f = files[name];
    if (typeof f === 'string' || Buffer.isBuffer(f)) {
      f = { data: f, mode: 0o644 };
    }
    const nameBuf = Buffer.from(name, 'utf8');
    const data = Buffer.from(f.data, 'utf8');
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0); // central directory header
    dir.writeUInt16LE(0x0314, 4); // made by: unix, 2.0 (external attributes hold the mode)
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x21, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(nameBuf.length, 28);
    dir.writeUInt32LE(((0o100000 | f.mode) << 16) >>> 0, 38); // regular file and its mode
    dir.writeUInt32LE(offset, 42);
    parts.push(local, nameBuf, data);
    central.push(dir, nameBuf);
    offset += local.length + nameBuf.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(names.length, 8);
  end.writeUInt16LE(names.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

module.exports = { connect, runId, makeZip };
