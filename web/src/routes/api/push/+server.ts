/** `GET /api/push` → `{ publicKey }` (the VAPID key browsers subscribe with), or 503 without one. */
import { error, json } from '@sveltejs/kit';
import { vapidKeys } from '$lib/server/notify/index.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = () => {
  const keys = vapidKeys();
  if (!keys) error(503, 'push notifications are off');
  return json({ publicKey: keys.publicKey }, { headers: { 'cache-control': 'no-store' } });
};
