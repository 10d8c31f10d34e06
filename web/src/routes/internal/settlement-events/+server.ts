/**
 * `POST /internal/settlement-events` (a `service` token for every room, `room: "*"`): settlement's
 * outbox delivers its status events here, in order, at least once (docs/contracts.md "Between
 * the room and settlement"). 200 means applied (or seen before); anything else is retried.
 */
import { error, json } from '@sveltejs/kit';
import { verifyToken } from '@patungan/model';
import { SettlementEventsSchema } from '@patungan/model/contracts';
import { getDb } from '$lib/server/app.ts';
import { config } from '$lib/server/config.ts';
import { log } from '$lib/server/log.ts';
import { kickNotifications } from '$lib/server/notify/index.ts';
import { applySettlementEvents } from '$lib/server/notify/triggers.ts';
import type { RequestHandler } from './$types';

const MAX_BYTES = 2 * 1024 * 1024;

export const POST: RequestHandler = async ({ request }) => {
  const auth = request.headers.get('authorization') ?? '';
  let role: string;
  let room: string | undefined;
  try {
    ({ role, room } = await verifyToken(auth.replace(/^Bearer\s+/i, ''), config.tokenSecret));
  } catch {
    error(401, 'service token required');
  }
  if (role !== 'service' || room !== '*') error(403, 'service token for every room required');
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BYTES) error(413, 'too large');
  const text = await request.text();
  if (text.length > MAX_BYTES) error(413, 'too large');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    error(400, 'not JSON');
  }
  const parsed = SettlementEventsSchema.safeParse(body);
  if (!parsed.success) error(400, 'not a list of settlement events');
  const added = await applySettlementEvents(await getDb(), parsed.data.events);
  if (added > 0) kickNotifications();
  log.info(
    {
      events: parsed.data.events.length,
      notifications: added,
      lastSeq: parsed.data.events.at(-1)?.seq,
    },
    'settlement events applied',
  );
  return json({ accepted: parsed.data.events.length, notifications: added });
};
