/**
 * The store handover on web's side (docs/contracts.md "Store handover"): settlement's refusals
 * of a handover worded for staff. The receipts are `$lib/handover/receipt.ts`.
 */
import type { SettlementForReceipt } from '$lib/handover/receipt.ts';
import type { MessageKey } from '$lib/i18n/translate.ts';
import { config } from './config.ts';
import { WebError } from './errors.ts';
import { settlementApi } from './settlement.ts';
import { serviceToken } from './tokens.ts';

/** A wrong or missing pickup code (422), or an order locked after too many (429). */
export function handoverRefusal(
  err: WebError,
): { status: number; error: { key: MessageKey; params?: Record<string, number> } } | null {
  const d = err.details ?? {};
  if (d.upstreamCode === 'pickup_code_mismatch') {
    const triesLeft = typeof d.triesLeft === 'number' ? d.triesLeft : null;
    return {
      status: 422,
      error:
        triesLeft === null
          ? { key: 'handover.codeMissing' }
          : { key: 'handover.codeMismatch', params: { n: triesLeft } },
    };
  }
  if (d.upstreamCode === 'pickup_code_locked') {
    const seconds = typeof d.retryAfterSeconds === 'number' ? d.retryAfterSeconds : 900;
    return {
      status: 429,
      error: { key: 'handover.codeLocked', params: { minutes: Math.ceil(seconds / 60) } },
    };
  }
  return null;
}

/**
 * The settlement a room shows its members, read as that member (settlement checks the token is
 * of this room): the room's current settlement id from the room-server's status, then
 * `GET /settlements/<id>`. Null when the room has no settlement (yet).
 */
export async function roomSettlement(
  roomId: string,
  memberToken: string,
): Promise<SettlementForReceipt | null> {
  const status = await fetch(
    `${config.roomServerHttpUrl}/rooms/${encodeURIComponent(roomId)}/status`,
    {
      headers: { authorization: `Bearer ${await serviceToken(roomId)}` },
      signal: AbortSignal.timeout(5000),
    },
  );
  if (status.status === 404) return null;
  if (!status.ok) throw new WebError('upstream', `room status: ${status.status}`);
  const { settlement } = (await status.json()) as { settlement?: { id?: unknown } | null };
  if (typeof settlement?.id !== 'string') return null;
  const res = await settlementApi(5000).raw(`/settlements/${encodeURIComponent(settlement.id)}`, {
    token: memberToken,
  });
  if (res.status === 404) return null;
  if (!res.ok) throw new WebError('upstream', `settlement: ${res.status}`);
  return (await res.json()) as SettlementForReceipt;
}
