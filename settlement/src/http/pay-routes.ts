/**
 * The `local` provider's hosted pay page. Anyone holding the unguessable payment id may open
 * it (docs/contracts.md "Settlement API"); its buttons POST `action=authorize|decline` as a form (or JSON).
 */
import { randomBytes } from 'node:crypto';
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

type Lang = 'id' | 'en';

/** The page's words. `{x}` is replaced by an already escaped value. */
const TEXT = {
  id: {
    title: 'Bayar bagianmu',
    shareOf: 'Bagian {name}',
    at: 'Ambil di {store}',
    yourLines: 'Barangmu',
    sharedBy: 'dibagi {n} orang',
    yourShare: 'Bagianmu',
    alsoCovering: 'Termasuk bagian {names} yang kamu tanggung.',
    authorise: 'Bayar {amount}',
    decline: 'Tolak',
    holdUntil: 'Barang ditahan sampai {time}',
    left: 'sisa',
    nobodyCharged: 'Tidak ada yang ditagih sampai semua anggota membayar.',
    backToRoom: 'Kembali ke ruang belanja',
    paid: 'Sudah dibayar',
    status: {
      pending: 'Menunggu pembayaranmu',
      authorized: 'Sudah dibayar. Uangmu baru ditarik setelah semua anggota membayar.',
      captured: 'Sudah dibayar',
      declined: 'Pembayaran ditolak. Coba lagi, atau minta teman menanggung bagianmu.',
      voided: 'Dibatalkan. Kamu tidak ditagih.',
      refunded: 'Dana sudah dikembalikan.',
      due_at_store: 'Bayar di toko saat mengambil barang.',
      covered: 'Bagianmu sudah ditanggung teman.',
    } as Record<string, string>,
    otherMethod: 'Bagian ini dibayar dengan {method}, bukan di halaman ini.',
    expired: 'Waktu pembayaran habis. Barang dikembalikan ke rak dan tidak ada yang ditagih.',
    cancelled: 'Pesanan ini dibatalkan. Tidak ada yang ditagih.',
    notPaidBy: 'Belum membayar: {names}.',
    closed: 'Pembayaran untuk pesanan ini sudah ditutup.',
    groupPaid: 'Semua anggota sudah membayar.',
    cannot: 'Bagian ini tidak bisa diubah lagi.',
    badRequest: 'Permintaan tidak dikenali. Pilih salah satu tombol di bawah.',
    lang: 'English',
  },
  en: {
    title: 'Pay your share',
    shareOf: "{name}'s share",
    at: 'Pick up at {store}',
    yourLines: 'Your items',
    sharedBy: 'shared by {n}',
    yourShare: 'Your share',
    alsoCovering: "Includes {names}'s share, which you are covering.",
    authorise: 'Authorise {amount}',
    decline: 'Decline',
    holdUntil: 'Items held until {time}',
    left: 'left',
    nobodyCharged: 'Nobody is charged unless the whole group pays.',
    backToRoom: 'Back to the room',
    paid: 'Paid',
    status: {
      pending: 'Waiting for your payment',
      authorized: 'Paid. You are charged once the whole group has paid.',
      captured: 'Paid',
      declined: 'Declined. Try again, or ask a friend to cover your share.',
      voided: 'Cancelled. You were not charged.',
      refunded: 'Refunded.',
      due_at_store: 'Pay at the store when you pick up.',
      covered: 'A friend covered your share.',
    } as Record<string, string>,
    otherMethod: 'This share is paid with {method}, not on this page.',
    expired: 'Time ran out. The items went back on the shelf and nobody was charged.',
    cancelled: 'This order was cancelled. Nobody was charged.',
    notPaidBy: 'Had not paid: {names}.',
    closed: 'Payment for this order is closed.',
    groupPaid: 'Everyone in the group has paid.',
    cannot: 'This share can no longer change.',
    badRequest: 'That request was not understood. Use one of the buttons below.',
    lang: 'Bahasa Indonesia',
  },
} as const;

const fill = (t: string, vars: Record<string, string>) =>
  t.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');

/**
 * The page's language: `?lang=` first, then the web app's language cookie (`patungan_lang`,
 * sent when web and settlement share a host), then Accept-Language; Indonesian by default.
 */
