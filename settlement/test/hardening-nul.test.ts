/**
 * NUL characters: PostgreSQL `text` cannot hold U+0000, so a `%00` in a path or query, or a
 * `"\u0000"` in a JSON string, used to reach the database and answer 500. Every route that
 * takes a string refuses it with `400 invalid_request` naming the problem, on both drivers,
 * and the service keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { midtransSignature } from '../src/providers/midtrans.ts';
import { DRIVERS } from './support/db.ts';
import { setStock, snapshot, startTestService, type TestService } from './support/service.ts';

const STORE = 'jkt-menteng';
const MIDTRANS_KEY = 'SB-Mid-server-nul-test';
const NUL = '\u0000';

describe.each(DRIVERS)('NUL characters are refused with 400 (%s)', (driver) => {
  let s: TestService;
  let service: string;
  let staff: string;
  let member: string;
  let settlementId: string;
  let paymentId: string;

  beforeAll(async () => {
    // Midtrans enabled only so that its webhook route is reachable (no call goes out: the
    // refused notifications never get past validation).
    s = await startTestService(driver, {
      holdTtlSeconds: 120,
      midtrans: { serverKey: MIDTRANS_KEY, isProduction: false },
    });
    service = await s.token('service', 'room-server');
    staff = await s.token('staff', 'staff-1', STORE);
    await setStock(s, STORE, 'MIN-0001', 50);
    const snap = snapshot({ storeId: STORE });
    member = await s.token('member', 'budi', snap.roomId);
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(r.status).toBe(201);
    settlementId = r.body.id;
    paymentId = r.body.payments[0].paymentId;
  });
  afterAll(async () => s?.stop());

  /** Every answer, so that a failure lists every route that still lets a NUL through. */
  function answers(results: { what: string; r: { status: number; body: unknown } }[]) {
    return results.map(({ what, r }) => {
      const e = (r.body as { error?: { code?: string; message?: string } }).error;
      return { what, status: r.status, code: e?.code, namesNul: /NUL/.test(e?.message ?? '') };
    });
  }
  const refused = (what: string) => ({
    what,
    status: 400,
    code: 'invalid_request',
    namesNul: true,
  });

  it('in a path segment or query parameter of every route', async () => {
    const o = { token: service };
    const cases: [string, string, { token?: string; body?: unknown }?][] = [
      ['GET', '/products?q=a%00b'],
      ['GET', '/products?category=%00'],
      ['GET', '/products/MIN-0001%00'],
      ['GET', '/stores?skus=MIN-0001%00'],
      ['GET', '/stores/%00'],
      ['GET', '/stores/%00/stock'],
      ['GET', '/stores/%00/stock/stream'],
      ['PUT', `/stores/${STORE}/stock/%00`, { token: staff, body: { onHand: 1 } }],
      ['GET', `/stores/${STORE}/orders/pickup/AB%00`, { token: staff }],
      ['GET', '/orders/%00', { token: staff }],
      ['POST', '/orders/%00/status', { token: staff, body: { status: 'packed' } }],
      ['GET', '/settlements/%00', o],
      ['POST', '/settlements/%00/cancel', { token: service, body: {} }],
      [
        'POST',
        `/settlements/${settlementId}/payments/%00/retry`,
        { token: service, body: { method: 'local' } },
      ],
      ['POST', `/settlements/${settlementId}/payments/%00/cover`, { token: member, body: {} }],
      ['GET', '/pay/%00'],
      ['POST', '/pay/%00', { body: { action: 'decline' } }],
    ];
    const results = [];
    for (const [method, path, opts] of cases)
      results.push({ what: `${method} ${path}`, r: await s.request(method, path, opts) });
    expect(answers(results)).toEqual(results.map((x) => refused(x.what)));
  });

  it('in any string of a JSON body', async () => {
    const bad = (field: string, patch: (x: ReturnType<typeof snapshot>) => void) => {
      const snap = snapshot({ storeId: STORE });
      patch(snap);
      return [field, snap] as const;
    };
    const snapshots = [
      bad('cartVersion', (x) => (x.cartVersion = `v${NUL}`)),
      bad('storeId', (x) => (x.storeId = `${STORE}${NUL}`)),
      bad('organiser', (x) => {
        x.organiser = `ana${NUL}`;
        x.members[0]!.id = `ana${NUL}`;
      }),
      bad('members.name', (x) => (x.members[1]!.name = `Budi${NUL}`)),
      bad('lines.id', (x) => (x.lines[0]!.id = `l${NUL}`)),
      bad('lines.sku', (x) => (x.lines[0]!.sku = `MIN-0001${NUL}`)),
      bad('lines.note', (x) => Object.assign(x.lines[0]!, { note: `no ice${NUL}` })),
      bad('lines.sharedWith', (x) => Object.assign(x.lines[0]!, { sharedWith: [`budi${NUL}`] })),
      bad('split.shares', (x) => (x.split = { mode: 'shares', shares: { [`ana${NUL}`]: 1 } })),
    ];
    const results = [];
    for (const [field, snap] of snapshots) {
      const r = await s.request('POST', '/settlements', {
        token: service,
        body: snap,
        headers: { 'idempotency-key': `${snap.roomId}:nul-${field}` },
      });
      results.push({ what: `POST /settlements ${field}`, r });
    }
    results.push({
      what: 'cancel reason',
      r: await s.request('POST', `/settlements/${settlementId}/cancel`, {
        token: service,
        body: { reason: `changed my mind${NUL}` },
      }),
    });
    results.push({
      what: 'pay action',
      r: await s.request('POST', `/pay/${paymentId}`, { body: { action: `decline${NUL}` } }),
    });
    const n = {
      order_id: `att_x${NUL}`,
      status_code: '200',
      gross_amount: '10000.00',
      transaction_status: 'settlement',
    };
    results.push({
      what: 'midtrans order_id',
      r: await s.request('POST', '/webhooks/midtrans', {
        body: { ...n, signature_key: midtransSignature(n, MIDTRANS_KEY) },
      }),
    });
    expect(answers(results)).toEqual(results.map((x) => refused(x.what)));
  });

  it('keeps serving, and nothing was changed by the refused requests', async () => {
    expect((await s.request('GET', '/healthz')).status).toBe(200);
    expect((await s.request('GET', '/products?q=air')).body.total).toBeGreaterThan(0);
    const v = await s.request('GET', `/settlements/${settlementId}`, { token: service });
    expect(v.body.status).toBe('awaiting_payment');
    expect(v.body.payments.map((p: { status: string }) => p.status)).toEqual([
      'pending',
      'pending',
      'pending',
    ]);
  });
});
