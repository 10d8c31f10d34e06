/**
 * Issue 10 item 1, web's share: raw HTTP requests (net sockets, no client library to tidy
 * them up) against the real built web server: malformed request lines, bad percent-encodings,
 * `//`, absolute-form targets like `http://[/x`, odd headers and cookies, NUL bytes. None may
 * get a 5xx; afterwards the process is still up and the home page still answers 200.
 * Bounded: a fixed corpus plus a fixed number of fast-check runs, each with a socket timeout.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.ts';

let stack: Stack;
let port = 0;

beforeAll(async () => {
  // Generous limits: this test is about malformed input, not about throttling.
  stack = await startStack({
    webEnv: { RATE_LIMIT_JOIN_PER_MINUTE: '0', RATE_LIMIT_AUTH_PER_MINUTE: '0' },
  });
  port = Number(new URL(stack.webUrl).port);
}, 240_000);

afterAll(async () => {
  await stack?.close();
}, 60_000);

/**
 * Sends raw bytes, returns the status code of the first response (null when the server closed
 * the connection without one, which is how Node refuses some malformed requests).
 */
function raw(bytes: Buffer | string): Promise<number | null> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : null);
    };
    sock.setTimeout(5000, done);
    sock.on('data', (b) => {
      got += b.toString('latin1');
      if (/^HTTP\/1\.[01] \d{3}/.test(got)) done();
    });
    sock.on('error', done);
    sock.on('close', done);
    sock.write(bytes);
  });
}

const request = (line: string, headers: string[] = [], body = ''): Buffer =>
  Buffer.concat([
    Buffer.from(
      [
        line,
        `Host: 127.0.0.1:${port}`,
        'Connection: close',
        ...headers,
        ...(body ? [`Content-Length: ${Buffer.byteLength(body, 'latin1')}`] : []),
        '',
        '',
      ].join('\r\n'),
      'latin1',
    ),
    Buffer.from(body, 'latin1'),
  ]);

const TARGETS = [
  '/',
  '//',
  '///',
  '//evil.example/x',
  'http://[/x',
  'http://[::1/x',
  'http://127.0.0.1/',
  'http://evil.example/',
  '*',
  '/%E0',
  '/%',
  '/%zz',
  '/%00',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/rooms/%E0',
  '/rooms/%E0/finalise',
  '/rooms/%E0/token',
  '/rooms/r_x/invite',
  '/join/%E0',
  '/join/%00',
  '/join/AAAAAA/%E0',
  '/join?code=%E0',
  '/join?code=%00',
  '/login?redirect=%E0',
  '/login?redirect=/%09/evil.example',
  '/api/catalog/products?q=%E0&size=-1',
  '/api/catalog/products/%E0',
  '/api/stores/%E0/stock',
  '/api/stock/stream?stores=%00',
  '/api/stock/stream?stores=a,,b',
  '/staff/%E0',
  '/staff/%E0/orders',
  '/lang',
  '/healthz?%E0',
  '/_app/immutable/%E0',
  '/_app/../../package.json',
  '/\\evil.example',
  '/?' + 'a'.repeat(4000),
  '/' + 'x/'.repeat(500),
];
const METHODS = ['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'];
const ODD_HEADERS = [
  'Cookie: patungan_session=%E0',
  'Cookie: patungan_session=' + 'x'.repeat(5000),
  'Cookie: patungan_lang=en; patungan_session=; =; ;;',
  'Cookie: patungan_session="unterminated',
  'Origin: null',
  'Origin: http://[/x',
  'Content-Type: application/x-www-form-urlencoded',
  'Content-Type: multipart/form-data; boundary=',
  'Content-Type: multipart/form-data',
  'Content-Type: text/plain',
  'Accept: */*',
  'Accept-Language: %E0',
  'X-Forwarded-For: ::::',
  'Range: bytes=99999999-',
  'If-None-Match: "\u00ff"',
];