export function payLang(c: C): Lang {
  const q = c.req.query('lang');
  if (q === 'en' || q === 'id') return q;
  const cookie = /(?:^|;\s*)patungan_lang=(en|id)\b/.exec(c.req.header('cookie') ?? '');
  if (cookie) return cookie[1] as Lang;
  for (const part of (c.req.header('accept-language') ?? '').split(',')) {
    const tag = part.trim().slice(0, 2).toLowerCase();
    if (tag === 'id' || tag === 'en') return tag;
  }
  return 'id';
}

/** Patungan's look (web/src/app.css), small enough to inline. */
const STYLE = `
:root{--bg:#f6f7f9;--surface:#fff;--text:#1a1d23;--muted:#4b5563;--primary:#0f766e;--primary-dark:#115e59;--primary-soft:#ccfbf1;--danger:#b91c1c;--danger-soft:#fee2e2;--ok:#166534;--ok-soft:#dcfce7;--warn:#92400e;--warn-soft:#fef3c7;--border:#d1d5db;--focus:#2563eb;--radius:10px}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:16px;line-height:1.5}
header{background:var(--primary);color:#fff;padding:.75rem 1rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff}
.brand{font-weight:800;font-size:1.15rem;letter-spacing:.01em}
main{max-width:28rem;margin:0 auto;padding:1rem}
.card{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:1rem;box-shadow:0 1px 2px rgb(0 0 0/.06),0 1px 3px rgb(0 0 0/.08)}
h1{font-size:1.35rem;margin:0 0 .25rem}
.muted{color:var(--muted)}
.amount{font-size:2rem;font-weight:700;margin:.25rem 0;white-space:nowrap}
ul{list-style:none;padding:0;margin:.5rem 0}
li{display:flex;justify-content:space-between;gap:.75rem;padding:.35rem 0;border-bottom:1px solid #eef0f3}
.nowrap{white-space:nowrap}
.notice{padding:.6rem .8rem;border-radius:8px;margin:.75rem 0}
.ok{background:var(--ok-soft);color:var(--ok);font-weight:600}
.warn{background:var(--warn-soft);color:var(--warn)}
.error{background:var(--danger-soft);color:var(--danger)}
.info{background:var(--primary-soft);color:var(--primary-dark)}
form{display:flex;gap:.5rem;margin-top:1rem}
button{flex:1;font:inherit;font-weight:700;min-height:48px;padding:.6rem;border-radius:8px;border:1px solid transparent;cursor:pointer}
.pay{flex:2;background:var(--primary);color:#fff}.no{background:var(--surface);border-color:var(--border);color:var(--text)}
a.back{display:block;text-align:center;margin-top:1rem;color:var(--primary-dark);font-weight:600;min-height:44px;line-height:44px}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.timer{font-variant-numeric:tabular-nums;font-weight:700}
`;

/**
 * The live countdown and the expiry in the reader's own time zone. CSP allows it by nonce.
 */
const SCRIPT = `(function(){var t=document.querySelector('time[data-until]');if(!t)return;
var until=Date.parse(t.getAttribute('datetime'));var lang=document.documentElement.lang;
try{t.textContent=new Date(until).toLocaleTimeString(lang==='en'?'en-GB':'id-ID',{hour:'2-digit',minute:'2-digit'});}catch(e){}
var c=document.getElementById('countdown');if(!c)return;
function tick(){var s=Math.max(0,Math.floor((until-Date.now())/1000));
c.textContent=String(Math.floor(s/60)).padStart(2,'0')+':'+String(s%60).padStart(2,'0');
if(s===0){clearInterval(h);setTimeout(function(){location.reload();},3000);}}
var h=setInterval(tick,1000);tick();})();`;

export interface PayPageData {
  p: PaymentRow;
  s: SettlementRow;
  storeName: string;
  lines: {
    name: string;
    qty: number;
    amount: number;
    added_by: string;
    shared_with: string[] | null;
  }[];
  payments: Pick<PaymentRow, 'member_id' | 'member_name' | 'status' | 'covered_by'>[];
  roomUrl: string | null;
}

