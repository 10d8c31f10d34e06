/**
 * Where notifications come from (docs/web.md "Notifications", decision 0013):
 * - an invite (friends.ts, in the invite's transaction);
 * - a room's deadline: a `watch` job per room re-reads the live `meta.deadline` from the
 *   room-server and schedules the 30- and 5-minute reminders, which read it again before they
 *   send (a moved or removed deadline sends nothing stale);
 * - settlement status, delivered by settlement's outbox to `POST /internal/settlement-events`:
 *   share due, the hold reminder (a job 5 minutes before `holdExpiresAt`), ready, ended.
 */
import type { Db, Queryable } from '@patungan/db';
import type { SettlementEvents, SettlementState } from '@patungan/model/contracts';
import { log } from '../log.ts';
import { addJob, addNotifications, type NewNotification } from './store.ts';

/** Reminders before a room's deadline, minutes. */
export const DEADLINE_LEADS = [30, 5] as const;
/** A reminder whose moment passed less than this long ago is still sent (a late start). */
const LATE_GRACE_MS = 60_000;
/** A room without a deadline is watched this long after it was made. */
const WATCH_ROOMS_WITHOUT_DEADLINE_MS = 7 * 24 * 3600_000;

export async function notifyInvited(
  tx: Queryable,
  roomId: string,
  fromUserId: string,
  toUserIds: readonly string[],
): Promise<number> {
  if (toUserIds.length === 0) return 0;
  const [r] = await tx.query<{ name: string; code: string; from_name: string }>(
    `SELECT r.name, r.code, u.name AS from_name FROM rooms r, users u WHERE r.id = $1 AND u.id = $2`,
    [roomId, fromUserId],
  );
  if (!r) return 0;
  return addNotifications(
    tx,
    toUserIds.map((userId) => ({
      userId,
      kind: 'invite',
      roomId,
      params: { room: r.name, from: r.from_name, code: r.code },
      dedupeKey: null,
    })),
  );
}

/** Starts watching a room's deadline (in the room's creating transaction). */
export function watchRoom(tx: Queryable, roomId: string, now = new Date()): Promise<void> {
  return addJob(tx, `watch:${roomId}`, 'watch', now, { roomId });
}

export interface LiveRoom {
  status: string;
  deadline: string | null;
}

/** Schedules the reminders still ahead for this deadline (once per room, deadline and lead). */
export async function scheduleDeadlineReminders(
  tx: Queryable,
  roomId: string,
  deadline: string,
  now: Date,
): Promise<void> {
  const at = Date.parse(deadline);
  if (!Number.isFinite(at) || at <= now.getTime()) return;
  for (const minutes of DEADLINE_LEADS) {
    const due = at - minutes * 60_000;
    if (now.getTime() > due + LATE_GRACE_MS) continue;
    const iso = new Date(at).toISOString();
    await addJob(
      tx,
      `deadline:${roomId}:${iso}:${minutes}`,
      'deadline',
      new Date(Math.max(due, now.getTime())),
      { roomId, deadline: iso, minutes },
    );
  }
}

/** Whether a room with this live state is still watched after now, and the room's age. */
export function keepWatching(live: LiveRoom, createdAt: Date, now: Date): boolean {
  if (live.status === 'completed') return false;
  if (live.deadline) return Date.parse(live.deadline) > now.getTime();
  return now.getTime() - createdAt.getTime() < WATCH_ROOMS_WITHOUT_DEADLINE_MS;
}

/** The deadline reminder, if the room is still open with exactly this deadline. */
export async function sendDeadlineReminder(
  tx: Queryable,
  job: { roomId: string; deadline: string; minutes: number },
  live: LiveRoom,
): Promise<number> {
  if (live.status !== 'open' || !live.deadline) return 0;
  if (Date.parse(live.deadline) !== Date.parse(job.deadline)) return 0;
  const members = await tx.query<{ user_id: string; name: string }>(
    `SELECT m.user_id, r.name FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = $1`,
    [job.roomId],
  );
  return addNotifications(
    tx,
    members.map((m) => ({
      userId: m.user_id,
      kind: 'deadline',
      roomId: job.roomId,
      params: { room: m.name, minutes: job.minutes },
      dedupeKey: `deadline:${job.roomId}:${job.deadline}:${job.minutes}:${m.user_id}`,
    })),
  );
}

type Payment = { status: string; amount: number; currency: string };

function paymentsOf(s: SettlementState): Record<string, Payment> {
  const p = s.payments;
  if (!p) return {};
  if (Array.isArray(p))
    return Object.fromEntries(p.filter((x) => x.memberId).map((x) => [x.memberId!, x]));
  return p;
}

const NOT_PAID = new Set(['pending', 'declined']);

/** Hold reminder lead, ms (`NOTIFY_HOLD_REMINDER_SECONDS`, default 300). */
export const holdLeadMs = (env: NodeJS.ProcessEnv = process.env) =>
  (Number(env.NOTIFY_HOLD_REMINDER_SECONDS) || 300) * 1000;

/**
 * Applies settlement's status events (at least once, in outbox order): keeps the newest state
 * per settlement (settlement id + seq: an event seen before changes nothing) and derives the
 * notifications, each once by its dedupe key. Returns how many notifications were new.
 */
