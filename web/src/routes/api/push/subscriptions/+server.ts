/**
 * This device's push subscription for the signed-in user: `POST` `{endpoint, keys: {p256dh,
 * auth}, locale?}` stores it (the device is notified in `locale`, else the page's language),
 * `DELETE` `{endpoint}` forgets it, `GET ?endpoint=` → `{subscribed}`. 401 when not signed in;
 * 400 for a malformed subscription or an endpoint that is not a push service.
 */
import { error, json } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { extraPushOrigins } from '$lib/server/notify/index.ts';
import { endpointAllowed } from '$lib/server/notify/push.ts';
import { deleteSubscription, hasDevice, saveSubscription } from '$lib/server/notify/store.ts';
import type { RequestHandler } from './$types';

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

async function body(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > 4096) error(413, 'too large');
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  error(400, 'expected a JSON object');
}

function endpointOf(v: unknown): string {
  if (typeof v !== 'string' || v.length > 1000 || !endpointAllowed(v, extraPushOrigins()))
    error(400, 'not a push service endpoint');
  return v;
}

export const GET: RequestHandler = async ({ locals, url }) => {
  if (!locals.user) error(401, 'Not signed in');
  const endpoint = url.searchParams.get('endpoint') ?? '';
  return json(
    { subscribed: endpoint !== '' && (await hasDevice(await getDb(), locals.user.id, endpoint)) },
    { headers: { 'cache-control': 'no-store' } },
  );
};

export const POST: RequestHandler = async ({ locals, request }) => {
  if (!locals.user) error(401, 'Not signed in');
  const b = await body(request);
  const endpoint = endpointOf(b.endpoint);
  const keys = (b.keys ?? {}) as Record<string, unknown>;
  const { p256dh, auth } = keys;
  // p256dh: an uncompressed P-256 point (65 bytes); auth: 16 bytes (RFC 8291)
  if (typeof p256dh !== 'string' || !B64URL.test(p256dh) || p256dh.length > 200)
    error(400, 'keys.p256dh missing');
  const point = Buffer.from(p256dh, 'base64url');
  if (point.length !== 65 || point[0] !== 4) error(400, 'keys.p256dh is not a P-256 public key');
  if (
    typeof auth !== 'string' ||
    !B64URL.test(auth) ||
    Buffer.from(auth, 'base64url').length !== 16
  )
    error(400, 'keys.auth is not 16 bytes');
  const locale = b.locale === 'en' || b.locale === 'id' ? b.locale : locals.locale;
  await saveSubscription(await getDb(), locals.user.id, { endpoint, p256dh, auth, locale });
  return json({ subscribed: true }, { status: 201 });
};

export const DELETE: RequestHandler = async ({ locals, request }) => {
  if (!locals.user) error(401, 'Not signed in');
  const b = await body(request);
  await deleteSubscription(await getDb(), locals.user.id, endpointOf(b.endpoint));
  return json({ subscribed: false });
};