describe('raw HTTP against the built web server', () => {
  it('a corpus of malformed requests: never a 5xx, the server stays up', async () => {
    const bad: string[] = [];
    const check = async (what: string, bytes: Buffer | string) => {
      const status = await raw(bytes);
      if (status !== null && status >= 500) bad.push(`${status} ${what}`);
    };
    for (const target of TARGETS) {
      for (const method of ['GET', 'POST']) {
        const body = method === 'POST' ? 'email=a%00b&password=x%E0&name=%00&redirect=//e' : '';
        await check(`${method} ${target}`, request(`${method} ${target} HTTP/1.1`, [], body));
        await check(
          `${method} ${target} (form, origin)`,
          request(
            `${method} ${target} HTTP/1.1`,
            ['Content-Type: application/x-www-form-urlencoded', `Origin: http://127.0.0.1:${port}`],
            body,
          ),
        );
      }
    }
    for (const h of ODD_HEADERS) {
      for (const target of ['/', '/login', '/rooms/r_x', '/join/AAAAAA']) {
        await check(`GET ${target} ${h}`, request(`GET ${target} HTTP/1.1`, [h]));
        await check(`POST ${target} ${h}`, request(`POST ${target} HTTP/1.1`, [h], 'a=%00'));
      }
    }
    // Broken request lines and raw bytes the parser has to refuse.
    for (const bytes of [
      'GET\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      '\0\0\0\0\r\n\r\n',
      'GET http://[/x HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET // HTTP/1.1\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET / HTTP/1.1\r\nHost: [/x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: \r\n\r\n',
    ]) {
      await check(JSON.stringify(bytes), bytes);
    }
    expect(bad).toEqual([]);
    expect((await fetch(stack.webUrl)).status).toBe(200);
  }, 180_000);

  it('fast-check: random targets, methods, headers and bodies never get a 5xx', async () => {
    const segment = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_.~-]{0,12}$/),
      fc.constantFrom(
        '%E0',
        '%',
        '%zz',
        '%00',
        '%2f',
        '%2F%2F',
        '%5c',
        '..',
        '.',
        '',
        '%C0%AF',
        '%FF',
      ),
      fc.string({ unit: 'binary-ascii', maxLength: 6 }).map(encodeURIComponent),
    );
    const path = fc.array(segment, { maxLength: 5 }).map((s) => '/' + s.join('/'));
    const target = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .tuple(fc.constantFrom(...TARGETS, '/rooms', '/join', '/staff'), path)
          .map(([a, b]) => (a === '/' ? b : a + b)),
      },
      { weight: 2, arbitrary: fc.constantFrom(...TARGETS) },
      { weight: 1, arbitrary: path.map((p) => `${p}?redirect=${p}&code=${p}`) },
    );
    const header = fc.oneof(
      fc.constantFrom(...ODD_HEADERS),
      fc
        .tuple(
          fc.constantFrom(
            'Cookie',
            'X-Forwarded-For',
            'Origin',
            'Accept',
            'Content-Type',
            'Referer',
          ),
          fc.string({ unit: 'binary-ascii', maxLength: 40 }),
        )
        // Header values the HTTP parser can carry (no CR/LF: those would be other headers)
        .map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}`),
    );
    const body = fc.oneof(
      fc.constant(''),
      fc.string({ unit: 'binary-ascii', maxLength: 200 }),
      fc.constantFrom('email=a%00b&password=x', 'name=%00', 'locale=en&redirect=/%5cevil.example'),
    );
    const bad: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...METHODS),
        target,
        fc.array(header, { maxLength: 3 }),
        body,
        async (method, t, headers, b) => {
          const status = await raw(
            request(
              `${method} ${t} HTTP/1.1`,
              headers,
              method === 'GET' || method === 'HEAD' ? '' : b,
            ),
          );
          if (status !== null && status >= 500)
            bad.push(`${status} ${method} ${t} ${JSON.stringify(headers)}`);
          return status === null || status < 500;
        },
      ),
      { numRuns: 300, seed: 20261205 },
    );
    expect(bad).toEqual([]);
    expect((await fetch(stack.webUrl)).status).toBe(200);
  }, 180_000);
});