function page(d: PayPageData, lang: Lang, nonce: string, now: Date, message?: string): string {
  const { p, s } = d;
  const T = TEXT[lang];
  const money = (amount: number) =>
    esc(formatMoney({ amount, currency: p.currency }, lang === 'en' ? 'en-US' : 'id-ID'));
  const amount = money(p.amount);
  const open = s.status === 'awaiting_payment' && s.phase === 'open';
  const canPay =
    p.method === 'local' && open && (p.status === 'pending' || p.status === 'declined');
  const paid = p.status === 'authorized' || p.status === 'captured';
  const ended = s.status === 'expired' || s.status === 'cancelled';
  const nameOf = (id: string) => d.payments.find((x) => x.member_id === id)?.member_name ?? id;
  const mine = d.lines.filter(
    (l) =>
      l.shared_with?.includes(p.member_id) ||
      (!l.shared_with?.length && l.added_by === p.member_id),
  );
  const covering = d.payments.filter((x) => x.covered_by === p.member_id).map((x) => x.member_name);
  const until = s.hold_expires_at.toISOString();
  // Rendered on the server in Jakarta time; the script rewrites it in the reader's zone.
  const untilText = s.hold_expires_at.toLocaleTimeString(lang === 'en' ? 'en-GB' : 'id-ID', {
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'Asia/Jakarta',
  });
  const left = Math.max(0, Math.floor((s.hold_expires_at.getTime() - now.getTime()) / 1000));
  const mmss = `${String(Math.floor(left / 60)).padStart(2, '0')}:${String(left % 60).padStart(2, '0')}`;
  const unpaid = (s.unpaid ?? []).map(nameOf);

  let state: string;
  if (ended) {
    state = `<div class="notice warn" role="status" data-testid="ended" data-status="${esc(s.status)}">
<p>${esc(s.status === 'expired' ? T.expired : T.cancelled)}</p>
${unpaid.length ? `<p data-testid="unpaid">${fill(T.notPaidBy, { names: esc(unpaid.join(', ')) })}</p>` : ''}</div>`;
  } else if (paid) {
    state = `<p class="notice ok" data-testid="paid" role="status">✓ ${esc(T.paid)}</p>
<p class="muted">${esc(s.status === 'awaiting_payment' ? T.status.authorized! : T.groupPaid)}</p>`;
  } else if (p.method !== 'local' && p.status === 'pending') {
    state = `<p class="notice info" role="status">${fill(T.otherMethod, { method: esc(p.method) })}</p>`;
  } else {
    const cls = p.status === 'declined' ? 'error' : p.status === 'pending' ? 'info' : 'warn';
    state = `<p class="notice ${cls}" role="status">${esc(T.status[p.status] ?? p.status)}</p>`;
  }
  if (!ended && !open && !paid && !canPay && p.status !== 'covered' && p.status !== 'due_at_store')
    state += `<p class="muted">${esc(T.closed)}</p>`;

  const other = lang === 'en' ? 'id' : 'en';
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(T.title)} · Patungan</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body><header><span class="brand">Patungan</span><a href="?lang=${other}" hreflang="${other}" lang="${other}">${esc(T.lang)}</a></header>
<main><div class="card">
<h1>${esc(T.title)}</h1>
<p class="muted">${fill(T.shareOf, { name: esc(p.member_name) })} · ${fill(T.at, { store: esc(d.storeName) })}</p>
<div class="amount" data-testid="amount">${amount}</div>
<div data-testid="status" data-status="${esc(p.status)}">${state}</div>
${message ? `<p class="notice error" role="alert" data-testid="message">${esc(message)}</p>` : ''}
${
  mine.length
    ? `<p class="muted"><strong>${esc(T.yourLines)}</strong></p>
<ul data-testid="lines">${mine
        .map(
          (l) =>
            `<li><span>${l.qty} × ${esc(l.name)}${l.shared_with && l.shared_with.length > 1 ? ` <span class="muted">(${fill(T.sharedBy, { n: String(l.shared_with.length) })})</span>` : ''}</span><span class="nowrap">${money(l.amount)}</span></li>`,
        )
        .join('')}</ul>`
    : ''
}
<p><strong>${esc(T.yourShare)}:</strong> <span class="nowrap" data-testid="share">${money(p.share)}</span></p>
${covering.length ? `<p class="muted">${fill(T.alsoCovering, { names: esc(covering.join(', ')) })}</p>` : ''}
${
  canPay
    ? `<form method="post"><button class="pay" name="action" value="authorize" data-testid="authorize">${fill(T.authorise, { amount: `<span class="nowrap">${amount}</span>` })}</button>
<button class="no" name="action" value="decline" data-testid="decline">${esc(T.decline)}</button></form>`
    : ''
}
${
  open && !ended
    ? `<p class="muted" data-testid="hold">${fill(T.holdUntil, { time: `<time data-until datetime="${until}">${esc(untilText)}</time>` })} · ${esc(T.left)} <span id="countdown" class="timer" role="timer" data-testid="countdown">${mmss}</span></p>
<p class="muted">${esc(T.nobodyCharged)}</p>`
    : ''
}
</div>
${d.roomUrl ? `<a class="back" href="${esc(d.roomUrl)}" data-testid="back">← ${esc(T.backToRoom)}</a>` : ''}
</main>
${open && !ended ? `<script nonce="${nonce}">${SCRIPT}</script>` : ''}
</body></html>`;
}

/**
 * The pay page's policy: nothing but its own inline stylesheet and countdown script (by a
 * fresh nonce per answer), forms post only back here, and no other page may frame it (the
 * Authorise button must not be clickjacked). app.ts adds X-Frame-Options, nosniff and
 * Referrer-Policy to every HTML answer.
 */
export const payPageCsp = (nonce: string) =>
  [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');

/** The pay page's extra settings (server.ts passes them next to AppDeps). */
export interface PayPageDeps {
  /** Base URL of the web app; the page links back to `<webPublicUrl>/rooms/<roomId>`. */
  webPublicUrl?: string;
}

export function payRoutes(app: Hono<Env>, d: AppDeps & PayPageDeps): void {
  const { ctx } = d;

  async function load(id: string): Promise<PayPageData> {
    const [p] = await ctx.db.query<PaymentRow>('SELECT * FROM payments WHERE id = $1', [id]);
    if (!p) throw notFound('This payment');
    const [s] = await ctx.db.query<SettlementRow>('SELECT * FROM settlements WHERE id = $1', [
      p.settlement_id,
    ]);
    const [st] = await ctx.db.query<{ name: string }>('SELECT name FROM stores WHERE id = $1', [
      s!.store_id,
    ]);
    const lines = await ctx.db.query<PayPageData['lines'][number]>(
      `SELECT name, qty, amount, added_by, shared_with FROM settlement_lines
       WHERE settlement_id = $1 ORDER BY line_id`,
      [s!.id],
    );
    const payments = await ctx.db.query<PayPageData['payments'][number]>(
      `SELECT member_id, member_name, status, covered_by FROM payments
       WHERE settlement_id = $1 ORDER BY position`,
      [s!.id],
    );
    return {
      p,
      s: s!,
      storeName: st?.name ?? s!.store_id,
      lines: lines.map((l) => ({ ...l, qty: Number(l.qty), amount: Number(l.amount) })),
      payments,
      roomUrl: d.webPublicUrl ? `${d.webPublicUrl}/rooms/${encodeURIComponent(s!.room_id)}` : null,
    };
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

  function html(c: C, data: PayPageData, status: 200 | 400 | 409 | 422, message?: string) {
    const nonce = randomBytes(16).toString('base64');
    c.header('content-security-policy', payPageCsp(nonce));
    c.header('cache-control', 'no-store');
    c.header('content-language', payLang(c));
    return c.html(page(data, payLang(c), nonce, ctx.clock.now(), message), status);
  }

  app.get('/pay/:paymentId', async (c) => {
    const data = await load(c.req.param('paymentId'));
    if (wantsJson(c))
      return c.json({
        ...paymentView(data.p),
        settlementId: data.s.id,
        settlementStatus: data.s.status,
      });
    return html(c, data, 200);
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
      const data = await load(id);
      // The page says where the share and the group stand; the message only why nothing
      // changed, in the reader's language (the API's English message stays in the log).
      ctx.log.info(
        {
          settlementId: data.s.id,
          roomId: data.s.room_id,
          memberId: data.p.member_id,
          code: err.code,
        },
        'pay page refused',
      );
      const T = TEXT[payLang(c)];
      const message = err.code === 'invalid_request' ? T.badRequest : T.cannot;
      return html(c, data, err.status as 400 | 409 | 422, message);
    }
  });
}
