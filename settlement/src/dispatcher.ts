/**
 * Drains the outbox. Two jobs, both safe with several processes (rows are claimed with
 * `FOR UPDATE SKIP LOCKED` or leased):
 * - publish: every event goes to the event bus (live stock streams, status listeners);
 * - deliver: settlement status goes to the room-server, `PUT /rooms/<roomId>/settlement` with
 *   a service token, retried with backoff until it answers 200. Each event carries the full
 *   state, so only the newest undelivered one per room is sent; its outbox id is the `seq`
 *   the room-server uses to ignore anything older (a late retry never moves a room back).
 *   The room-server answers a stale or duplicate message 200 `{applied: false}`: delivered,
 *   never sent again.
 * - deliver to web: the same status events (topic 'web') go to web's notification endpoint,
 *   `POST <webUrl>/internal/settlement-events` with a service token, every event in outbox
 *   order (a batch per request), retried with backoff until web answers 200. At least once:
 *   web ignores an event it has seen (settlement id + seq). Without a web URL they are dropped.
 */
import { signToken } from '@patungan/model';
import type { SettlementEvents, SettlementPut } from '@patungan/model/contracts';
import type { Clock } from './clock.ts';
import { addMs } from './clock.ts';
import type { Db } from '@patungan/db';
import { channels, type EventBus } from './events.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { SettlementEvent, StockEvent } from './outbox.ts';

export interface DispatcherOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  bus: EventBus | null;
  /** Room-server base URL; null disables delivery (events wait in the outbox). */
  roomServerUrl: string | null;
  secret: string;
  instanceId: string;
  /**
   * Web's internal base URL for notification events; `'drop'` marks them delivered unsent (no
   * web configured); null: not this process's job (an API-only process; the worker does it).
   */
  webUrl?: string | 'drop' | null;
  /** Per-request timeout of a delivery (default 5 s). */
  deliveryTimeoutMs?: number;
}

interface OutboxRow {
  id: number;
  topic: 'stock' | 'settlement';
  store_id: string | null;
  room_id: string | null;
  payload: StockEvent | SettlementEvent;
  tries: number;
}

