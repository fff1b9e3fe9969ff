// openfc Node.js runtime bootstrap.
//
// Serves Function Compute's custom-runtime protocol (POST /invoke, POST
// /initialize, GET /pre-stop, GET /pre-freeze) over HTTP/1.1 on a Unix socket
// (FC_SERVER_SOCKET) or on TCP (FC_SERVER_PORT, default 9000), and runs the
// user's handlers: event handlers (event, context, callback) or async,
// HTTP handlers (req, resp, context) for HTTP-trigger calls (marked by the
// x-fc-http-params request header), initializer, preStop and preFreeze
// (context, callback).
//
// Errors: a handler's callback(err) answers 404 with
// "x-fc-error-type: HandledInvocationError"; a thrown error or a rejected
// promise answers 404 with "x-fc-error-type: UnhandledInvocationError". Both
// carry "x-fc-status: 404" and a JSON body {errorMessage, errorType,
// stackTrace}. The package doc of openfc's internal/runtimes describes the
// whole wire contract.
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { PassThrough, Readable } = require('stream');
const { AsyncLocalStorage } = require('async_hooks');

const codeDir = process.env.FC_FUNC_CODE_PATH || '/code';
// The request being served, so that console output can be tagged with its
// request ID even when several requests run at once.
const current = new AsyncLocalStorage();

function now() {
  return new Date().toISOString();
}

// logLine formats one log record. With instance concurrency > 1 every
// line of a multi-line message carries the prefix, so that the platform
// can attribute each line to its request.
function logLine(rid, level, args) {
  const prefix = `${now()} ${rid} [${level}] `;
  const text = util.format(...args);
  if (text.includes('\n') && (parseInt(process.env.FC_INSTANCE_CONCURRENCY, 10) || 1) > 1) {
    return text.split('\n').map((l) => prefix + l + '\n').join('');
  }
  return prefix + text + '\n';
}

function marker(text) {
  process.stdout.write(text + '\n');
}

// console.* inside a request: every line carries time, request ID and level.
for (const [name, level, stream] of [
  ['log', 'INFO', process.stdout],
  ['info', 'INFO', process.stdout],
  ['debug', 'DEBUG', process.stdout],
  ['warn', 'WARN', process.stderr],
  ['error', 'ERROR', process.stderr],
]) {
  const orig = console[name].bind(console);
  console[name] = (...args) => {
    const rid = current.getStore();
    if (rid === undefined) return orig(...args);
    stream.write(logLine(rid, level, args));
  };
}

function makeLogger(rid) {
  const write = (level, stream) => (...args) => stream.write(logLine(rid, level, args));
  return {
    debug: write('DEBUG', process.stdout),
    info: write('INFO', process.stdout),
    log: write('INFO', process.stdout),
    warn: write('WARN', process.stdout),
    error: write('ERROR', process.stdout),
  };
}

function int(v) {
  const n = parseInt(v, 10);
  return Number.isNaN(n) ? undefined : n;
}

function baggages(h) {
  const v = h['x-fc-tracing-opentracing-span-baggages'];
  if (v) {
    try {
      return JSON.parse(Buffer.from(v, 'base64').toString());
    } catch (e) {
      return {};
    }
  }
  const prefix = 'x-fc-tracing-opentracing-span-context-baggage-';
  const out = {};
  for (const k of Object.keys(h)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = h[k];
  return out;
}

// makeContext builds FC's Node.js context object from the x-fc-* headers.
function makeContext(h) {
  const rid = h['x-fc-request-id'] || '';
  return {
    requestId: rid,
    credentials: {
      accessKeyId: h['x-fc-access-key-id'] || '',
      accessKeySecret: h['x-fc-access-key-secret'] || '',
      securityToken: h['x-fc-security-token'] || '',
    },
    function: {
      name: h['x-fc-function-name'] || '',
      handler: h['x-fc-function-handler'] || '',
      memory: int(h['x-fc-function-memory']),
      timeout: int(h['x-fc-function-timeout']),
      initializer: h['x-fc-function-initializer'] || '',
      initializationTimeout: int(h['x-fc-initialization-timeout']),
    },
    service: {
      name: h['x-fc-service-name'] || '',
      logProject: h['x-fc-service-logproject'] || '',
      logStore: h['x-fc-service-logstore'] || '',
      qualifier: h['x-fc-qualifier'] || '',
      versionId: h['x-fc-version-id'] || '',
    },
    region: h['x-fc-region'] || '',
    accountId: h['x-fc-account-id'] || '',
    retryCount: int(h['x-fc-retry-count']) || 0,
    tracing: {
      openTracingSpanContext: h['x-fc-tracing-opentracing-span-context'] || '',
      openTracingSpanBaggages: baggages(h),
      jaegerEndpoint: h['x-fc-tracing-jaeger-endpoint'] || '',
    },
    logger: makeLogger(rid),
  };
}

const handlers = new Map();
let chdirDone = false;

function load(spec) {
  let fn = handlers.get(spec);
  if (fn) return fn;
  if (!chdirDone) {
    chdirDone = true;
    try {
      process.chdir(codeDir);
    } catch (e) {
      // A missing code folder shows in the require below.
    }
  }
  const i = spec.lastIndexOf('.');
  if (i <= 0 || i === spec.length - 1) {
    throw Object.assign(new Error(`invalid handler "${spec}": want file.export`), { name: 'HandlerNotFound' });
  }
  const mod = require(path.resolve(codeDir, spec.slice(0, i)));
  fn = mod[spec.slice(i + 1)];
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`handler "${spec.slice(i + 1)}" is not a function exported by ${spec.slice(0, i)}`), {
      name: 'HandlerNotFound',
    });
  }
  handlers.set(spec, fn);
  return fn;
}

