/**
 * The real thing: room-server and settlement started together. The organiser finalises
 * from the room (a stock y-websocket client), members pay on the local pay page, and the
 * room document shows the settlement paid — written by the settlement service through the
 * room-server as a service writer.
 */
import { describe, expect, it } from 'vitest';
import { addLine, initRoom, joinMember, metaMap, readSettlement, setMeta } from '@patungan/model';
import { setStock, until } from './support/service.ts';
import { withRoomServer } from './support/room-server.ts';

describe('with a real room-server', () => {
  const { s, rs, connect } = withRoomServer({ holdTtlSeconds: 60 });

  it('finalise → pay → the room document shows paid', async () => {
    await setStock(s, 'jkt-kemang', 'MIN-0003', 10);
    const roomId = `it-${Date.now().toString(36)}`;
    const org = await connect(roomId, 'ana', 'organiser');
    initRoom(org.doc, { name: 'Piknik', currency: 'IDR', organiser: 'ana', organiserName: 'Ana' });
    setMeta(org.doc, 'storeId', 'jkt-kemang');
    const budi = await connect(roomId, 'budi', 'member');
    joinMember(budi.doc, 'budi', 'Budi');
    addLine(budi.doc, { sku: 'MIN-0003', qty: 2, addedBy: 'budi' });
    await until(
      async () => org.doc.getMap('lines').size === 1 && org.doc.getMap('members').size === 2,
    );

    const res = await fetch(`${rs.httpUrl}/rooms/${roomId}/finalise`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    const { settlementId } = (await res.json()) as { settlementId: string };
    const pending = await until(async () => {
      const st = readSettlement(budi.doc);
      return st.id === settlementId && st.payments && Object.keys(st.payments).length === 2 && st;
    });
    expect(metaMap(budi.doc).get('status')).toBe('settling');
    for (const p of Object.values(pending.payments!)) {
      expect(p.payUrl).toBeTruthy();
      const r = await fetch(p.payUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"action":"authorize"}',
      });
      expect(r.status).toBe(200);
    }
    const paid = await until(
      async () => readSettlement(budi.doc).status === 'paid' && readSettlement(budi.doc),
      10_000,
      'paid in the room',
    );
    expect(Object.values(paid.payments!).map((p) => p.status)).toEqual(['captured', 'captured']);
    expect(metaMap(org.doc).get('status')).toBe('settling');
  });

  /** A room with one line of `qty` × sku at jkt-kemang, and the organiser's finalise. */
  async function roomWithCart(sku: string, qty: number) {
    const roomId = `again-${Date.now().toString(36)}-${sku.toLowerCase()}`;
    const org = await connect(roomId, 'ana', 'organiser');
    initRoom(org.doc, { name: 'Lagi', currency: 'IDR', organiser: 'ana', organiserName: 'Ana' });
    setMeta(org.doc, 'storeId', 'jkt-kemang');
    const budi = await connect(roomId, 'budi', 'member');
    joinMember(budi.doc, 'budi', 'Budi');
    addLine(budi.doc, { sku, qty, addedBy: 'budi' });
    await until(
      async () => org.doc.getMap('lines').size === 1 && org.doc.getMap('members').size === 2,
    );
    const finalise = async () => {
      const res = await fetch(`${rs.httpUrl}/rooms/${roomId}/finalise`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return { status: res.status, body: (await res.json()) as { settlementId?: string } };
    };
    return { roomId, org, budi, finalise };
  }

  const service = () => s.token('service', 'room-server');
  const cancel = async (id: string) =>
    s.request('POST', `/settlements/${id}/cancel`, { token: await service(), body: {} });
  const held = async (sku: string) =>
    (
      (await s.request('GET', '/stores/jkt-kemang/stock')).body.items as {
        sku: string;
        held: number;
      }[]
    ).find((i) => i.sku === sku)?.held;
  const settlementsOf = async (roomId: string) =>
    (
      await s.db.query<{ id: string; status: string }>(
        'SELECT id, status FROM settlements WHERE room_id = $1 ORDER BY created_at',
        [roomId],
      )
    ).map((r) => r.status);

  it('finalise → cancel → the room is open → finalise again (double tap): one new settlement, one new hold', async () => {
    await setStock(s, 'jkt-kemang', 'MIN-0004', 10);
    const { roomId, budi, finalise } = await roomWithCart('MIN-0004', 3);
    const first = await finalise();
    expect(first.status).toBe(202);
    const a = first.body.settlementId!;
    await until(async () => metaMap(budi.doc).get('status') === 'settling');
    expect(await held('MIN-0004')).toBe(3);

    expect((await cancel(a)).body.status).toBe('cancelled');
    await until(
      async () => readSettlement(budi.doc).status === 'cancelled',
      10_000,
      'cancelled in the room',
    );
    expect(metaMap(budi.doc).get('status')).toBe('open');
    expect(await held('MIN-0004')).toBe(0);

    // the same cart, finalised again with a double tap
    const [again, tap] = await Promise.all([finalise(), finalise()]);
    expect(again.status).toBe(202);
    expect(tap).toEqual(again);
    const b = again.body.settlementId!;
    expect(b).not.toBe(a);
    const room = await until(async () => {
      const st = readSettlement(budi.doc);
      return st.id === b && st.payments && metaMap(budi.doc).get('status') === 'settling' && st;
    });
    expect(room.status).toBe('awaiting_payment');
    expect(room.lastError).toBeUndefined();
    expect(room.reason).toBeUndefined();
    expect(await held('MIN-0004')).toBe(3); // held once, by the new settlement
    expect(await settlementsOf(roomId)).toEqual(['cancelled', 'awaiting_payment']);
    const view = await s.request('GET', `/settlements/${b}`, { token: await service() });
    expect(view.body).toMatchObject({ id: b, roomId, status: 'awaiting_payment' });
    // and the organiser can pay it: the room follows the new settlement
    for (const p of Object.values(room.payments!)) {
      const r = await fetch(p.payUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"action":"authorize"}',
      });
      expect(r.status).toBe(200);
    }
    await until(async () => readSettlement(budi.doc).status === 'paid', 10_000, 'paid');
    expect(readSettlement(budi.doc).id).toBe(b);
  });

  it('redelivered status of an older settlement (as after kill -9 of settlement) never moves the room back', async () => {
    await setStock(s, 'jkt-kemang', 'MIN-0005', 10);
    const { roomId, budi, finalise } = await roomWithCart('MIN-0005', 1);
    const a = (await finalise()).body.settlementId!;
    await cancel(a);
    await until(async () => readSettlement(budi.doc).status === 'cancelled');
    const b = (await finalise()).body.settlementId!;
    expect(b).not.toBe(a);
    await until(async () => readSettlement(budi.doc).id === b);
    await cancel(b);
    await until(async () => readSettlement(budi.doc).status === 'cancelled');
    const deliveredOf = (id: string) =>
      s.db.query<{ id: number; delivered: boolean }>(
        `SELECT id, delivered_at IS NOT NULL AS delivered FROM outbox
         WHERE topic = 'settlement' AND payload->'settlement'->>'id' = $1 ORDER BY id`,
        [id],
      );
    await until(async () => {
      const rows = [...(await deliveredOf(a)), ...(await deliveredOf(b))];
      return rows.length > 0 && rows.every((r) => r.delivered);
    });
    // What a settlement killed between the PUT and recording it leaves behind: A's first event
    // (A awaiting_payment) undelivered, so the dispatcher sends it again — after B ended.
    const [aFirst] = await deliveredOf(a);
    await s.db.query(
      `UPDATE outbox SET delivered_at = NULL, lease_until = NULL, next_try_at = NULL
       WHERE id = $1`,
      [aFirst!.id],
    );
    s.ctx.kick();
    await until(
      async () => (await deliveredOf(a)).every((r) => r.delivered),
      10_000,
      'the redelivery to be acknowledged',
    );
    // and every A event once more (the newest one, A cancelled, is what gets sent)
    await s.db.query(
      `UPDATE outbox SET delivered_at = NULL, lease_until = NULL, next_try_at = NULL
       WHERE topic = 'settlement' AND payload->'settlement'->>'id' = $1`,
      [a],
    );
    s.ctx.kick();
    await until(async () => (await deliveredOf(a)).every((r) => r.delivered));
    const st = readSettlement(budi.doc);
    expect(st.id).toBe(b);
    expect(st.status).toBe('cancelled');
    expect(metaMap(budi.doc).get('status')).toBe('open');
    // the room can still finalise a third time
    const c = await finalise();
    expect(c.status).toBe(202);
    expect(c.body.settlementId).not.toBe(b);
    expect(await settlementsOf(roomId)).toEqual(['cancelled', 'cancelled', 'awaiting_payment']);
    expect(await held('MIN-0005')).toBe(1);
  });
});
