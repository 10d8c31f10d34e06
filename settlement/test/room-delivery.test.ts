/**
 * Settlement status reaches the room: every change is delivered from the outbox as
 * `PUT /rooms/<roomId>/settlement` with a service token, retried until the room-server
 * answers 200, and a restart of the settlement side loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '@patungan/model';
import { startSettlement } from '../src/server.ts';
import { DRIVERS } from './support/db.ts';
import { localServer, sendJson, type LocalServer } from './support/http-server.ts';
import {
  SECRET,
  setStock,
  silent,
  snapshot,
  startTestService,
  until,
  type TestService,
} from './support/service.ts';

interface Put {
  roomId: string;
  auth: string;
  seq: number;
  settlement: { id: string; status: string; payments: Record<string, { status: string }> };
}

describe.each(DRIVERS)('room status delivery (%s)', (driver) => {
  let room: LocalServer;
  let s: TestService;
  let up = false;
  const puts: Put[] = [];

  beforeAll(async () => {
    room = await localServer((req, res) => {
      const m = /^\/rooms\/([^/]+)\/settlement$/.exec(req.path);
      if (!up || req.method !== 'PUT' || !m) return sendJson(res, 503, { error: 'down' });
      const body = JSON.parse(req.body) as Omit<Put, 'roomId' | 'auth'>;
      puts.push({
        roomId: decodeURIComponent(m[1]!),
        auth: String(req.headers.authorization),
        ...body,
      });
      sendJson(res, 200, { applied: true, seq: body.seq });
    });
    s = await startTestService(driver, { roomServerUrl: room.url, holdTtlSeconds: 60 });
  });
  afterAll(async () => {
    await s?.close();
    await s?.tdb.drop();
    await room?.close();
  });

  it('retries until the room-server takes it, then delivers the newest state with a service token', async () => {
    await setStock(s, 'smg-simpang-lima', 'SEM-0009', 5);
    const snap = snapshot({
      storeId: 'smg-simpang-lima',
      members: [{ id: 'ana' }],
      lines: [{ sku: 'SEM-0009', qty: 1 }],
    });
    const service = await s.token('service', 'room-server');
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
    await s.request('POST', `/pay/${r.body.payments[0].paymentId}`, {
      body: { action: 'authorize' },
    });
    await until(
      async () =>
        (await s.request('GET', `/settlements/${r.body.id}`, { token: service })).body.status ===
        'paid',
    );
    expect(room.requests.length).toBeGreaterThan(0); // tried while down
    expect(puts).toHaveLength(0);
    up = true;
    const last = await until(async () =>
      puts.find((p) => p.roomId === snap.roomId && p.settlement.status === 'paid'),
    );
    expect(last.settlement).toMatchObject({
      id: r.body.id,
      status: 'paid',
      payments: { ana: { status: 'captured' } },
    });
    const claims = await verifyToken(last.auth.replace(/^Bearer /, ''), SECRET);
    expect(claims).toMatchObject({ role: 'service', room: snap.roomId });
    // newer states carry higher seq
    const seqs = puts.filter((p) => p.roomId === snap.roomId).map((p) => p.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('a settlement restart loses no status change', async () => {
    up = false;
    await setStock(s, 'smg-simpang-lima', 'SEM-0010', 5);
    const snap = snapshot({
      storeId: 'smg-simpang-lima',
      members: [{ id: 'ana' }],
      lines: [{ sku: 'SEM-0010', qty: 1 }],
    });
    const service = await s.token('service', 'room-server');
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
    expect(r.status).toBe(201);
    await s.close(); // the service goes away with the change undelivered (the database stays)
    up = true;
    const again = await startSettlement({
      port: 0,
      db: s.tdb.db,
      secret: SECRET,
      log: silent,
      roomServerUrl: room.url,
      dispatcherPollMs: 50,
      env: {},
    });
    try {
      const got = await until(async () => puts.find((p) => p.roomId === snap.roomId));
      expect(got.settlement).toMatchObject({ id: r.body.id, status: 'awaiting_payment' });
    } finally {
      await again.close();
    }
  });
});
