/**
 * `POST /rooms/<id>/settlements/<settlementId>/payments/<memberId>/cover|retry` → settlement's
 * member actions on a share, same origin: cover a friend's open share, or pay one's own
 * another way. Body `{method?}` (JSON, at most 4 KB), passed on as it is.
 *
 * The browser talks only to web (docs/decisions/0007-one-route-from-the-browser.md). This
 * route says who is asking — the signed-in member of this room, as a join token with their
 * role — and settlement decides what they may do, as it always has: the settlement must be
 * this room's, and only the member themselves may retry their share. Settlement's status and
 * body pass through unchanged (200 the settlement, 403 / 404 / 409 / 422 its refusal); an
 * unreachable settlement is a 502 in the same error shape. 401 not signed in, 403 not a
 * member, 404 unknown room or action, 415 not JSON.
 */
import { error } from '@sveltejs/kit';
import { log } from '$lib/server/log.ts';
import { roomAccess } from '$lib/server/room-access.ts';
import { settlementApi } from '$lib/server/settlement.ts';
import { errorResponse } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

const ACTIONS = new Set(['cover', 'retry']);
/** Settlement ids (`stl_…`) and member ids are short url-safe strings. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_BODY = 4096;
/** Give up on settlement after this long (a retry may call a payment provider). */
const TIMEOUT_MS = 20_000;

export const POST: RequestHandler = async ({ params, locals, request }) => {
  if (!ACTIONS.has(params.action)) error(404, 'No such action');
  if (!ID.test(params.settlementId) || !ID.test(params.memberId)) error(404, 'No such payment');
  const access = await roomAccess(locals.user, params.id);
  // JSON only: a cross-site page cannot send it without a preflight this site never answers.
  if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? ''))
    error(415, 'Send the body as application/json');
  const body = await request.text();
  if (body.length > MAX_BODY) error(413, 'Request too large');

  let parsed: unknown;
  try {
    parsed = body ? JSON.parse(body) : {};
  } catch {
    return errorResponse(400, 'invalid_request', 'The body is not valid JSON.');
  }

  const path = `/settlements/${params.settlementId}/payments/${params.memberId}/${params.action}`;
  let res: Response;
  try {
    // Not tied to the browser's request: an action under way finishes even if the phone
    // drops, and the room shows its outcome.
    res = await settlementApi(TIMEOUT_MS).raw(path, {
      method: 'POST',
      token: await access.token(),
      body: parsed,
    });
  } catch (err) {
    log.warn({ err: String(err), path }, 'settlement unreachable');
    return errorResponse(
      502,
      'settlement_unavailable',
      'The shop is not reachable right now; try again shortly.',
    );
  }
  return new Response(await res.text(), {
    status: res.status,
    headers: {
      'content-type': res.headers.get('content-type') ?? 'application/json',
      'cache-control': 'no-store',
    },
  });
};
