/**
 * The notification tables (migration 2): the in-app list, devices, and the durable jobs.
 * A notification is created once (its `dedupe_key`), in the same transaction as what caused
 * it, together with the job that pushes it to the user's devices.
 */
import type { Queryable } from '@patungan/db';
import { opaqueId } from '../ids.ts';
import type { NotificationKind, NotificationRecord } from './messages.ts';

export interface NewNotification {
  userId: string;
  kind: NotificationKind;
  roomId: string | null;
  params: Record<string, string | number>;
  /** Makes the notification exist once however often its trigger runs; null: always new. */
  dedupeKey: string | null;
}

/**
 * Adds notifications (those whose dedupe key exists are skipped) and a push job for each new
 * one; returns how many were new. Call inside the trigger's transaction.
 */
export async function addNotifications(
  tx: Queryable,
  list: readonly NewNotification[],
  now = new Date(),
): Promise<number> {
  let added = 0;
  for (const n of list) {
    const id = opaqueId('n');
    const rows = await tx.query(
      `INSERT INTO notifications (id, user_id, kind, room_id, params, dedupe_key, created_at)
       VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7)
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [id, n.userId, n.kind, n.roomId, JSON.stringify(n.params), n.dedupeKey, now],
    );
    if (rows.length === 0) continue;
    added++;
    await addJob(tx, `push:${id}`, 'push', now, { notificationId: id });
  }
  return added;
}

/** Schedules a job once per key (a second schedule with the same key changes nothing). */
export async function addJob(
  tx: Queryable,
  key: string,
  kind: 'push' | 'deadline' | 'watch' | 'hold',
  runAt: Date,
  payload: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `INSERT INTO notify_jobs (key, kind, run_at, payload) VALUES ($1, $2, $3, $4::text::jsonb)
     ON CONFLICT (key) DO NOTHING`,
    [key, kind, runAt, JSON.stringify(payload)],
  );
}

interface NotificationRow {
  id: string;
  kind: NotificationKind;
  room_id: string | null;
  params: Record<string, string | number>;
  created_at: Date | string;
  read_at: Date | string | null;
  [k: string]: unknown;
}

const toRecord = (r: NotificationRow): NotificationRecord => ({
  id: r.id,
  kind: r.kind,
  roomId: r.room_id,
  params: r.params,
  createdAt: new Date(r.created_at).toISOString(),
  readAt: r.read_at ? new Date(r.read_at).toISOString() : null,
});

export async function listNotifications(
  db: Queryable,
  userId: string,
  limit = 50,
): Promise<NotificationRecord[]> {
  const rows = await db.query<NotificationRow>(
    `SELECT id, kind, room_id, params, created_at, read_at FROM notifications
     WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
    [userId, limit],
  );
  return rows.map(toRecord);
}

export async function notificationById(db: Queryable, id: string) {
  const [r] = await db.query<NotificationRow & { user_id: string }>(
    'SELECT id, user_id, kind, room_id, params, created_at, read_at FROM notifications WHERE id = $1',
    [id],
  );
  return r ? { ...toRecord(r), userId: r.user_id } : null;
}

export async function unreadCount(db: Queryable, userId: string): Promise<number> {
  const [r] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL',
    [userId],
  );
  return Number(r?.n ?? 0);
}

/** Marks one (by id) or all of the user's notifications read; only the user's own. */
export async function markRead(db: Queryable, userId: string, id?: string): Promise<void> {
  if (id) {
    await db.query(
      'UPDATE notifications SET read_at = now() WHERE user_id = $1 AND id = $2 AND read_at IS NULL',
      [userId, id],
    );
  } else {
    await db.query(
      'UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL',
      [userId],
    );
  }
}

export interface DeviceRow {
  endpoint: string;
  p256dh: string;
  auth: string;
  locale: string;
  [k: string]: unknown;
}

export async function saveSubscription(
  db: Queryable,
  userId: string,
  s: { endpoint: string; p256dh: string; auth: string; locale: 'id' | 'en' },
): Promise<void> {
  // One row per device: a browser that signs in as someone else now notifies that person.
  await db.query(
    `INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, locale) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (endpoint) DO UPDATE SET user_id = $2, p256dh = $3, auth = $4, locale = $5`,
    [s.endpoint, userId, s.p256dh, s.auth, s.locale],
  );
}

export async function deleteSubscription(db: Queryable, userId: string, endpoint: string) {
  await db.query('DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2', [
    endpoint,
    userId,
  ]);
}

export async function devicesOf(db: Queryable, userId: string): Promise<DeviceRow[]> {
  return db.query<DeviceRow>(
    'SELECT endpoint, p256dh, auth, locale FROM push_subscriptions WHERE user_id = $1',
    [userId],
  );
}

export async function hasDevice(db: Queryable, userId: string, endpoint: string) {
  const rows = await db.query(
    'SELECT 1 FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2',
    [userId, endpoint],
  );
  return rows.length > 0;
}