export async function applySettlementEvents(
  db: Db,
  events: SettlementEvents['events'],
  now = new Date(),
): Promise<number> {
  let added = 0;
  for (const ev of events) {
    added += await db.transaction(async (tx) => {
      const s = ev.settlement;
      const [seen] = await tx.query<{ seq: string | number; state: SettlementState }>(
        'SELECT seq, state FROM notify_settlements WHERE settlement_id = $1 FOR UPDATE',
        [s.id],
      );
      if (seen && Number(seen.seq) >= ev.seq) {
        if (Number(seen.seq) === ev.seq) return 0; // a redelivery
      } else {
        await tx.query(
          `INSERT INTO notify_settlements (settlement_id, room_id, seq, state)
           VALUES ($1, $2, $3, $4::text::jsonb)
           ON CONFLICT (settlement_id) DO UPDATE SET seq = $3, state = $4::text::jsonb`,
          [s.id, ev.roomId, ev.seq, JSON.stringify(s)],
        );
      }
      const newest = seen && Number(seen.seq) > ev.seq ? seen.state : s;
      return notificationsFor(tx, ev.roomId, s, newest, now);
    });
  }
  return added;
}

async function notificationsFor(
  tx: Queryable,
  roomId: string,
  s: SettlementState,
  newest: SettlementState,
  now: Date,
): Promise<number> {
  const [room] = await tx.query<{ name: string }>('SELECT name FROM rooms WHERE id = $1', [roomId]);
  if (!room) {
    log.warn({ roomId, settlementId: s.id }, 'settlement event for a room web does not know');
    return 0;
  }
  const payments = paymentsOf(s);
  const latest = paymentsOf(newest);
  const members = Object.keys(payments);
  const list: NewNotification[] = [];
  const each = (
    kind: NewNotification['kind'],
    who: readonly string[],
    params: Record<string, string | number>,
    key: (userId: string) => string,
  ) => {
    for (const userId of who) list.push({ userId, kind, roomId, params, dedupeKey: key(userId) });
  };
  if (s.status === 'awaiting_payment') {
    for (const userId of members) {
      const p = payments[userId]!;
      // a late, older event: not to someone who has paid since
      if (p.status !== 'pending' || (latest[userId] && latest[userId]!.status !== 'pending'))
        continue;
      each(
        'share_due',
        [userId],
        { room: room.name, amount: p.amount, currency: p.currency },
        (u) => `share_due:${s.id}:${u}`,
      );
    }
    const hold = s.holdExpiresAt ? Date.parse(s.holdExpiresAt) : NaN;
    if (Number.isFinite(hold) && hold > now.getTime()) {
      const iso = new Date(hold).toISOString();
      await addJob(
        tx,
        `hold:${s.id}:${iso}`,
        'hold',
        new Date(Math.max(now.getTime(), hold - holdLeadMs())),
        {
          settlementId: s.id,
          holdExpiresAt: iso,
        },
      );
    }
  } else if (s.status === 'ready_for_pickup') {
    each(
      'ready',
      members,
      { room: room.name, ...(s.pickupCode ? { code: s.pickupCode } : {}) },
      (u) => `ready:${s.id}:${u}`,
    );
  } else if (s.status === 'expired' || s.status === 'cancelled') {
    const unpaid = s.unpaid ?? [];
    const names = unpaid.length
      ? (
          await tx.query<{ id: string; name: string }>(
            'SELECT id, name FROM users WHERE id = ANY($1::text[])',
            [unpaid],
          )
        )
          .sort((a, b) => unpaid.indexOf(a.id) - unpaid.indexOf(b.id))
          .map((u) => u.name)
          .join(', ')
      : '';
    each(s.status, members, { room: room.name, names }, (u) => `ended:${s.id}:${u}`);
  }
  const users = new Set(
    (
      await tx.query<{ id: string }>('SELECT id FROM users WHERE id = ANY($1::text[])', [
        list.map((n) => n.userId),
      ])
    ).map((u) => u.id),
  );
  return addNotifications(
    tx,
    list.filter((n) => users.has(n.userId)),
    now,
  );
}

/** The hold reminder: to the members whose share is still open, if the hold has not moved. */
export async function sendHoldReminder(
  tx: Queryable,
  job: { settlementId: string; holdExpiresAt: string },
  leadMinutes: number,
): Promise<number> {
  const [row] = await tx.query<{ room_id: string; state: SettlementState; name: string | null }>(
    `SELECT s.room_id, s.state, r.name FROM notify_settlements s LEFT JOIN rooms r ON r.id = s.room_id
     WHERE s.settlement_id = $1`,
    [job.settlementId],
  );
  if (!row?.name || row.state.status !== 'awaiting_payment') return 0;
  if (Date.parse(row.state.holdExpiresAt ?? '') !== Date.parse(job.holdExpiresAt)) return 0;
  const payments = paymentsOf(row.state);
  const unpaid = Object.keys(payments).filter((u) => NOT_PAID.has(payments[u]!.status));
  const users = await tx.query<{ id: string }>('SELECT id FROM users WHERE id = ANY($1::text[])', [
    unpaid,
  ]);
  return addNotifications(
    tx,
    users.map((u) => ({
      userId: u.id,
      kind: 'hold',
      roomId: row.room_id,
      params: { room: row.name!, minutes: leadMinutes },
      dedupeKey: `hold:${job.settlementId}:${job.holdExpiresAt}:${u.id}`,
    })),
  );
}
