/** Invite to a room: share the link / code / QR code, or invite friends by their account. */
import { error, redirect } from '@sveltejs/kit';
import QRCode from 'qrcode';
import { isRoomId } from '@patungan/model';
import { getDb } from '$lib/server/app.ts';
import { config } from '$lib/server/config.ts';
import { failWith } from '$lib/server/forms.ts';
import { inviteFriends, listFriends } from '$lib/server/friends.ts';
import { log } from '$lib/server/log.ts';
import { isMember, roomById, roomMembers } from '$lib/server/rooms.ts';
import type { Actions, PageServerLoad } from './$types';

async function memberRoom(id: string, user: App.Locals['user']) {
  if (!isRoomId(id)) error(404, 'No such room');
  const db = await getDb();
  const room = await roomById(db, id);
  if (!room) error(404, 'No such room');
  if (!user) redirect(303, `/join/${room.code}`);
  if (!(await isMember(db, room.id, user.id))) redirect(303, `/join/${room.code}`);
  return { db, room, user };
}

export const load: PageServerLoad = async ({ params, locals }) => {
  const { db, room, user } = await memberRoom(params.id, locals.user);
  const inviteUrl = `${config.publicUrl}/join/${room.code}`;
  const members = new Set((await roomMembers(db, room.id)).map((m) => m.id));
  const friends = user.guest ? [] : await listFriends(db, user.id);
  const qrSvg = await QRCode.toString(inviteUrl, {
    type: 'svg',
    margin: 1,
    errorCorrectionLevel: 'M',
  });
  return {
    room: { id: room.id, name: room.name, code: room.code },
    inviteUrl,
    qrSvg,
    friends: friends.map((f) => ({ ...f, member: members.has(f.id) })),
  };
};

export const actions: Actions = {
  default: async ({ params, locals, request }) => {
    const { db, room, user } = await memberRoom(params.id, locals.user);
    const ids = (await request.formData()).getAll('friend').filter((v) => typeof v === 'string');
    try {
      const n = await inviteFriends(db, user.id, room.id, ids.slice(0, 100));
      log.info({ userId: user.id, roomId: room.id, invited: n }, 'friends invited');
      return { sent: n };
    } catch (err) {
      return failWith(err);
    }
  },
};
