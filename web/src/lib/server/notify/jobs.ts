/**
 * The notification worker: runs due jobs from `notify_jobs` (pushes, deadline and hold
 * reminders, deadline watches). Any number of web instances run it: a job is claimed with a
 * lease (`FOR UPDATE SKIP LOCKED`), so one instance runs it at a time; a crash after a push
 * and before `done_at` sends that push again when the lease ends (at least once). A web
 * restart loses nothing: the jobs are rows.
 */
import type { Db } from '@patungan/db';
import { serviceToken } from '../tokens.ts';
import { log } from '../log.ts';
import { render, type NotificationKind } from './messages.ts';
import { endpointAllowed, sendPush } from './push.ts';
import { devicesOf, notificationById } from './store.ts';
import {
  keepWatching,
  scheduleDeadlineReminders,
  sendDeadlineReminder,
  sendHoldReminder,
  type LiveRoom,
} from './triggers.ts';
import type { VapidKeys } from './vapid.ts';

export interface NotifierDeps {
  db: Db;
  roomServerHttpUrl: string;
  tokenSecret: string;
  vapid: VapidKeys | null;
  /** Push endpoints allowed beyond the public push services (`PUSH_EXTRA_ORIGINS`). */
  extraOrigins: readonly string[];
  /** Poll interval (`NOTIFY_POLL_MS`, default 1000); a kick runs at once. */
  pollMs: number;
  /** Deadline watch interval (`NOTIFY_DEADLINE_CHECK_SECONDS`, default 60). */
  watchMs: number;
}

interface JobRow {
  key: string;
  kind: 'push' | 'deadline' | 'watch' | 'hold';
  payload: Record<string, unknown>;
  tries: number;
  run_at: Date | string;
}

type Outcome = 'done' | { again: Date; payload?: Record<string, unknown>; retry?: boolean };

const LEASE_MS = 60_000;
const MAX_TRIES = 6;

/** `GET /rooms/<id>/status` of the room-server: the live status and deadline; null when never opened. */
export async function readLiveRoom(
  deps: Pick<NotifierDeps, 'roomServerHttpUrl' | 'tokenSecret'>,
  roomId: string,
): Promise<LiveRoom | null> {
  const res = await fetch(`${deps.roomServerHttpUrl}/rooms/${encodeURIComponent(roomId)}/status`, {
    headers: { authorization: `Bearer ${await serviceToken(roomId, deps.tokenSecret)}` },
    signal: AbortSignal.timeout(5000),
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`room status answered ${res.status}`);
  }
  const body = (await res.json()) as { status?: unknown; deadline?: unknown };
  return {
    status: typeof body.status === 'string' ? body.status : 'open',
    deadline: typeof body.deadline === 'string' ? body.deadline : null,
  };
}

