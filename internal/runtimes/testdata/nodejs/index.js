// Handlers used by the runtimes package tests.
let counter = 0;
const waiting = [];

exports.initializer = (context, callback) => {
  counter++;
  callback(null, '');
};

exports.echo = (event, context, callback) => callback(null, 'echo:' + event.toString());

exports.count = (event, context, callback) => callback(null, counter);

exports.retBuffer = (event, context, callback) => callback(null, Buffer.from([0, 255]));

exports.retObject = (event, context, callback) => callback(null, { a: 1, b: 'x' });

exports.retUndefined = (event, context, callback) => callback(null);

exports.asyncEcho = async (event) => 'async:' + event.toString();

exports.syncReturn = (event, context) => 'returned';

exports.fail = () => {
  throw new TypeError('boom');
};

exports.reject = async () => {
  throw new RangeError('rejected');
};

exports.handled = (event, context, callback) => callback(new Error('nope'));

exports.handledString = (event, context, callback) => callback('plain failure');

exports.ctx = (event, c, callback) =>
  callback(
    null,
    [
      c.requestId, c.credentials.accessKeyId, c.credentials.accessKeySecret, c.credentials.securityToken,
      c.function.name, c.function.handler, c.function.memory, c.function.timeout, c.service.name,
      c.service.qualifier, c.service.versionId, c.region, c.accountId, c.retryCount,
      c.tracing.openTracingSpanContext, c.tracing.openTracingSpanBaggages.k,
    ].join('|'),
  );

exports.log = (event, context, callback) => {
  console.log('printed ' + event.toString());
  context.logger.info('logged ' + event.toString());
  context.logger.warn('warned ' + event.toString());
  callback(null, 'ok');
};

exports.wait = async (event) => {
  // Both requests are in flight before either writes.
  await new Promise((resolve) => {
    waiting.push(resolve);
    if (waiting.length === 2) waiting.splice(0).forEach((r) => r());
  });
  console.log('line ' + event.toString());
  return 'ok';
};

exports.http = (req, resp, context) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    resp.setStatusCode(201);
    resp.setHeader('Content-Type', 'text/plain');
    resp.setHeader('X-Reply', 'yes');
    resp.setHeader('Set-Cookie', ['a=1', 'b=2']);
    resp.setHeader('X-Deleted', 'no');
    resp.deleteHeader('x-deleted');
    const q = Object.entries(req.queries).map(([k, v]) => k + '=' + v).join('&');
    resp.send([req.method, req.path, q, req.headers['x-custom'] || '', Buffer.concat(chunks).toString(), context.requestId].join(' '));
  });
};

exports.preStop = (context, callback) => {
  console.log('stopping ' + context.requestId);
  callback();
};
