/**
 * Notifications in this process: the VAPID keys and the worker, started with the database
 * (app.ts) and stopped with it. `kickNotifications()` after a trigger committed runs its
 * pushes at once instead of at the next poll.
 */
import type { Db } from '@patungan/db';
import { config } from '../config.ts';
import { log } from '../log.ts';
import { Notifier } from './jobs.ts';
import { loadVapidKeys, type VapidKeys } from './vapid.ts';

let vapid: VapidKeys | null | undefined;
let notifier: Notifier | null = null;

/** The VAPID keys (read or generated on first use); null when they cannot be had (logged). */
export function vapidKeys(env: NodeJS.ProcessEnv = process.env): VapidKeys | null {
  if (vapid !== undefined) return vapid;
  try {
    vapid = loadVapidKeys(env, config.dataDir, config.publicUrl);
    if (config.databaseUrl && !env.VAPID_PUBLIC_KEY) {
      // Each instance would make its own pair: a device subscribed through one could not be
      // pushed to by the others.
      log.warn(
        'VAPID keys generated into DATA_DIR: set VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY when several web instances share a database',
      );
    }
  } catch (err) {
    log.error({ err }, 'no VAPID keys: push notifications are off (the in-app list still works)');
    vapid = null;
  }
  return vapid;
}

export const extraPushOrigins = (env: NodeJS.ProcessEnv = process.env): string[] =>
  (env.PUSH_EXTRA_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean);

export function startNotifications(db: Db, env: NodeJS.ProcessEnv = process.env): void {
  if (notifier || env.NOTIFY_WORKER === 'off') return;
  notifier = new Notifier({
    db,
    roomServerHttpUrl: config.roomServerHttpUrl,
    tokenSecret: config.tokenSecret,
    vapid: vapidKeys(env),
    extraOrigins: extraPushOrigins(env),
    pollMs: Number(env.NOTIFY_POLL_MS) || 1000,
    watchMs: (Number(env.NOTIFY_DEADLINE_CHECK_SECONDS) || 60) * 1000,
  });
  notifier.start();
}

export async function stopNotifications(): Promise<void> {
  const n = notifier;
  notifier = null;
  await n?.stop();
}

export function kickNotifications(): void {
  notifier?.kick();
}