export class Notifier {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: NotifierDeps) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.deps.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Runs the due jobs now (after a trigger committed), or right after the current pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => log.error({ err }, 'notification pass failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Runs due jobs until none is left. */
  async drain(): Promise<void> {
    while (!this.stopped && (await this.pass()) > 0);
  }

  private async pass(): Promise<number> {
    const { db } = this.deps;
    const now = new Date();
    const jobs = await db.query<JobRow>(
      `UPDATE notify_jobs SET lease_until = $2::timestamptz, tries = tries + 1
       WHERE key IN (
         SELECT key FROM notify_jobs
         WHERE done_at IS NULL AND run_at <= $1::timestamptz
           AND (lease_until IS NULL OR lease_until < $1::timestamptz)
         ORDER BY run_at LIMIT 20 FOR UPDATE SKIP LOCKED)
       RETURNING key, kind, payload, tries, run_at`,
      [now, new Date(now.getTime() + LEASE_MS)],
    );
    jobs.sort((a, b) => new Date(a.run_at).getTime() - new Date(b.run_at).getTime());
    for (const job of jobs) {
      let outcome: Outcome;
      try {
        outcome = await this.run(job);
      } catch (err) {
        const last = String(err instanceof Error ? err.message : err).slice(0, 300);
        const giveUp = job.tries >= MAX_TRIES;
        log.warn({ job: job.key, tries: job.tries, err: last, giveUp }, 'notification job failed');
        await db.query(
          `UPDATE notify_jobs SET lease_until = NULL, last_error = $2,
             run_at = $3, done_at = CASE WHEN $4::boolean THEN now() END WHERE key = $1`,
          [job.key, last, new Date(Date.now() + Math.min(60_000, 1000 * 2 ** job.tries)), giveUp],
        );
        continue;
      }
      if (outcome === 'done') {
        await db.query(
          'UPDATE notify_jobs SET done_at = now(), lease_until = NULL WHERE key = $1',
          [job.key],
        );
      } else {
        await db.query(
          `UPDATE notify_jobs SET run_at = $2, lease_until = NULL,
             tries = CASE WHEN $4::boolean THEN tries ELSE 0 END,
             payload = COALESCE($3::text::jsonb, payload) WHERE key = $1`,
          [
            job.key,
            outcome.again,
            outcome.payload ? JSON.stringify(outcome.payload) : null,
            outcome.retry === true,
          ],
        );
      }
    }
    if (jobs.length === 0 && Math.random() < 0.01) {
      await db.query(`DELETE FROM notify_jobs WHERE done_at < now() - interval '1 day'`);
    }
    return jobs.length;
  }

  private async run(job: JobRow): Promise<Outcome> {
    const p = job.payload;
    const now = new Date();
    switch (job.kind) {
      case 'push':
        return this.push(String(p.notificationId), p.endpoints as string[] | undefined, job.tries);
      case 'watch': {
        const roomId = String(p.roomId);
        const [room] = await this.deps.db.query<{
          deadline: Date | string | null;
          created_at: Date | string;
        }>('SELECT deadline, created_at FROM rooms WHERE id = $1', [roomId]);
        if (!room) return 'done';
        // A room nobody has opened yet has no document: its deadline is the one it was made with.
        const live = (await readLiveRoom(this.deps, roomId)) ?? {
          status: 'open',
          deadline: room.deadline ? new Date(room.deadline).toISOString() : null,
        };
        if (live.status === 'open' && live.deadline) {
          await scheduleDeadlineReminders(this.deps.db, roomId, live.deadline, now);
          this.again = true;
        }
        if (!keepWatching(live, new Date(room.created_at), now)) return 'done';
        return { again: new Date(now.getTime() + this.deps.watchMs) };
      }
      case 'deadline': {
        const job2 = {
          roomId: String(p.roomId),
          deadline: String(p.deadline),
          minutes: Number(p.minutes),
        };
        const live = await readLiveRoom(this.deps, job2.roomId);
        const [room] = await this.deps.db.query<{ deadline: Date | string | null }>(
          'SELECT deadline FROM rooms WHERE id = $1',
          [job2.roomId],
        );
        const state = live ?? {
          status: 'open',
          deadline: room?.deadline ? new Date(room.deadline).toISOString() : null,
        };
        const n = await this.deps.db.transaction((tx) => sendDeadlineReminder(tx, job2, state));
        if (n === 0)
          log.info(
            { ...job2, live: state },
            'deadline reminder not sent: the deadline moved, was removed, or the room is not open',
          );
        if (n > 0) this.again = true;
        return 'done';
      }
      case 'hold': {
        const hold = Date.parse(String(p.holdExpiresAt));
        const minutes = Math.max(1, Math.round((hold - now.getTime()) / 60_000));
        const n = await this.deps.db.transaction((tx) =>
          sendHoldReminder(
            tx,
            { settlementId: String(p.settlementId), holdExpiresAt: String(p.holdExpiresAt) },
            minutes,
          ),
        );
        if (n > 0) this.again = true;
        return 'done';
      }
    }
  }

  private async push(
    notificationId: string,
    only: string[] | undefined,
    tries: number,
  ): Promise<Outcome> {
    const { db, vapid } = this.deps;
    if (!vapid) return 'done';
    const n = await notificationById(db, notificationId);
    if (!n) return 'done';
    let devices = await devicesOf(db, n.userId);
    if (only) devices = devices.filter((d) => only.includes(d.endpoint));
    const failed: string[] = [];
    await Promise.all(
      devices.map(async (d) => {
        if (!endpointAllowed(d.endpoint, this.deps.extraOrigins)) return;
        const locale = d.locale === 'en' ? 'en' : 'id';
        const msg = render(n, locale);
        const payload = JSON.stringify({ ...msg, tag: n.id, kind: n.kind as NotificationKind });
        const r = await sendPush(d, payload, vapid);
        const ctx = { userId: n.userId, roomId: n.roomId, notificationId: n.id, status: r.status };
        if (r.result === 'gone') {
          await db.query('DELETE FROM push_subscriptions WHERE endpoint = $1', [d.endpoint]);
          log.info(ctx, 'push subscription expired, removed');
        } else if (r.result === 'failed') {
          failed.push(d.endpoint);
          log.warn(ctx, 'push failed, will retry');
        } else {
          log.debug(ctx, 'push sent');
        }
      }),
    );
    if (failed.length === 0 || tries >= MAX_TRIES) return 'done';
    return {
      again: new Date(Date.now() + Math.min(60_000, 1000 * 2 ** tries)),
      payload: { notificationId, endpoints: failed },
      retry: true,
    };
  }
}
