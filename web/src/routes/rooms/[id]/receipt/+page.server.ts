/**
 * `/rooms/<roomId>/receipt`: the signed-in member's own receipt of the room's order (what is in
 * their bag, what they paid), printable. Linked from the room's pickup card and from the
 * shopper's order history.
 */
import { error, redirect } from '@sveltejs/kit';
import { receiptOfMember } from '$lib/handover/receipt.ts';
import { WebError } from '$lib/server/errors.ts';
import { roomSettlement } from '$lib/server/handover.ts';
import { log } from '$lib/server/log.ts';
import { roomAccess } from '$lib/server/room-access.ts';
import { settlementClient } from '$lib/server/staff.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params, locals, url }) => {
  if (!locals.user) redirect(303, `/login?redirect=${encodeURIComponent(url.pathname)}`);
  const a = await roomAccess(locals.user, params.id);
  try {
    const s = await roomSettlement(a.room.id, await a.token());
    // a receipt is for an order: paid at least (an open or ended settlement has none)
    if (!s || ['awaiting_payment', 'expired', 'cancelled'].includes(s.status)) {
      return { room: { id: a.room.id, name: a.room.name }, receipt: null };
    }
    const store = await settlementClient().store(s.storeId);
    return {
      room: { id: a.room.id, name: a.room.name },
      receipt: receiptOfMember(s, a.user.id, store?.name ?? s.storeId),
    };
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    log.warn({ err, roomId: a.room.id, memberId: a.user.id }, 'receipt unavailable');
    error(502, 'The store service is not answering; try again in a moment');
  }
};