// call runs a user function that may take a callback as its last argument
// or return a promise, and resolves to {value} or {err, handled}.
function call(fn, args, waitCallback) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    const callback = (err, value) => finish(err != null ? { err, handled: true } : { value });
    let ret;
    try {
      ret = fn(...args, callback);
    } catch (err) {
      finish({ err, handled: false });
      return;
    }
    if (ret && typeof ret.then === 'function') {
      ret.then(
        (value) => finish({ value }),
        (err) => finish({ err: err == null ? new Error('promise rejected') : err, handled: false }),
      );
    } else if (waitCallback && fn.length <= args.length) {
      // A function without a callback parameter returns its result.
      finish({ value: ret });
    }
  });
}

const ownFile = __filename;

function errorBody(err) {
  if (typeof err !== 'object' || err === null) return { errorMessage: String(err) };
  const body = { errorMessage: err.message !== undefined ? String(err.message) : JSON.stringify(err) };
  if (err instanceof Error) {
    body.errorType = err.name || (err.constructor && err.constructor.name) || 'Error';
    if (typeof err.stack === 'string') {
      body.stackTrace = err.stack.split('\n').filter((l) => !l.includes(ownFile));
    }
  } else if (typeof err.name === 'string') {
    body.errorType = err.name;
  }
  return body;
}

function errorResponse(rid, err, handled) {
  const body = errorBody(err);
  const text = body.stackTrace ? body.stackTrace.join('\n') : `${body.errorType || 'Error'}: ${body.errorMessage}`;
  process.stdout.write(logLine(rid, 'ERROR', [text]));
  return {
    status: 404,
    headers: {
      'content-type': 'application/json',
      'x-fc-status': '404',
      'x-fc-error-type': handled ? 'HandledInvocationError' : 'UnhandledInvocationError',
    },
    body: Buffer.from(JSON.stringify(body)),
  };
}

function toBuffer(v) {
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(JSON.stringify(v));
}

function handlerName(h) {
  return h['x-fc-function-handler'] || process.env.FC_FUNCTION_HANDLER || 'index.handler';
}

async function invoke(h, body) {
  const rid = h['x-fc-request-id'] || '';
  marker(`FC Invoke Start RequestId: ${rid}`);
  let resp;
  try {
    resp = await current.run(rid, async () => {
      const ctx = makeContext(h);
      let fn;
      try {
        fn = load(handlerName(h));
      } catch (err) {
        return errorResponse(rid, err, false);
      }
      if (h['x-fc-http-params'] !== undefined) return httpInvoke(h, body, ctx, fn);
      const r = await call(fn, [body, ctx], true);
      if (r.err !== undefined) return errorResponse(rid, r.err, r.handled);
      return { status: 200, headers: {}, body: toBuffer(r.value) };
    });
  } finally {
    marker(`FC Invoke End RequestId: ${rid}`);
  }
  return resp;
}

