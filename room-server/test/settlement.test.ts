/**
 * Finalise and settlement status against a small local HTTP server that answers like the
 * settlement API contract of docs/contracts.md (a stand-in for the settlement part in this unit test).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { describe, expect, onTestFinished, test } from 'vitest';
import { addLine, cartSnapshot, initRoom, setMeta, verifyToken } from '@patungan/model';
import type { RoomServer } from '../src/index.ts';
import { SECRET, client, startServer, token, waitFor } from './helpers.ts';

interface Seen {
  key: string | undefined;
  auth: string | undefined;
  body: Record<string, unknown>;
}

type Mode = 'ok' | 'short' | 'short-unnamed' | 'flaky' | 'down' | 'region-down' | 'ended';

async function standIn(mode: Mode) {
  const seen: Seen[] = [];
  /** Every GET the room-server made (the payment methods, and nothing to name a refusal). */
  const gets: string[] = [];
  const byKey = new Map<string, string>();
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET') gets.push(req.url ?? '');
      if (req.method !== 'POST' || req.url !== '/settlements')
        return send(404, { error: { code: 'not_found', message: 'nope' } });
      calls++;
      const key = req.headers['idempotency-key'] as string | undefined;
      seen.push({
        key,
        auth: req.headers.authorization,
        body: JSON.parse(raw) as Record<string, unknown>,
      });
      // the store's region database is down (settlement with REGION_DATABASE_URLS)
      if (mode === 'region-down') {
        return send(503, {
          error: {
            code: 'region_unavailable',
            message: 'The database of region jawa-barat cannot be reached; please retry',
            details: { region: 'jawa-barat' },
          },
        });
      }
      if (mode === 'down' || (mode === 'flaky' && calls <= 2))
        return send(503, { error: { code: 'unavailable', message: 'try later' } });
      // the first key's settlement ended before the room heard of it
      if (mode === 'ended' && key!.split(':').length === 2) {
        return send(409, {
          error: {
            code: 'settlement_ended',
            message: 'The settlement of this Idempotency-Key has ended (expired)',
            details: { settlementId: 's_old', status: 'expired' },
          },
        });
      }
      // settlement's refusal names the store and each short product (docs/contracts.md)
      if (mode === 'short') {
        return send(409, {
          error: {
            code: 'insufficient_stock',
            message: 'Toko Bandung cannot hold 5 × Teh Botol (3 left)',
            details: {
              storeId: 'toko-bdg',
              storeName: 'Toko Bandung',
              short: [{ sku: 'teh-botol', name: 'Teh Botol', wanted: 5, available: 3 }],
            },
          },
        });
      }
      // an older settlement's refusal: skus only
      if (mode === 'short-unnamed') {
        return send(409, {
          error: {
            code: 'insufficient_stock',
            message: 'not enough stock',
            details: { short: [{ sku: 'teh-botol', wanted: 5, available: 3 }] },
          },
        });
      }
      const body = JSON.parse(raw) as {
        members: { id: string; method: string }[];
        currency: string;
      };
      const id = byKey.get(key!) ?? `s_${byKey.size + 1}`;
      byKey.set(key!, id);
      send(201, {
        id,
        status: 'awaiting_payment',
        holdExpiresAt: '2030-01-01T00:15:00.000Z',
        total: 25000,
        payments: body.members.map((m, i) => ({
          memberId: m.id,
          paymentId: `p_${i}`,
          amount: 12500,
          currency: body.currency,
          method: m.method,
          status: 'pending',
          payUrl: `http://pay.example/p_${i}`,
        })),
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  return { url, seen, gets };
}

async function setup(mode: Mode) {
  const settlement = await standIn(mode);
  const server = await startServer({
    settlementUrl: settlement.url,
    settlement: { retryDelayMs: 10, timeoutMs: 2000 },
  });
  const org = await client(server, 'shop', await token('shop', 'alice', 'organiser'));
  initRoom(org.doc, { name: 'Shop', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
  setMeta(org.doc, 'storeId', 'toko-bdg');
  const bob = await client(server, 'shop', await token('shop', 'bob'));
  bob.doc.getMap('members').set('bob', { name: 'Bob', joinedAt: Date.now(), method: 'stripe' });
  addLine(bob.doc, { sku: 'teh-botol', qty: 5, addedBy: 'bob' });
  await waitFor(() => org.doc.getMap('lines').size === 1 && org.doc.getMap('members').size === 2);
  return { settlement, server, org, bob };
}

async function post(
  server: RoomServer,
  path: string,
  tok: string | null,
  body?: unknown,
  method = 'POST',
) {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(tok ? { authorization: `Bearer ${tok}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('finalise', () => {
  test('locks the room, sends the snapshot with a deterministic key and a service token, and writes the result', async () => {
    const { settlement, server, org, bob } = await setup('ok');
    const version = cartSnapshot(org.doc, 'shop').cartVersion;
    const res = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'alice', 'organiser'),
    );
    expect(res).toEqual({ status: 202, body: { settlementId: 's_1' } });
    expect(settlement.seen).toHaveLength(1);
    const [call] = settlement.seen;
    expect(call!.key).toBe(`shop:${version}`);
    const claims = await verifyToken(call!.auth!.replace('Bearer ', ''), SECRET);
    expect(claims.role).toBe('service');
    expect(call!.body).toMatchObject({
      roomId: 'shop',
      cartVersion: version,
      currency: 'IDR',
      storeId: 'toko-bdg',
      organiser: 'alice',
      members: [
        { id: 'alice', name: 'Alice', method: 'local' },
        { id: 'bob', name: 'Bob', method: 'stripe' },
      ],
      lines: [{ sku: 'teh-botol', qty: 5, addedBy: 'bob' }],
    });
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'settling');
    expect(bob.doc.getMap('settlement').toJSON()).toMatchObject({
      id: 's_1',
      status: 'awaiting_payment',
      payments: { bob: { amount: 12500, method: 'stripe', status: 'pending' } },
    });
    // finalising again answers the same settlement
    expect(
      (await post(server, '/rooms/shop/finalise', await token('shop', 'alice', 'organiser'))).body,
    ).toEqual({ settlementId: 's_1' });
  });

  test("sends each line's note and who collects, for the store's staff", async () => {
    const { settlement, server, org, bob } = await setup('ok');
    addLine(bob.doc, { sku: 'kopi', qty: 1, addedBy: 'bob', note: 'no sugar' });
    setMeta(org.doc, 'collector', 'bob');
    await waitFor(() => org.doc.getMap('lines').size === 2);
    const res = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'alice', 'organiser'),
    );
    expect(res.status).toBe(202);
    expect(settlement.seen[0]!.body).toMatchObject({
      collector: 'bob',
      lines: expect.arrayContaining([
        expect.objectContaining({ sku: 'kopi', note: 'no sugar', addedBy: 'bob' }),
      ]),
    });
  });

  test('a stock refusal reopens the room with a readable reason', async () => {
    const { settlement, server, org, bob } = await setup('short');
    const res = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'alice', 'organiser'),
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: { code: 'insufficient_stock' } });
    await waitFor(() => bob.doc.getMap('settlement').get('lastError') !== undefined);
    expect(bob.doc.getMap('settlement').get('lastError')).toBe(
      '2 × Teh Botol short at Toko Bandung',
    );
    // The same refusal as data, for each reader's own language, with the names settlement's
    // answer carries.
    expect(bob.doc.getMap('settlement').get('lastErrorDetails')).toEqual({
      code: 'insufficient_stock',
      storeId: 'toko-bdg',
      storeName: 'Toko Bandung',
      short: [{ sku: 'teh-botol', name: 'Teh Botol', wanted: 5, available: 3 }],
    });
    expect(org.doc.getMap('meta').get('status')).toBe('open');
    // nothing was looked up to name them
    expect(settlement.gets.filter((g) => !g.startsWith('/payment-methods'))).toEqual([]);
  });

  test('a refusal without names (an older settlement) still reopens the room, worded by sku', async () => {
    const { settlement, server, bob } = await setup('short-unnamed');
    const res = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'alice', 'organiser'),
    );
    expect(res.status).toBe(409);
    await waitFor(() => bob.doc.getMap('settlement').get('lastError') !== undefined);
    expect(bob.doc.getMap('settlement').get('lastError')).toBe('2 × teh-botol short at toko-bdg');
    expect(bob.doc.getMap('settlement').get('lastErrorDetails')).toEqual({
      code: 'insufficient_stock',
      storeId: 'toko-bdg',
      storeName: 'toko-bdg',
      short: [{ sku: 'teh-botol', name: 'teh-botol', wanted: 5, available: 3 }],
    });
    expect(bob.doc.getMap('meta').get('status')).toBe('open');
    expect(settlement.gets.filter((g) => !g.startsWith('/payment-methods'))).toEqual([]);
  });

  test('transient failures are retried with the same key', async () => {
    const { settlement, server } = await setup('flaky');
    const res = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'alice', 'organiser'),
    );
    expect(res.status).toBe(202);
    expect(settlement.seen).toHaveLength(3);
    expect(new Set(settlement.seen.map((s) => s.key)).size).toBe(1);
  });

  test('settlement down: 503, the room is open again with a reason', async () => {
    const { server, bob } = await setup('down');
    const res = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'alice', 'organiser'),
    );
    expect(res.status).toBe(503);
    await waitFor(() => typeof bob.doc.getMap('settlement').get('lastError') === 'string');
    expect(bob.doc.getMap('settlement').get('lastErrorDetails')).toEqual({
      code: 'settlement_unavailable',
    });
    expect(bob.doc.getMap('meta').get('status')).toBe('open');
  });

  test("the store's region down: 503 region_unavailable naming the store and region, the room open again", async () => {
    const { settlement, server, bob } = await setup('region-down');
    const res = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'alice', 'organiser'),
    );
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: 'region_unavailable' } });
    // retried as any 5xx first, with the same key
    expect(settlement.seen.length).toBeGreaterThan(1);
    await waitFor(() => typeof bob.doc.getMap('settlement').get('lastError') === 'string');
    expect(bob.doc.getMap('settlement').get('lastErrorDetails')).toEqual({
      code: 'region_unavailable',
      storeId: 'toko-bdg',
      region: 'jawa-barat',
    });
    expect(bob.doc.getMap('meta').get('status')).toBe('open');
  });

  test('a key whose settlement has ended (409 settlement_ended) is followed by a key naming it', async () => {
    const { settlement, server, bob } = await setup('ended');
    const version = cartSnapshot(bob.doc, 'shop').cartVersion;
    const org = await token('shop', 'alice', 'organiser');
    const res = await post(server, '/rooms/shop/finalise', org);
    expect(res).toEqual({ status: 202, body: { settlementId: 's_1' } });
    expect(settlement.seen.map((s) => s.key)).toEqual([`shop:${version}`, `shop:${version}:s_old`]);
    await waitFor(() => bob.doc.getMap('settlement').get('id') === 's_1');
    expect(bob.doc.getMap('meta').get('status')).toBe('settling');
    expect(bob.doc.getMap('settlement').get('ended')).toEqual(['s_old']);
    // a late message about the ended one changes nothing
    const svc = await token('shop', 'settlement', 'service');
    const late = await post(
      server,
      '/rooms/shop/settlement',
      svc,
      { seq: 5, settlement: { id: 's_old', status: 'expired' } },
      'PUT',
    );
    expect(late.body).toMatchObject({ applied: false });
    expect(bob.doc.getMap('settlement').get('id')).toBe('s_1');
  });

  test('only the organiser finalises', async () => {
    const { server, bob } = await setup('ok');
    expect((await post(server, '/rooms/shop/finalise', await token('shop', 'bob'))).status).toBe(
      403,
    );
    // The role alone is not enough: the one check is against the document's organiser.
    const notTheOrganiser = await post(
      server,
      '/rooms/shop/finalise',
      await token('shop', 'bob', 'organiser'),
    );
    expect(notTheOrganiser.status).toBe(403);
    expect(bob.doc.getMap('meta').get('status') ?? 'open').toBe('open');
    expect((await post(server, '/rooms/shop/finalise', null)).status).toBe(401);
    expect(
      (await post(server, '/rooms/shop/finalise', await token('other', 'alice', 'organiser')))
        .status,
    ).toBe(403);
  });
});

describe('PUT /rooms/<id>/settlement', () => {
  test('applies status changes in sequence, ignores stale ones, and derives the room status', async () => {
    const { server, bob } = await setup('ok');
    const svc = await token('shop', 'settlement', 'service');
    const put = (seq: number, status: string, extra: Record<string, unknown> = {}) =>
      post(
        server,
        '/rooms/shop/settlement',
        svc,
        { seq, settlement: { id: 's_9', status, ...extra } },
        'PUT',
      );
    expect(
      await put(2, 'paid', {
        payments: { bob: { amount: 1, currency: 'IDR', status: 'captured', method: 'local' } },
      }),
    ).toEqual({
      status: 200,
      body: { applied: true, seq: 2 },
    });
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'settling');
    expect((await put(1, 'awaiting_payment')).body).toEqual({ applied: false, seq: 2 });
    expect(bob.doc.getMap('settlement').get('status')).toBe('paid');
    await put(3, 'completed', { pickupCode: 'K7Q2', orderRef: 'H4XR7T2M' });
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'completed');
    expect(bob.doc.getMap('settlement').get('pickupCode')).toBe('K7Q2');
    // the reference the store's staff see too (docs/contracts.md "Store handover")
    expect(bob.doc.getMap('settlement').get('orderRef')).toBe('H4XR7T2M');
    await put(4, 'expired');
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'open');
    expect(bob.doc.getMap('settlement').get('lastError')).toMatch(/expired/);
  });

  test('needs a service token and a valid body', async () => {
    const { server } = await setup('ok');
    const body = { seq: 1, settlement: { id: 's', status: 'paid' } };
    expect(
      (
        await post(
          server,
          '/rooms/shop/settlement',
          await token('shop', 'alice', 'organiser'),
          body,
          'PUT',
        )
      ).status,
    ).toBe(403);
    const svc = await token('*', 'settlement', 'service');
    expect((await post(server, '/rooms/shop/settlement', svc, { seq: -1 }, 'PUT')).status).toBe(
      422,
    );
    expect((await post(server, '/rooms/shop/settlement', svc, body, 'PUT')).status).toBe(200);
  });

  test('works for a room nobody is connected to, and the write is stored', async () => {
    const server = await startServer();
    const svc = await token('*', 'settlement', 'service');
    const res = await post(
      server,
      '/rooms/quiet/settlement',
      svc,
      { seq: 1, settlement: { id: 's1', status: 'paid' } },
      'PUT',
    );
    expect(res.status).toBe(200);
    const c = await client(server, 'quiet', await token('quiet', 'bob'));
    expect(c.doc.getMap('settlement').get('status')).toBe('paid');
  });
});

describe('a room never moves back to an older settlement', () => {
  test('A@100, A cancelled@101, B@200, B expired@201, then A@100 and A cancelled@101 again: acknowledged, ignored', async () => {
    const { server, bob } = await setup('ok');
    const svc = await token('shop', 'settlement', 'service');
    const put = (seq: number, id: string, status: string) =>
      post(server, '/rooms/shop/settlement', svc, { seq, settlement: { id, status } }, 'PUT');
    const state = () => ({
      status: bob.doc.getMap('meta').get('status'),
      id: bob.doc.getMap('settlement').get('id'),
      settlement: bob.doc.getMap('settlement').get('status'),
    });
    expect((await put(100, 'A', 'awaiting_payment')).body).toEqual({ applied: true, seq: 100 });
    expect((await put(101, 'A', 'cancelled')).body).toEqual({ applied: true, seq: 101 });
    await waitFor(() => state().settlement === 'cancelled');
    expect(state().status).toBe('open');
    expect((await put(200, 'B', 'awaiting_payment')).body).toEqual({ applied: true, seq: 200 });
    await waitFor(() => state().id === 'B' && state().status === 'settling');
    expect((await put(201, 'B', 'expired')).body).toEqual({ applied: true, seq: 201 });
    await waitFor(() => state().settlement === 'expired');
    // the late ones: answered 200 (so the outbox stops redelivering), changing nothing
    expect(await put(100, 'A', 'awaiting_payment')).toEqual({
      status: 200,
      body: { applied: false, seq: 201 },
    });
    expect((await put(101, 'A', 'cancelled')).body).toEqual({ applied: false, seq: 201 });
    // a duplicate of the newest one too
    expect((await put(201, 'B', 'expired')).body).toEqual({ applied: false, seq: 201 });
    // even a message about A with a higher sequence (a late refund on the old settlement)
    expect((await put(300, 'A', 'cancelled')).body).toMatchObject({ applied: false });
    const after = await client(server, 'shop', await token('shop', 'carol'));
    for (const doc of [bob.doc, after.doc]) {
      expect(doc.getMap('meta').get('status')).toBe('open');
      expect(doc.getMap('settlement').get('id')).toBe('B');
      expect(doc.getMap('settlement').get('status')).toBe('expired');
    }
    // a newer settlement (the room finalised again) still takes over
    expect((await put(301, 'C', 'awaiting_payment')).body).toEqual({ applied: true, seq: 301 });
    await waitFor(() => state().id === 'C' && state().status === 'settling');
  });

  test('finalising over an ended settlement keeps the room-wide sequence: the old settlement stays old', async () => {
    const { server, bob } = await setup('ok');
    const svc = await token('shop', 'settlement', 'service');
    const org = await token('shop', 'alice', 'organiser');
    const put = (seq: number, id: string, status: string) =>
      post(server, '/rooms/shop/settlement', svc, { seq, settlement: { id, status } }, 'PUT');
    expect((await post(server, '/rooms/shop/finalise', org)).body).toEqual({
      settlementId: 's_1',
    });
    expect((await put(10, 's_1', 'cancelled')).body).toEqual({ applied: true, seq: 10 });
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'open');
    expect((await post(server, '/rooms/shop/finalise', org)).body).toEqual({
      settlementId: 's_2',
    });
    await waitFor(() => bob.doc.getMap('settlement').get('id') === 's_2');
    // the old settlement's messages, old or even newer-numbered, leave the room on s_2
    expect((await put(9, 's_1', 'awaiting_payment')).body).toMatchObject({ applied: false });
    expect((await put(11, 's_1', 'cancelled')).body).toMatchObject({ applied: false });
    expect(bob.doc.getMap('settlement').get('id')).toBe('s_2');
    expect(bob.doc.getMap('meta').get('status')).toBe('settling');
    expect((await put(12, 's_2', 'paid')).body).toEqual({ applied: true, seq: 12 });
    await waitFor(() => bob.doc.getMap('settlement').get('status') === 'paid');
  });
});
