/**
 * Web's record of members who left or were removed (docs/contracts.md "Leaving and removal"):
 * `room_members.removed_at`. While it is set web signs no join token for them and the room
 * page tells them so; the room-server enforces the same from the document's
 * `members[<id>].removedAt`, which the member's or the organiser's own client writes.
 */
import type { Queryable } from '@patungan/db';

/** Whether the user left or was removed from the room. */
export async function isRemoved(db: Queryable, roomId: string, userId: string): Promise<boolean> {
  const rows = await db.query<{ removed: boolean }>(
    'SELECT removed_at IS NOT NULL AS removed FROM room_members WHERE room_id = $1 AND user_id = $2',
    [roomId, userId],
  );
  return rows[0]?.removed === true;
}

/** Marks a member as left / removed (`removed`), or takes them back in; false: no such member. */
export async function setRemoved(
  db: Queryable,
  roomId: string,
  userId: string,
  removed: boolean,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE room_members SET removed_at = ${removed ? 'coalesce(removed_at, now())' : 'NULL'}
     WHERE room_id = $1 AND user_id = $2 AND role <> 'organiser' RETURNING user_id`,
    [roomId, userId],
  );
  return rows.length > 0;
}
