/**
 * Who the signed-in user is in a room, for web's same-origin routes that act there on their
 * behalf (a fresh join token, finalise, a payment action): 401 not signed in, 404 unknown
 * room, 403 not a member. The role is the one web signs into join tokens; what that role may
 * do is decided where the rules live (the room-server for finalise, settlement for a share),
 * not again here (docs/decisions/0007-one-route-from-the-browser.md).
 */
import { error } from '@sveltejs/kit';
import { isRoomId } from '@patungan/model';
import { getDb } from './app.ts';
import { memberRole, roomById, type Room } from './rooms.ts';
import { isRemoved } from './room-removal.ts';
import { roomToken } from './tokens.ts';

export interface RoomAccess {
  room: Room;
  user: NonNullable<App.Locals['user']>;
  role: 'organiser' | 'member';
  /** A join token for this user in this room, with their role (signed on demand). */
  token(): Promise<string>;
}

export async function roomAccess(user: App.Locals['user'], roomId: string): Promise<RoomAccess> {
  if (!user) error(401, 'Sign in or join the room first');
  if (!isRoomId(roomId)) error(404, 'No such room');
  const db = await getDb();
  const room = await roomById(db, roomId);
  if (!room) error(404, 'No such room');
  // The organiser always has their place (a row made with the room; kept for old rooms too).
  const role =
    (await memberRole(db, room.id, user.id)) ?? (room.organiserId === user.id ? 'organiser' : null);
  if (!role) error(403, 'You are not a member of this room');
  // left or removed (docs/contracts.md "Leaving and removal"): no token, no acting for them
  if (role !== 'organiser' && (await isRemoved(db, room.id, user.id))) error(403, 'removed');
  return { room, user, role, token: () => roomToken(user, room.id, role) };
}
