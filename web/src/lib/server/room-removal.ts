/**
 * Web's record of members who left or were removed (docs/contracts.md "Leaving and removal"):
 * their `room_members` row stays, with the role `removed` (a member taken back in is a
 * `member` again; the organiser is never removed). While it says so web signs no join token
 * for them and the room page tells them why; the room-server enforces the same from the
 * document's `members[<id>].removedAt`, which the member's or the organiser's own client writes.
 */
import type { Queryable } from '@patungan/db';

/** The role of a member who left or was removed. */
export const REMOVED_ROLE = 'removed';

/** Whether the user left or was removed from the room. */
export async function isRemoved(db: Queryable, roomId: string, userId: string): Promise<boolean> {
  const rows = await db.query(
    'SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2 AND role = $3',
    [roomId, userId, REMOVED_ROLE],
  );
  return rows.length > 0;
}

/** Marks a member as left / removed, or takes them back in; false: no such member here. */
export async function setRemoved(
  db: Queryable,
  roomId: string,
  userId: string,
  removed: boolean,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE room_members SET role = $3
     WHERE room_id = $1 AND user_id = $2 AND role <> 'organiser' RETURNING user_id`,
    [roomId, userId, removed ? REMOVED_ROLE : 'member'],
  );
  return rows.length > 0;
}