export async function publishPending(o: DispatcherOptions, limit = 500): Promise<number> {
  const bus = o.bus;
  if (!bus) return 0;
  return o.db.transaction(async (tx) => {
    const rows = await tx.query<OutboxRow>(
      `SELECT id, topic, store_id, room_id, payload FROM outbox WHERE published_at IS NULL
       ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    if (rows.length === 0) return 0;
    for (const r of rows) {
      const channel =
        r.topic === 'stock'
          ? channels.stock(r.store_id ?? '')
          : channels.settlement((r.payload as SettlementEvent).settlement.id);
      await bus.publish(channel, { ...r.payload, seq: r.id });
    }
    await tx.query('UPDATE outbox SET published_at = $2 WHERE id = ANY($1::bigint[])', [
      rows.map((r) => r.id),
      o.clock.now(),
    ]);
    o.metrics.outbox.inc({ kind: 'published', result: 'ok' }, rows.length);
    return rows.length;
  });
}

async function put(
  o: DispatcherOptions,
  roomId: string,
  seq: number,
  ev: SettlementEvent,
): Promise<void> {
  const token = await signToken(
    { sub: 'settlement', name: 'settlement', role: 'service', room: roomId },
    o.secret,
    { ttlSeconds: 300 },
  );
  const res = await fetch(`${o.roomServerUrl}/rooms/${encodeURIComponent(roomId)}/settlement`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ seq, settlement: ev.settlement } satisfies SettlementPut),
    signal: AbortSignal.timeout(o.deliveryTimeoutMs ?? 5000),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`room-server answered ${res.status}`);
  }
  // 200 is an acknowledgement either way; `applied: false` means the room had already moved
  // past this message (stale, a duplicate, or about an older settlement of the room).
  const answer = (await res.json().catch(() => null)) as {
    applied?: unknown;
    seq?: unknown;
  } | null;
  if (answer?.applied === false) {
    o.log.info(
      { roomId, settlementId: ev.settlement.id, seq, roomSeq: answer.seq },
      'room-server ignored a stale settlement status',
    );
  }
}

/** Both delivery lanes: these outbox rows reached their receiver (and are no longer leased). */
async function markDelivered(o: DispatcherOptions, ids: readonly number[]): Promise<void> {
  await o.db.query(
    'UPDATE outbox SET delivered_at = $2, lease_until = NULL WHERE id = ANY($1::bigint[])',
    [ids, o.clock.now()],
  );
}

/**
 * Both delivery lanes: a delivery of these rows failed; they are tried again after a backoff
 * that doubles with each try (200 ms, 400 ms, … capped at 30 s). Returns the try it was.
 */
async function retryLater(
  o: DispatcherOptions,
  rows: readonly Pick<OutboxRow, 'id' | 'tries'>[],
  err: unknown,
): Promise<number> {
  const tries = Math.max(...rows.map((r) => r.tries)) + 1;
  const backoff = Math.min(30_000, 200 * 2 ** Math.min(tries, 8));
  await o.db.query(
    `UPDATE outbox SET tries = tries + 1, next_try_at = $2, lease_until = NULL, last_error = $3
     WHERE id = ANY($1::bigint[])`,
    [
      rows.map((r) => r.id),
      addMs(o.clock.now(), backoff),
      String(err instanceof Error ? err.message : err).slice(0, 300),
    ],
  );
  return tries;
}

export async function deliverPending(o: DispatcherOptions, limit = 500): Promise<number> {
  if (!o.roomServerUrl) return 0;
  const now = o.clock.now();
  const rows = await o.db.query<OutboxRow>(
    `UPDATE outbox SET lease_until = $2
     WHERE id IN (
       SELECT id FROM outbox
       WHERE topic = 'settlement' AND delivered_at IS NULL
         AND (next_try_at IS NULL OR next_try_at <= $1::timestamptz)
         AND (lease_until IS NULL OR lease_until < $1::timestamptz)
       ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, topic, room_id, payload, tries`,
    [now, addMs(now, 30_000), limit],
  );
  const byRoom = new Map<string, OutboxRow[]>();
  for (const r of rows) {
    const list = byRoom.get(r.room_id ?? '') ?? [];
    list.push(r);
    byRoom.set(r.room_id ?? '', list);
  }
  const rooms = [...byRoom.entries()];
  const lanes = Array.from({ length: Math.min(16, rooms.length) }, async () => {
    for (let next = rooms.shift(); next; next = rooms.shift()) {
      const [roomId, list] = next;
      const ids = list.map((r) => r.id);
      const newest = list.reduce((a, b) => (b.id > a.id ? b : a));
      try {
        await put(o, roomId, newest.id, newest.payload as SettlementEvent);
        await markDelivered(o, ids);
        o.metrics.outbox.inc({ kind: 'delivered', result: 'ok' });
      } catch (err) {
        const tries = await retryLater(o, list, err);
        o.metrics.outbox.inc({ kind: 'delivered', result: 'error' });
        o.log.warn(
          {
            roomId,
            settlementId: (newest.payload as SettlementEvent).settlement.id,
            tries,
            err: String(err),
          },
          'room status delivery failed, will retry',
        );
      }
    }
  });
  await Promise.all(lanes);
  return rows.length;
}

/** The advisory lock key of the web lane's claim (any constant the processes agree on). */
const WEB_LANE_LOCK = 7_202_707;

export async function deliverToWeb(o: DispatcherOptions, limit = 100): Promise<number> {
  if (!o.webUrl) return 0;
  const now = o.clock.now();
  if (o.webUrl === 'drop') {
    const dropped = await o.db.query(
      `UPDATE outbox SET delivered_at = $1 WHERE topic = 'web' AND delivered_at IS NULL RETURNING id`,
      [now],
    );
    return dropped.length;
  }
  // One ordered lane: a batch is claimed only from the head of the undelivered events, and only
  // when the head is not waiting for a retry or leased by another process (the claim itself
  // runs under an advisory lock), so a later event never overtakes an earlier one.
  const rows = await o.db.transaction(async (tx) => {
    const [lock] = await tx.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1::bigint) AS ok',
      [WEB_LANE_LOCK],
    );
    if (!lock?.ok) return [];
    const [head] = await tx.query<{ ready: boolean }>(
      `SELECT (next_try_at IS NULL OR next_try_at <= $1::timestamptz)
         AND (lease_until IS NULL OR lease_until < $1::timestamptz)
         AS ready
       FROM outbox WHERE topic = 'web' AND delivered_at IS NULL ORDER BY id LIMIT 1`,
      [now],
    );
    if (!head?.ready) return [];
    return tx.query<OutboxRow>(
      `UPDATE outbox SET lease_until = $1
       WHERE id IN (
         SELECT id FROM outbox WHERE topic = 'web' AND delivered_at IS NULL ORDER BY id LIMIT $2)
       RETURNING id, topic, room_id, payload, tries`,
      [addMs(now, 30_000), limit],
    );
  });
  if (rows.length === 0) return 0;
  rows.sort((a, b) => Number(a.id) - Number(b.id));
  const ids = rows.map((r) => r.id);
  try {
    const token = await signToken(
      { sub: 'settlement', name: 'settlement', role: 'service', room: '*' },
      o.secret,
      { ttlSeconds: 300 },
    );
    const body: SettlementEvents = {
      events: rows.map((r) => {
        const ev = r.payload as SettlementEvent;
        return { seq: Number(r.id), roomId: ev.roomId, settlement: ev.settlement };
      }),
    };
    const res = await fetch(`${o.webUrl}/internal/settlement-events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(o.deliveryTimeoutMs ?? 5000),
    });
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`web answered ${res.status}`);
    await markDelivered(o, ids);
    o.metrics.outbox.inc({ kind: 'web', result: 'ok' });
  } catch (err) {
    const tries = await retryLater(o, rows, err);
    o.metrics.outbox.inc({ kind: 'web', result: 'error' });
    o.log.warn(
      { events: rows.length, firstSeq: ids[0], tries, err: String(err) },
      'web notification delivery failed, will retry',
    );
  }
  return rows.length;
}

/** Deletes outbox rows that are published and delivered, older than `keepMs`. */
export async function pruneOutbox(
  o: Pick<DispatcherOptions, 'db' | 'clock'>,
  keepMs = 24 * 3600_000,
): Promise<void> {
  await o.db.query(
    `DELETE FROM outbox WHERE published_at IS NOT NULL AND delivered_at IS NOT NULL AND created_at < $1`,
    [addMs(o.clock.now(), -keepMs)],
  );
  // PGlite runs no autovacuum: keep the planner's statistics fresh ourselves.
  if (o.db.kind === 'pglite') await o.db.query('ANALYZE');
}
