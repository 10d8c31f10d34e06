/**
 * Request body limits: settlement used to read any body whole (14 × 300 MB → 4.9 GB RSS).
 * Every route now has a limit (MAX_BODY_BYTES, 64 KiB; the cart snapshot and provider
 * webhooks MAX_LARGE_BODY_BYTES, 1 MiB) and answers `413 payload_too_large` as soon as it
 * knows — from Content-Length, or while a chunked body streams in — without reading the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './support/raw-http.ts';
import { setStock, snapshot, startTestService, type TestService } from './support/service.ts';

const STORE = 'jkt-menteng';
const TEN_MB = Buffer.alloc(10 * 1024 * 1024, 'a');

describe('request body limits', () => {
  let s: TestService;
  let service: string;
  let staff: string;

  beforeAll(async () => {
    s = await startTestService('pglite', { holdTtlSeconds: 120 });
    service = await s.token('service', 'room-server');
    staff = await s.token('staff', 'staff-1', STORE);
    await setStock(s, STORE, 'MIN-0001', 500);
  });
  afterAll(async () => s?.stop());

  const head = (method: string, path: string, headers: Record<string, string | number>) =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;

  it('a 10 MB body with Content-Length gets 413 before the body is sent', async () => {
    const a = await rawRequest(
      s.port,
      head('POST', '/pay/pay_whatever', {
        'content-type': 'application/json',
        'content-length': TEN_MB.length,
      }),
      { body: TEN_MB, pauseMs: 1 },
    );
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body).error.code).toBe('payload_too_large');
    expect(a.sentBeforeAnswer).toBeLessThan(TEN_MB.length);
  });

  it('a 10 MB chunked body (no Content-Length) gets 413 while it streams in', async () => {
    const a = await rawRequest(
      s.port,
      head('PUT', `/stores/${STORE}/stock/MIN-0001`, {
        authorization: `Bearer ${staff}`,
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
      }),
      { body: TEN_MB, chunked: true, pauseMs: 1 },
    );
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body).error.code).toBe('payload_too_large');
    expect(a.sentBeforeAnswer).toBeLessThan(TEN_MB.length);
  });

  it('every JSON route refuses a body past 64 KiB, whatever the route does with it', async () => {
    const big = JSON.stringify({ reason: 'x'.repeat(64 * 1024) });
    const routes: [string, string, string?][] = [
      ['PUT', `/stores/${STORE}/stock/MIN-0001`, staff],
      ['POST', '/settlements/stl_x/cancel', service],
      ['POST', '/settlements/stl_x/payments/ana/retry', service],
      ['POST', '/settlements/stl_x/payments/ana/cover', service],
      ['POST', '/orders/ord_x/status', staff],
      ['POST', '/pay/pay_x'],
      ['POST', '/products'],
    ];
    const statuses = [];
    for (const [method, path, token] of routes) {
      const r = await s.request(method, path, { body: big, ...(token ? { token } : {}) });
      statuses.push({ route: `${method} ${path}`, status: r.status, code: r.body?.error?.code });
    }
    expect(statuses).toEqual(
      routes.map(([m, p]) => ({ route: `${m} ${p}`, status: 413, code: 'payload_too_large' })),
    );
    // a form post to the pay page too
    const form = await rawRequest(
      s.port,
      head('POST', '/pay/pay_x', {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': 70_000,
      }) + 'action=authorize&x='.padEnd(70_000, 'x'),
    );
    expect(form.status).toBe(413);
  });

  it('the cart snapshot and webhooks may be larger (up to 1 MiB), and no more', async () => {
    const snap = snapshot({ storeId: STORE });
    // a cart with long notes: about 200 KB, well past 64 KiB
    const lines = Array.from({ length: 100 }, (_, i) => ({
      id: `l${i}`,
      sku: 'MIN-0001',
      qty: 1,
      addedBy: 'ana',
      note: 'n'.repeat(1900),
    }));
    const big = { ...snap, lines };
    expect(JSON.stringify(big).length).toBeGreaterThan(150_000);
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: big,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(r.status).toBe(201);
    // webhooks: not enabled here (404), but not refused for their size
    const hook = await s.request('POST', '/webhooks/stripe', { body: 'x'.repeat(500_000) });
    expect(hook.status).toBe(404);
    const tooBig = await s.request('POST', '/webhooks/stripe', { body: 'x'.repeat(1_100_000) });
    expect(tooBig.status).toBe(413);
  });

  it('keeps serving after the refusals', async () => {
    // fresh connections: the refused uploads' connections are closed once drained
    for (const path of ['/healthz', '/products'])
      expect((await rawRequest(s.port, head('GET', path, {}))).status).toBe(200);
  });
});

describe('MAX_BODY_BYTES', () => {
  it('sets the default limit', async () => {
    const s = await startTestService('pglite', { env: { MAX_BODY_BYTES: '100' } });
    try {
      const staff = await s.token('staff', 'staff-1', STORE);
      const ok = await s.request('PUT', `/stores/${STORE}/stock/MIN-0001`, {
        token: staff,
        body: { onHand: 7 },
      });
      expect(ok.status).toBe(200);
      const big = await s.request('PUT', `/stores/${STORE}/stock/MIN-0001`, {
        token: staff,
        body: { onHand: 7, pad: 'x'.repeat(100) },
      });
      expect(big.status).toBe(413);
      expect(big.body.error.message).toMatch(/100 bytes/);
    } finally {
      await s.stop();
    }
  });
});
