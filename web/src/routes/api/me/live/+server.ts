/**
 * `GET /api/me/live` → `{ rooms: [{id, status, memberCount}], inbox: {requests, invites} }`.
 * The home page polls it every few seconds (short polling survives flaky mobile networks and
 * proxies better than a held-open stream); each poll also refreshes stale room statuses.
 */
import { error, json } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { config } from '$lib/server/config.ts';
import { inbox } from '$lib/server/friends.ts';
import { refreshStatuses } from '$lib/server/room-status.ts';
import { myRooms } from '$lib/server/rooms.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ locals }) => {
  if (!locals.user) error(401, 'Not signed in');
  const db = await getDb();
  const rooms = await myRooms(db, locals.user.id);
  refreshStatuses(db, rooms, {
    roomServerHttpUrl: config.roomServerHttpUrl,
    tokenSecret: config.tokenSecret,
  });
  return json(
    {
      rooms: rooms.map((r) => ({ id: r.id, status: r.status, memberCount: r.memberCount })),
      inbox: locals.user.guest ? { requests: [], invites: [] } : await inbox(db, locals.user.id),
    },
    { headers: { 'cache-control': 'no-store' } },
  );
};
