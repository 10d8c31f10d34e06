/**
 * Only enabled payment methods reach a settlement (issue 11 item 4), with the real
 * room-server and settlement: a member whose stored choice is a method this deployment does
 * not take (Stripe without keys) no longer fails the whole group's finalise; the room-server
 * maps it to settlement's default (GET /payment-methods), tells the member
 * (`settlement.methodChanged`) and updates their choice. Then, the room hears who had not paid
 * when the hold is cancelled (`settlement.unpaid`).
 */
import { describe, expect, it } from 'vitest';
import {
  addLine,
  initRoom,
  joinMember,
  readSettlement,
  setMemberMethod,
  setMeta,
} from '@patungan/model';
import { setStock, until } from './support/service.ts';
import { withRoomServer } from './support/room-server.ts';

describe('payment methods at finalise, with a real room-server', () => {
  // no provider configured: local and store only
  const { s, rs, connect } = withRoomServer({ holdTtlSeconds: 600, setupTimeout: 90_000 });

  it('a stale choice of a disabled method falls back to the default; the member is told', async () => {
    await setStock(s, 'jkt-kemang', 'MIN-0003', 10);
    const roomId = `methods-${Date.now().toString(36)}`;
    const org = await connect(roomId, 'ana', 'organiser');
    initRoom(org.doc, { name: 'Piknik', currency: 'IDR', organiser: 'ana', organiserName: 'Ana' });
    setMeta(org.doc, 'storeId', 'jkt-kemang');
    const budi = await connect(roomId, 'budi', 'member');
    joinMember(budi.doc, 'budi', 'Budi');
    // chosen while Stripe was on offer (or by an older page): Stripe has no keys here
    setMemberMethod(budi.doc, 'budi', 'stripe');
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
    const st = await until(async () => {
      const v = readSettlement(budi.doc);
      return v.id === settlementId && v.payments?.budi && v;
    });
    expect(st.payments!.budi!.method).toBe('local');
    expect(budi.doc.getMap('settlement').get('methodChanged')).toEqual({
      budi: { from: 'stripe', to: 'local' },
    });
    await until(
      async () =>
        (budi.doc.getMap('members').get('budi') as { method?: string }).method === 'local',
    );
    expect(budi.doc.getMap('settlement').get('lastError')).toBeUndefined();

    // Ana pays, Budi does not; the organiser cancels: the room hears who had not paid
    const ana = st.payments!.ana!;
    const paid = await fetch(ana.payUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"action":"authorize"}',
    });
    expect(paid.status).toBe(200);
    const cancelled = await s.request('POST', `/settlements/${settlementId}/cancel`, {
      token: await s.token('service', 'room-server'),
      body: {},
    });
    expect(cancelled.status).toBe(200);
    await until(
      async () => budi.doc.getMap('settlement').get('status') === 'cancelled',
      10_000,
      'cancelled in the room',
    );
    expect(budi.doc.getMap('settlement').get('unpaid')).toEqual(['budi']);
  });
});