// Response is the resp object of an HTTP handler (spec §4.2).
class Response {
  constructor(finish) {
    this._finish = finish;
    this._status = 200;
    this._headers = new Map(); // lower-case name -> [name, [values]]
    this._sent = false;
  }
  setStatusCode(code) {
    if (!Number.isInteger(code)) throw new TypeError(`status code must be an integer, got ${code}`);
    this._status = code;
  }
  setHeader(name, value) {
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    this._headers.set(String(name).toLowerCase(), [String(name), values]);
  }
  getHeader(name) {
    const e = this._headers.get(String(name).toLowerCase());
    return e && (e[1].length === 1 ? e[1][0] : e[1]);
  }
  hasHeader(name) {
    return this._headers.has(String(name).toLowerCase());
  }
  deleteHeader(name) {
    this._headers.delete(String(name).toLowerCase());
  }
  send(body) {
    if (this._sent) throw new Error('resp.send was called twice');
    this._sent = true;
    if (body instanceof Readable) {
      const chunks = [];
      body.on('data', (c) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
      body.on('end', () => this._finish({ value: this._result(Buffer.concat(chunks)) }));
      body.on('error', (err) => this._finish({ err, handled: false }));
      return;
    }
    this._finish({ value: this._result(toBuffer(body)) });
  }
  _result(body) {
    const headersMap = {};
    for (const [name, values] of this._headers.values()) headersMap[name] = values;
    const params = Buffer.from(JSON.stringify({ status: this._status, headersMap })).toString('base64');
    return { status: 200, headers: { 'x-fc-http-params': params }, body };
  }
}

function httpInvoke(h, body, ctx, fn) {
  const rid = ctx.requestId;
  let params;
  try {
    params = JSON.parse(Buffer.from(h['x-fc-http-params'], 'base64').toString());
  } catch (err) {
    return errorResponse(rid, err, false);
  }
  const req = new PassThrough();
  req.end(body);
  const headers = {};
  for (const [k, vs] of Object.entries(params.headersMap || {})) {
    const values = Array.isArray(vs) ? vs : [String(vs)];
    headers[k.toLowerCase()] = k.toLowerCase() === 'set-cookie' ? values : values.join(', ');
  }
  const queries = {};
  for (const [k, vs] of Object.entries(params.queriesMap || {})) {
    queries[k] = Array.isArray(vs) && vs.length === 1 ? vs[0] : vs;
  }
  Object.assign(req, {
    headers,
    path: params.path || '/',
    queries,
    method: params.method || 'GET',
    clientIP: params.clientIP || '',
    url: params.requestURI || params.path || '/',
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      resolve(r.err !== undefined ? errorResponse(rid, r.err, r.handled) : r.value);
    };
    const resp = new Response(finish);
    // An HTTP handler ends with resp.send; a throw or a rejected promise
    // before that is an unhandled error.
    call(fn, [req, resp, ctx], false).then((r) => {
      if (r.err !== undefined) finish(r);
    });
  });
}

let initialized = null; // the promise of the one initializer run

function lifecycle(label, spec, h) {
  const rid = h['x-fc-request-id'] || '';
  marker(`FC ${label} Start RequestId: ${rid}`);
  return current
    .run(rid, async () => {
      const ctx = makeContext(h);
      let fn;
      try {
        fn = load(spec);
      } catch (err) {
        return errorResponse(rid, err, false);
      }
      const r = await call(fn, [ctx], true);
      if (r.err !== undefined) return errorResponse(rid, r.err, r.handled);
      return { status: 200, headers: {}, body: Buffer.alloc(0) };
    })
    .finally(() => marker(`FC ${label} End RequestId: ${rid}`));
}

const empty = { status: 200, headers: {}, body: Buffer.alloc(0) };

async function initialize(h) {
  const spec = h['x-fc-function-initializer'];
  if (!spec) return empty;
  // The initializer runs once per instance, even if the platform repeats
  // the call: later calls get the first run's result if it succeeded.
  if (initialized) {
    const r = await initialized;
    if (r.status === 200) return empty;
  }
  initialized = lifecycle('Initialize', spec, h);
  return initialized;
}

// specialize turns a pre-started generic instance into one function's
// instance: the body holds the function's environment as NUL-separated
// KEY=VALUE items.
function specialize(body) {
  for (const item of body.toString('utf8').split('\0')) {
    const i = item.indexOf('=');
    if (i > 0) process.env[item.slice(0, i)] = item.slice(i + 1);
  }
  return empty;
}

function dispatch(req, body) {
  const h = req.headers;
  const p = req.url.split('?', 1)[0];
  if (p === '/specialize' && req.method === 'POST') return specialize(body);
  if (p === '/invoke' && req.method === 'POST') return invoke(h, body);
  if (p === '/initialize' && req.method === 'POST') return initialize(h);
  if (p === '/pre-stop' && req.method === 'GET') {
    const spec = h['x-fc-instance-lifecycle-pre-stop-handler'];
    return spec ? lifecycle('PreStop', spec, h) : empty;
  }
  if (p === '/pre-freeze' && req.method === 'GET') {
    const spec = h['x-fc-instance-lifecycle-pre-freeze-handler'];
    return spec ? lifecycle('PreFreeze', spec, h) : empty;
  }
  return {
    status: 404,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ errorMessage: `${req.method} ${p} is not supported` })),
  };
}

function serve(sockPath, port) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let r;
      try {
        r = await dispatch(req, Buffer.concat(chunks));
      } catch (err) {
        r = errorResponse(req.headers['x-fc-request-id'] || '', err, false);
      }
      res.writeHead(r.status, { ...r.headers, 'content-length': r.body.length });
      res.end(r.body);
    });
  });
  // Invocations may run for hours and the platform keeps idle connections:
  // no server-side timeouts (the platform enforces the function's timeout).
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  server.timeout = 0;
  if (sockPath) {
    // Listen on a temporary name and rename once listening: the socket path
    // appears only when connections are accepted.
    const tmp = sockPath + '.tmp';
    for (const p of [tmp, sockPath]) {
      try {
        fs.unlinkSync(p);
      } catch (e) {
        // absent
      }
    }
    server.listen(tmp, () => fs.renameSync(tmp, sockPath));
  } else {
    server.listen(port, '0.0.0.0');
  }
  return server;
}

module.exports = { serve };

if (require.main === module) {
  serve(process.env.FC_SERVER_SOCKET, parseInt(process.env.FC_SERVER_PORT, 10) || 9000);
}
