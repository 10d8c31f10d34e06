/**
 * Fuzz over raw HTTP to a real settlement server: malformed request lines, bad
 * percent-encodings, odd headers, bodies that are not what they claim. Every answer is a
 * 2xx–4xx (never a 5xx), the process stays up, and normal requests work afterwards.
 * Bounded: 300 runs (at most 60 s), 5 s per request, 127.0.0.1 only. The reported
 * requests and the pay page's odd bodies are checked one by one first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rawRequest } from './support/raw-http.ts';
import { serviceFor } from './support/service.ts';

/** Paths reported or likely to trip a parser, plus every route's shape. */
const CORPUS = [
  '/%E0',
  '//',
  '/products/%E0',
  'http://[/x',
  'http://[::1/x',
  'http://x/%E0',
  'http://127.0.0.1:1/products',
  '*',
  '/%',
  '/%%',
  '/%zz',
  '/%C0%AF',
  '/%ED%A0%80',
  '/..%2F..%2Fetc%2Fpasswd',
  '/./products',
  '/products/%',
  '/products/%E0%80',
  '/products?q=%E0&page=%&size=-1',
  '/products?q[]=1&q[]=2&minPrice=1e309',
  '/stores?lat=NaN&lng=Infinity&skus=%E0:%',
  '/stores/%E0',
  '/stores/%E0/stock',
  '/stores/%E0/stock/stream',
  '/stores/jkt-menteng/stock/%E0',
  '/stores/jkt-menteng/orders?status=%',
  '/stores/jkt-menteng/orders/pickup/%E0',
  '/settlements/%E0',
  '/settlements/%E0/cancel',
  '/settlements/x/payments/%E0/retry',
  '/settlements/x/payments/%/cover',
  '/orders/%E0/status',
  '/pay/%E0',
  '/pay/%',
  '/webhooks/stripe',
  '/webhooks/midtrans',
  '/rooms/%E0/finalise',
  '/healthz?%E0',
  '/metrics/%',
];

const segment = fc.oneof(
  fc.constantFrom('%E0', '%', '%00', '%FF%FE', '..', '', '%2F', 'x'.repeat(300), 'ü', '%25'),
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
  fc.string({ unit: 'binary-ascii', maxLength: 8 }).filter((s) => !/[\s\r\n]/.test(s)),
);
const templated = fc
  .tuple(
    fc.constantFrom(
      '/products/*',
      '/stores/*',
      '/stores/*/stock',
      '/stores/*/stock/*',
      '/stores/jkt-menteng/orders/pickup/*',
      '/settlements/*',
      '/settlements/*/cancel',
      '/settlements/*/payments/*/retry',
      '/settlements/*/payments/*/cover',
      '/orders/*',
      '/orders/*/status',
      '/pay/*',
      '/*',
    ),
    fc.array(segment, { minLength: 2, maxLength: 2 }),
    fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  )
  .map(([t, [a, b], q]) => {
    const path = t.replace('*', a!).replace('*', b!);
    return q === undefined ? path : `${path}?${q.replace(/[\s#]/g, '')}`;
  });

