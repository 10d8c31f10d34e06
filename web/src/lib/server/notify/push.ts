/**
 * Sending one Web Push message (RFC 8030) with an aes128gcm payload (RFC 8291) and a VAPID
 * header (RFC 8292). The `web-push` library encrypts and signs; the request itself goes out with
 * fetch, bounded by a timeout. Endpoints are where a browser's push service said; web only
 * posts to the known push services (and `PUSH_EXTRA_ORIGINS`), never to an address a user
 * typed into a subscription (no requests into the private network).
 */
import webpush from 'web-push';
import type { VapidKeys } from './vapid.ts';

export interface Subscription {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** Push services of the browsers people use (https only): Chrome, Firefox, Edge, Safari. */
const PUSH_SERVICE_HOSTS = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'push.services.mozilla.com',
  'notify.windows.com',
  'push.apple.com',
];

export function endpointAllowed(endpoint: string, extraOrigins: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (extraOrigins.includes(url.origin)) return true;
  if (url.protocol !== 'https:' || url.username || url.password) return false;
  const host = url.hostname.toLowerCase();
  return PUSH_SERVICE_HOSTS.some((h) => host === h || host.endsWith('.' + h));
}

export type PushResult = 'sent' | 'gone' | 'failed';

/**
 * Posts one message. `gone`: the push service answered 404 or 410, the subscription is dead
 * (remove it); `failed`: anything else (retry later).
 */
export async function sendPush(
  sub: Subscription,
  payload: string,
  vapid: VapidKeys,
  o: { ttlSeconds?: number; timeoutMs?: number } = {},
): Promise<{ result: PushResult; status: number }> {
  const req = webpush.generateRequestDetails(
    { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
    payload,
    {
      vapidDetails: vapid,
      TTL: o.ttlSeconds ?? 3600,
      contentEncoding: 'aes128gcm',
      urgency: 'high',
    },
  );
  let status = 0;
  try {
    const res = await fetch(req.endpoint, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: req.body ? new Uint8Array(req.body) : null,
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      redirect: 'manual',
    });
    status = res.status;
    await res.body?.cancel();
  } catch {
    return { result: 'failed', status: 0 };
  }
  if (status >= 200 && status < 300) return { result: 'sent', status };
  if (status === 404 || status === 410) return { result: 'gone', status };
  return { result: 'failed', status };
}
