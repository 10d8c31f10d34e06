/**
 * The `local` provider's hosted pay page. Anyone holding the unguessable payment id may open
 * it (DESIGN.md); its buttons POST `action=authorize|decline` as a form (or JSON).
 */
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { formatMoney } from '@patungan/model';
import { localPay } from '../flow/member.ts';
import { SettlementError, notFound } from '../errors.ts';
import { payBody } from '../schemas.ts';
import type { PaymentRow, SettlementRow } from '../flow/rows.ts';
import { paymentView } from '../flow/view.ts';
import { jsonBody, parse, type AppDeps, type C, type Env } from './support.ts';

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );

const STATUS_TEXT: Record<string, string> = {
  pending: 'Waiting for your payment',
  authorized: 'Authorised — you will be charged when the whole group has paid',
  captured: 'Paid',
  declined: 'Declined — try again, or ask a friend to cover your share',
  voided: 'Cancelled — you were not charged',
  refunded: 'Refunded',
  due_at_store: 'Pay at the store when you pick up',
  covered: 'A friend covered this share',
};

const STYLE = `body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
.card{border:1px solid #ddd;border-radius:12px;padding:1.25rem}
.amount{font-size:2rem;font-weight:700;margin:.25rem 0}
.status{padding:.5rem .75rem;border-radius:8px;background:#f4f4f4}
.error{background:#fde8e8;color:#8a1c1c;padding:.5rem .75rem;border-radius:8px}
form{display:flex;gap:.5rem;margin-top:1rem}
button{flex:1;font-size:1rem;padding:.75rem;border-radius:8px;border:0;cursor:pointer}
.ok{background:#1a7f37;color:#fff}.no{background:#eee}
small{color:#666}`;

/**
 * The pay page's policy: nothing but its own inline stylesheet (by hash), no script, forms
 * post only back here, and no other page may frame it (the Authorise button must not be
 * clickjacked). app.ts adds X-Frame-Options, nosniff and Referrer-Policy to every HTML answer.
 */
export const PAY_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function page(p: PaymentRow, s: SettlementRow, storeName: string, message?: string): string {
  const amount = formatMoney({ amount: p.amount, currency: p.currency });
  const canPay =
    p.method === 'local' &&
    s.status === 'awaiting_payment' &&
    s.phase === 'open' &&
    (p.status === 'pending' || p.status === 'declined');
  const until = s.hold_expires_at.toISOString();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay ${esc(amount)} · Patungan</title>
<style>${STYLE}</style></head>
<body><div class="card">
<div>${esc(p.member_name)}'s share at ${esc(storeName)}</div>
<div class="amount" data-testid="amount">${esc(amount)}</div>
<p class="status" data-testid="status" data-status="${esc(p.status)}">${esc(STATUS_TEXT[p.status] ?? p.status)}</p>
${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
${
  canPay
    ? `<form method="post"><button class="ok" name="action" value="authorize">Authorise ${esc(amount)}</button>
<button class="no" name="action" value="decline">Decline</button></form>
<p><small>Hold expires <time datetime="${until}">${until}</time>. Nobody is charged unless the whole group pays.</small></p>`
    : ''
}
</div></body></html>`;
}

export function payRoutes(app: Hono<Env>, d: AppDeps): void {
  const { ctx } = d;

  async function load(id: string) {
    const [p] = await ctx.db.query<PaymentRow>('SELECT * FROM payments WHERE id = $1', [id]);
    if (!p) throw notFound('This payment');
    const [s] = await ctx.db.query<SettlementRow>('SELECT * FROM settlements WHERE id = $1', [
      p.settlement_id,
    ]);
    const [st] = await ctx.db.query<{ name: string }>('SELECT name FROM stores WHERE id = $1', [
      s!.store_id,
    ]);
    return { p, s: s!, storeName: st?.name ?? s!.store_id };
  }

  /** A urlencoded or multipart form; one that cannot be read is the client's 400. */
  async function formBody(c: C): Promise<unknown> {
    try {
      return await c.req.parseBody();
    } catch {
      throw new SettlementError(400, 'invalid_request', 'The form body could not be read');
    }
  }

  const wantsJson = (c: C) => (c.req.header('accept') ?? '').includes('application/json');

  app.get('/pay/:paymentId', async (c) => {
    const { p, s, storeName } = await load(c.req.param('paymentId'));
    if (wantsJson(c))
      return c.json({ ...paymentView(p), settlementId: s.id, settlementStatus: s.status });
    c.header('content-security-policy', PAY_PAGE_CSP);
    return c.html(page(p, s, storeName));
  });

  app.post('/pay/:paymentId', async (c) => {
    const id = c.req.param('paymentId');
    const isForm = (c.req.header('content-type') ?? '').includes('form');
    const raw = isForm ? await formBody(c) : await jsonBody(c);
    try {
      const { action } = parse(payBody, raw);
      const view = await localPay(ctx, id, action);
      if (isForm) return c.redirect(`/pay/${encodeURIComponent(id)}`, 303);
      return c.json(view);
    } catch (err) {
      if (!isForm || !(err instanceof SettlementError) || err.status === 404) throw err;
      const { p, s, storeName } = await load(id);
      c.header('content-security-policy', PAY_PAGE_CSP);
      return c.html(page(p, s, storeName, err.message), err.status as 409);
    }
  });
}