const target = fc.oneof(fc.constantFrom(...CORPUS), templated);
// mostly well-formed request lines, so that most requests reach the routes
const method = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'OPTIONS', 'HEAD', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('PATCH', 'BREW', 'G T', 'get', '') },
);
const version = fc.oneof(
  { weight: 10, arbitrary: fc.constant('HTTP/1.1') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', '', 'HTTP/9') },
);
const header = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'Content-Type: application/json',
      'Content-Type: text/plain',
      'Content-Type: multipart/form-data',
      'Content-Type: multipart/form-data; boundary=zz',
      'Content-Type: multipart/form-data; boundary=',
      'Content-Type: application/x-www-form-urlencoded',
      'Content-Type: application/json; charset=utf-16',
      'Content-Type: ',
      'Content-Encoding: gzip',
      'Accept: application/json',
      'Accept: */*;q=abc',
      'Authorization: Bearer',
      'Authorization: Bearer x.y.z',
      'Authorization: Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoic2VydmljZSJ9.',
      'Authorization: Basic Og==',
      'Idempotency-Key: ',
      'Idempotency-Key: ' + 'k'.repeat(300),
      'Stripe-Signature: t=1,v1=00',
      'Origin: null',
      'X-Forwarded-For: %E0',
      'Expect: 100-continue',
      'Host: [',
      'Host: ',
      'Host: a b',
      'Connection: upgrade',
      'Upgrade: websocket',
      'Range: bytes=99999999-',
      'Te: trailers',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), fc.string({ maxLength: 30 }))
      .map(([k, v]) => `${k}: ${v}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/),
        fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((v) => v.replace(/[\r\n]/g, '')),
      )
      .map(([k, v]) => `${k}: ${v}`),
  },
);
const body = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '{',
    '{"action":',
    'null',
    '[]',
    '"x"',
    '1e999',
    '{"action":"authorize\\u0000"}',
    '{"onHand":1e400}',
    '{"__proto__":{"x":1},"action":"decline"}',
    '{"method":"stripe","reason":"\\ud800"}',
    'action=%E0&x=%',
    'action=authorize&action=decline',
    '--zz\r\nContent-Disposition: form-data; name="action"\r\n\r\nauthorize\r\n--zz--\r\n',
    '--zz\r\nContent-Disposition: form-data\r\n\r\n',
    '\u0000\u0000\u0000',
  ),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')),
);

const request = fc
  .record({
    method,
    target,
    version,
    headers: fc.array(header, { maxLength: 4 }),
    host: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
    body,
    chunked: fc.boolean(),
  })
  .map((r) => {
    const bodyBytes = Buffer.from(r.body, 'latin1');
    const lines = [`${r.method} ${r.target}${r.version ? ` ${r.version}` : ''}`];
    if (r.host) lines.push('Host: 127.0.0.1');
    lines.push(...r.headers);
    let payload = bodyBytes;
    if (bodyBytes.length && r.chunked) {
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([
        Buffer.from(`${bodyBytes.length.toString(16)}\r\n`),
        bodyBytes,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
    } else if (bodyBytes.length) lines.push(`Content-Length: ${bodyBytes.length}`);
    // a latin1 string, so that a counterexample prints readably
    return lines.join('\r\n') + '\r\n\r\n' + payload.toString('latin1');
  });

describe('fuzzing settlement over raw HTTP', () => {
  const s = serviceFor('pglite');

  const get = (path: string) =>
    rawRequest(s.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

  it('answers each reported request with a 4xx', async () => {
    for (const t of ['/%E0', '//', '/products/%E0', 'http://[/x', '/rooms/%E0/finalise']) {
      for (const m of ['GET', 'POST']) {
        const a = await rawRequest(s.port, `${m} ${t} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        expect({ t, m, status: a.status >= 400 && a.status < 500 }).toEqual({ t, m, status: true });
      }
    }
  });

  it('answers odd bodies and content types on the pay page with a 4xx', async () => {
    const bodies: [string, string][] = [
      ['multipart/form-data', '0123456789'],
      ['multipart/form-data; boundary=zz', '0123456789'],
      ['multipart/form-data; boundary=zz', '--zz\r\nContent-Disposition: form-data\r\n\r\n'],
      ['multipart/form-data; boundary=', '--\r\n'],
      ['application/x-www-form-urlencoded', 'action=%E0%'],
      ['application/x-www-form-urlencoded', 'action=%00'],
      ['application/json', '{"action":"authorize"'],
      ['application/json', '\u0000\u0000'],
      ['text/plain', 'action=authorize'],
      ['application/json; charset=utf-16', '\xff\xfe{\x00}\x00'],
    ];
    const answers = [];
    for (const [type, b] of bodies) {
      const bytes = Buffer.from(b, 'latin1');
      const a = await rawRequest(
        s.port,
        Buffer.concat([
          Buffer.from(
            `POST /pay/pay_unknown HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\n` +
              `Content-Length: ${bytes.length}\r\n\r\n`,
          ),
          bytes,
        ]),
      );
      answers.push({ type, b, is4xx: a.status >= 400 && a.status < 500 });
    }
    expect(answers).toEqual(bodies.map(([type, b]) => ({ type, b, is4xx: true })));
  });

  it('never answers 5xx to malformed requests, and keeps serving', async () => {
    const seen: number[] = [];
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const a = await rawRequest(s.port, Buffer.from(req, 'latin1'), { timeoutMs: 5000 });
        seen.push(a.status);
        // 0: the server closed without an answer is not acceptable either
        return a.status >= 100 && a.status < 500;
      }),
      { numRuns: 300, interruptAfterTimeLimit: 60_000 },
    );
    expect(seen.some((x) => x >= 400)).toBe(true);
    expect((await get('/healthz')).status).toBe(200);
    const products = await get('/products?q=air');
    expect(products.status).toBe(200);
  }, 90_000);
});
