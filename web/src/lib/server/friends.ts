/**
 * Friends and room invites. Adding someone by their friend ID sends a request; when both
 * sides have asked (or the other accepts), they are friends — stored as two rows, one per
 * direction, so "my friends" is one indexed lookup.
 */
import type { Db, Queryable } from '@patungan/db';
import { WebError } from './errors.ts';
import { normaliseCode } from './ids.ts';
import { userByFriendId } from './auth.ts';
import { kickNotifications } from './notify/index.ts';
import { notifyInvited } from './notify/triggers.ts';

export interface FriendView {
  id: string;
  name: string;
  friendId: string;
}

export interface InviteView {
  roomId: string;
  roomName: string;
  roomCode: string;
  fromName: string;
  createdAt: string;
}

export interface Inbox {
  /** People who asked to be my friend. */
  requests: FriendView[];
  /** Rooms friends invited me to that I have not opened yet. */
  invites: InviteView[];
}

/**
 * Adds a friend by their friend ID. Returns `friends` when that completes a friendship
 * (they had asked me), `requested` when it only sends my request.
 */
export async function addFriend(
  db: Db,
  userId: string,
  friendIdInput: unknown,
): Promise<{ result: 'friends' | 'requested'; friend: FriendView }> {
  const code = typeof friendIdInput === 'string' ? normaliseCode(friendIdInput) : '';
  const other = code ? await userByFriendId(db, code) : null;
  if (!other || other.guest) {
    throw new WebError('not_found', 'No one has this friend ID.', { field: 'friendId' });
  }
  if (other.id === userId) {
    throw new WebError('invalid', 'That is your own friend ID.', { field: 'friendId' });
  }
  const friend = { id: other.id, name: other.name, friendId: other.friendId };
  const result = await db.transaction(async (tx) => {
    const theyAsked = await tx.query(
      'DELETE FROM friend_requests WHERE from_user = $1 AND to_user = $2 RETURNING 1',
      [other.id, userId],
    );
    const already = await tx.query(
      'SELECT 1 FROM friends WHERE user_id = $1 AND friend_user_id = $2',
      [userId, other.id],
    );
    if (already.length) return 'friends' as const;
    if (theyAsked.length) {
      await makeFriends(tx, userId, other.id);
      return 'friends' as const;
    }
    await tx.query(
      `INSERT INTO friend_requests (from_user, to_user) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [userId, other.id],
    );
    return 'requested' as const;
  });
  return { result, friend };
}

async function makeFriends(tx: Queryable, a: string, b: string) {
  await tx.query(
    `INSERT INTO friends (user_id, friend_user_id) VALUES ($1, $2), ($2, $1) ON CONFLICT DO NOTHING`,
    [a, b],
  );
}

export async function acceptFriend(db: Db, userId: string, fromUserId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const rows = await tx.query(
      'DELETE FROM friend_requests WHERE from_user = $1 AND to_user = $2 RETURNING 1',
      [fromUserId, userId],
    );
    if (!rows.length) throw new WebError('not_found', 'This friend request is gone.');
    await makeFriends(tx, userId, fromUserId);
  });
}

export async function declineFriend(db: Queryable, userId: string, fromUserId: string) {
  await db.query('DELETE FROM friend_requests WHERE from_user = $1 AND to_user = $2', [
    fromUserId,
    userId,
  ]);
}

export async function removeFriend(db: Queryable, userId: string, otherId: string) {
  await db.query(
    'DELETE FROM friends WHERE (user_id = $1 AND friend_user_id = $2) OR (user_id = $2 AND friend_user_id = $1)',
    [userId, otherId],
  );
}

export async function listFriends(db: Queryable, userId: string): Promise<FriendView[]> {
  return db.query<FriendView & Record<string, unknown>>(
    `SELECT u.id, u.name, u.friend_id AS "friendId" FROM friends f JOIN users u ON u.id = f.friend_user_id
     WHERE f.user_id = $1 ORDER BY lower(u.name)`,
    [userId],
  );
}

export async function sentRequests(db: Queryable, userId: string): Promise<FriendView[]> {
  return db.query<FriendView & Record<string, unknown>>(
    `SELECT u.id, u.name, u.friend_id AS "friendId" FROM friend_requests r JOIN users u ON u.id = r.to_user
     WHERE r.from_user = $1 ORDER BY r.created_at DESC`,
    [userId],
  );
}

/** Invites friends (by user id) to a room; only friends of the inviter, only room members may invite. */
export async function inviteFriends(
  db: Db,
  fromUserId: string,
  roomId: string,
  toUserIds: readonly string[],
): Promise<number> {
  const invited: string[] = [];
  await db.transaction(async (tx) => {
    const member = await tx.query(
      'SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2',
      [roomId, fromUserId],
    );
    if (!member.length) throw new WebError('forbidden', 'Only members can invite to this room.');
    for (const to of toUserIds) {
      const rows = await tx.query(
        `INSERT INTO room_invites (room_id, from_user, to_user)
         SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM friends WHERE user_id = $2 AND friend_user_id = $3)
           AND NOT EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $3)
         ON CONFLICT (room_id, to_user) DO UPDATE SET status = 'pending', from_user = $2, created_at = now()
         RETURNING 1`,
        [roomId, fromUserId, to],
      );
      if (rows.length) invited.push(to);
    }
    // each invited friend is told (the in-app list, and their devices), in the same transaction
    await notifyInvited(tx, roomId, fromUserId, invited);
  });
  kickNotifications();
  return invited.length;
}

export async function dismissInvite(db: Queryable, userId: string, roomId: string) {
  await db.query(
    `UPDATE room_invites SET status = 'dismissed' WHERE room_id = $1 AND to_user = $2`,
    [roomId, userId],
  );
}

export async function inbox(db: Queryable, userId: string): Promise<Inbox> {
  const requests = await db.query<FriendView & Record<string, unknown>>(
    `SELECT u.id, u.name, u.friend_id AS "friendId" FROM friend_requests r JOIN users u ON u.id = r.from_user
     WHERE r.to_user = $1 ORDER BY r.created_at DESC`,
    [userId],
  );
  const invites = await db.query<{
    roomId: string;
    roomName: string;
    roomCode: string;
    fromName: string;
    createdAt: Date | string;
  }>(
    `SELECT i.room_id AS "roomId", r.name AS "roomName", r.code AS "roomCode", u.name AS "fromName",
       i.created_at AS "createdAt"
     FROM room_invites i JOIN rooms r ON r.id = i.room_id JOIN users u ON u.id = i.from_user
     WHERE i.to_user = $1 AND i.status = 'pending' ORDER BY i.created_at DESC LIMIT 50`,
    [userId],
  );
  return {
    requests: requests.map((r) => ({ id: r.id, name: r.name, friendId: r.friendId })),
    invites: invites.map((i) => ({ ...i, createdAt: new Date(i.createdAt).toISOString() })),
  };
}
