/**
 * Creating a settlement is one statement (docs/decisions/0017): the first answer is stored with
 * the idempotency key and the first status event is written without reading anything back.
 * What the room, web and a replaying client get must be exactly what the rows say — the same
 * as reading the settlement afterwards — and the stock moves as a hold does (ledger, events).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { creationResponse, settlementView } from '../src/flow/view.ts';
import { roomStates } from '../src/outbox.ts';
import { DRIVERS } from './support/db.ts';
import { serviceFor, setStock, snapshot } from './support/service.ts';

const STORE = 'bdg-dago';

describe.each(DRIVERS)('creating a settlement in one statement (%s)', (driver) => {
  const s = serviceFor(driver, { holdTtlSeconds: 600, worker: false });
  let service: string;
  beforeAll(async () => {
    service = await s.token('service', 'room-server');
  });

  it('answers, stores and announces exactly what the rows say', async () => {
    await setStock(s, STORE, 'CAM-0005', 7);
    await setStock(s, STORE, 'MIN-0001', 9);
    const snap = snapshot({
      storeId: STORE,
      members: [
        { id: 'ana', name: 'Ana' },
        { id: 'budi', name: 'Budi', method: 'store' },
        { id: 'citra', name: 'Citra' },
      ],
      lines: [
        { sku: 'MIN-0001', qty: 2, note: 'dingin' },
        { sku: 'CAM-0005', qty: 1, sharedWith: ['ana', 'citra'] },
        { sku: 'MIN-0001', qty: 1, addedBy: 'citra' },
      ],
      collector: 'citra',
    });
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
    expect(r.status).toBe(201);
    const view = await settlementView(s.db, r.body.id);
    // the answer is the view's creation subset, and it is what the key stored
    expect(r.body).toEqual(creationResponse(view));
    const [key] = await s.db.query<{ status_code: number; response: unknown }>(
      'SELECT status_code, response FROM idempotency_keys WHERE key = $1',
      [snap.roomId],
    );
    expect(key).toEqual({ status_code: 201, response: r.body });
    const replay = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
    expect(replay).toMatchObject({ status: 201, body: r.body });
    expect(view).toMatchObject({ collector: 'citra', status: 'awaiting_payment' });
    expect(view.lines.map((l) => [l.id, l.sku, l.qty, l.note ?? null])).toEqual([
      ['l1', 'MIN-0001', 2, 'dingin'],
      ['l2', 'CAM-0005', 1, null],
      ['l3', 'MIN-0001', 1, null],
    ]);

    // the first status event (room and web) is the state read back from the rows
    const [state] = await roomStates(s.db, [r.body.id]);
    const events = await s.db.query<{ topic: string; room_id: string; payload: unknown }>(
      `SELECT topic, room_id, payload FROM outbox WHERE topic IN ('settlement', 'web')
         AND payload->'settlement'->>'id' = $1 ORDER BY id`,
      [r.body.id],
    );
    const expected = { type: 'settlement', roomId: snap.roomId, settlement: state!.state };
    expect(events).toEqual([
      { topic: 'settlement', room_id: snap.roomId, payload: expected },
      { topic: 'web', room_id: snap.roomId, payload: expected },
    ]);

    // one hold and one ledger entry per sku (quantities summed), one stock event per row
    const holds = await s.db.query(
      `SELECT sku, qty, status FROM holds WHERE settlement_id = $1 ORDER BY sku`,
      [r.body.id],
    );
    expect(holds).toEqual([
      { sku: 'CAM-0005', qty: 1, status: 'held' },
      { sku: 'MIN-0001', qty: 3, status: 'held' },
    ]);
    const ledger = await s.db.query(
      `SELECT sku, d_held, reason FROM stock_ledger WHERE ref = $1 ORDER BY sku`,
      [r.body.id],
    );
    expect(ledger).toEqual([
      { sku: 'CAM-0005', d_held: 1, reason: 'hold' },
      { sku: 'MIN-0001', d_held: 3, reason: 'hold' },
    ]);
    const stock = await s.db.query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM outbox WHERE topic = 'stock' AND store_id = $1
         AND payload->>'reason' = 'hold' ORDER BY id DESC LIMIT 2`,
      [STORE],
    );
    expect(
      stock.map((e) => e.payload).sort((a, b) => String(a.sku).localeCompare(String(b.sku))),
    ).toEqual([
      expect.objectContaining({ type: 'stock', sku: 'CAM-0005', onHand: 7, held: 1, available: 6 }),
      expect.objectContaining({ type: 'stock', sku: 'MIN-0001', onHand: 9, held: 3, available: 6 }),
    ]);
  });

  it('a shortage writes nothing: no key, no settlement, no hold', async () => {
    // the settlement above holds the one left
    await setStock(s, STORE, 'CAM-0005', 1);
    const before = await s.db.query<{ n: number }>('SELECT count(*) AS n FROM settlements');
    const snap = snapshot({
      storeId: STORE,
      lines: [
        { sku: 'MIN-0001', qty: 1 },
        { sku: 'CAM-0005', qty: 1 },
      ],
    });
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
    expect(r.status).toBe(409);
    expect(r.body.error.details.short).toEqual([
      { sku: 'CAM-0005', name: expect.any(String), wanted: 1, available: 0 },
    ]);
    const [key] = await s.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [snap.roomId]);
    expect(key).toBeUndefined();
    const after = await s.db.query<{ n: number }>('SELECT count(*) AS n FROM settlements');
    expect(after).toEqual(before);
  });
});
