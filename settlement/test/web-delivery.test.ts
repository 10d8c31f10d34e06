/**
 * Settlement status reaches web's notifications: every status event goes from the outbox to
 * `POST <web>/internal/settlement-events` with a service token, in outbox order, every one (not
 * only the newest), retried until web answers 200; without a web URL they are dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '@patungan/model';
import { SettlementEventsSchema, type SettlementEvents } from '@patungan/model/contracts';
import { DRIVERS } from './support/db.ts';
import { localServer, sendJson, type LocalServer } from './support/http-server.ts';
import {
  SECRET,
  setStock,
  snapshot,
  startTestService,
  until,
  type TestService,
} from './support/service.ts';

describe.each(DRIVERS)('status delivery to web (%s)', (driver) => {
  let web: LocalServer;
  let s: TestService;
  let up = false;
  const received: SettlementEvents['events'] = [];
  const auths: string[] = [];

  beforeAll(async () => {
    web = await localServer((req, res) => {
      if (!up || req.method !== 'POST' || req.path !== '/internal/settlement-events')
        return sendJson(res, 503, { error: 'down' });
      received.push(...SettlementEventsSchema.parse(JSON.parse(req.body)).events);
      auths.push(String(req.headers.authorization));
      sendJson(res, 200, { accepted: true });
    });
    s = await startTestService(driver, { webInternalUrl: web.url, holdTtlSeconds: 60 });
  });
  afterAll(async () => {
    await s?.close();
    await s?.tdb.drop();
    await web?.close();
  });

  it('retries while web is down, then delivers every transition in order with a service token', async () => {
    await setStock(s, 'smg-simpang-lima', 'SEM-0009', 5);
    const snap = snapshot({
      storeId: 'smg-simpang-lima',
      members: [{ id: 'ana' }, { id: 'budi' }],
      lines: [{ sku: 'SEM-0009', qty: 1 }],
    });
    const service = await s.token('service', 'room-server');
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
    expect(r.status).toBe(201);
    await s.request('POST', `/settlements/${r.body.id}/cancel`, { token: service });
    await until(async () => web.requests.length > 0); // tried while down
    expect(received).toHaveLength(0);
    up = true;
    await until(async () => received.some((e) => e.settlement.status === 'cancelled') || undefined);
    const mine = received.filter((e) => e.settlement.id === r.body.id);
    // both transitions, the first one too (a room only needs the newest; notifications need each)
    expect(mine.map((e) => e.settlement.status)).toEqual(['awaiting_payment', 'cancelled']);
    expect(mine.every((e) => e.roomId === snap.roomId)).toBe(true);
    expect(mine[0]!.seq).toBeLessThan(mine[1]!.seq);
    expect(mine[0]!.settlement.payments).toMatchObject({
      ana: { status: 'pending' },
      budi: { status: 'pending' },
    });
    expect([...(mine[1]!.settlement.unpaid ?? [])].sort()).toEqual(['ana', 'budi']);
    const claims = await verifyToken(auths[0]!.replace(/^Bearer /, ''), SECRET);
    expect(claims).toMatchObject({ role: 'service', room: '*' });
  });
});

describe('without a web URL', () => {
  it('drops the events instead of keeping them undelivered', async () => {
    const s = await startTestService('pglite', { holdTtlSeconds: 60 });
    try {
      await setStock(s, 'smg-simpang-lima', 'SEM-0009', 5);
      const snap = snapshot({
        storeId: 'smg-simpang-lima',
        members: [{ id: 'ana' }],
        lines: [{ sku: 'SEM-0009', qty: 1 }],
      });
      const r = await s.request('POST', '/settlements', {
        token: await s.token('service', 'room-server'),
        body: snap,
        headers: { 'idempotency-key': snap.roomId },
      });
      expect(r.status).toBe(201);
      await until(async () => {
        const [row] = await s.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM outbox WHERE topic = 'web' AND delivered_at IS NULL`,
        );
        const [all] = await s.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM outbox WHERE topic = 'web'`,
        );
        return row!.n === 0 && all!.n > 0 ? true : undefined;
      });
    } finally {
      await s.stop();
    }
  });
});
