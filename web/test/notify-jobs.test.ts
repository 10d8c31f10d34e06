/**
 * The notification worker's promises (decision 0013), on a real PostgreSQL and a local push
 * service that decrypts each message: two web instances draining the same jobs send each push
 * once; a job scheduled before a restart is sent by the instance that runs after it.
 */
import webpush from 'web-push';
import type { Db } from '@patungan/db';
import { createPgDatabase } from '@patungan/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/lib/server/db.ts';
import { Notifier } from '../src/lib/server/notify/jobs.ts';
import { addJob, addNotifications, saveSubscription } from '../src/lib/server/notify/store.ts';
import { startPushService, type PushService } from './helpers/push-service.ts';

let pg: Awaited<ReturnType<typeof createPgDatabase>>;
let push: PushService;
const dbs: Db[] = [];
const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:test@patungan.invalid' };

/** One web instance's worker, on its own connection pool to the shared database. */
async function instance(): Promise<{ db: Db; notifier: Notifier }> {
  const db = await openDb({ databaseUrl: pg.url });
  dbs.push(db);
  const notifier = new Notifier({
    db,
    roomServerHttpUrl: 'http://127.0.0.1:9',
    tokenSecret: 'unused-by-push-jobs',
    vapid,
    extraOrigins: [push.url],
    pollMs: 50,
    watchMs: 60_000,
  });
  return { db, notifier };
}

beforeAll(async () => {
  push = await startPushService();
  pg = await createPgDatabase('web_notify');
});
afterAll(async () => {
  for (const db of dbs) await db.close().catch(() => undefined);
  await pg?.drop();
  await push?.close();
});

async function userWithDevice(db: Db, id: string) {
  await db.query(`INSERT INTO users (id, name, friend_id) VALUES ($1, $1, $2)`, [
    id,
    id.toUpperCase().slice(0, 8),
  ]);
  const d = push.device();
  await saveSubscription(db, id, { ...d.subscription.keys, endpoint: d.endpoint, locale: 'id' });
  return d;
}

const pending = async (db: Db) =>
  Number(
    (
      await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM notify_jobs WHERE done_at IS NULL',
      )
    )[0]!.n,
  );

describe('notification jobs on PostgreSQL', () => {
  it('two instances draining the same jobs send each push once', async () => {
    const a = await instance();
    const b = await instance();
    const device = await userWithDevice(a.db, 'u-twice');
    await a.db.transaction((tx) =>
      addNotifications(
        tx,
        Array.from({ length: 40 }, (_, i) => ({
          userId: 'u-twice',
          kind: 'deadline' as const,
          roomId: 'r1',
          params: { room: `Ruang ${i}`, minutes: 5 },
          dedupeKey: `twice:${i}`,
        })),
      ),
    );
    // a trigger that runs again (a redelivery) adds nothing
    await a.db.transaction((tx) =>
      addNotifications(tx, [
        { userId: 'u-twice', kind: 'deadline', roomId: 'r1', params: {}, dedupeKey: 'twice:0' },
      ]),
    );
    a.notifier.start();
    b.notifier.start();
    await expect.poll(() => pending(a.db), { timeout: 30_000 }).toBe(0);
    await Promise.all([a.notifier.stop(), b.notifier.stop()]);
    const titles = device.messages().map((m) => m.payload.title);
    expect(titles).toHaveLength(40);
    expect(new Set(titles).size).toBe(40);
  });

  it('a job scheduled before a restart is sent after it, by the next instance', async () => {
    const first = await instance();
    const device = await userWithDevice(first.db, 'u-restart');
    await first.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO notifications (id, user_id, kind, room_id, params) VALUES ('n-later', 'u-restart', 'hold', 'r2', '{"room":"Nanti","minutes":5}')`,
      );
      await addJob(tx, 'push:n-later', 'push', new Date(Date.now() + 1500), {
        notificationId: 'n-later',
      });
    });
    first.notifier.start();
    await first.notifier.stop(); // the instance goes away before the job is due
    expect(device.messages()).toHaveLength(0);
    const next = await instance();
    next.notifier.start();
    const m = await push.waitFor((x) => x.device === device.id, 20_000);
    await next.notifier.stop();
    expect(m.payload).toMatchObject({
      title: 'Nanti: 5 menit lagi untuk bayar',
      url: '/rooms/r2#pay',
    });
  });
});
