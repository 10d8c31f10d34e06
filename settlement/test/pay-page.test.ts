/**
 * The `local` pay page as the product's own page (issue 11 item 3) and GET /payment-methods
 * (item 4), over HTTP on a real server: Indonesian by default (English by ?lang=, the web
 * app's language cookie or Accept-Language), amounts as Rp 50.500, the hold's end in Jakarta
 * time (never a UTC ISO string), the member's lines and share, a link back to the room, a
 * second Authorise that shows the paid state, a decline that can be retried, and an ended
 * settlement that says who had not paid.
 */
import { formatMoney } from '@patungan/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setStock, snapshot, startTestService, type TestService } from './support/service.ts';

const STORE = 'jkt-menteng';
const WEB = 'http://127.0.0.1:5999';

/** The text a reader sees (tags, style and script dropped). */
const visible = (html: string) =>
  html
    .replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('the pay page', () => {
  let s: TestService;
  let service: string;

  beforeAll(async () => {
    s = await startTestService('pglite', { holdTtlSeconds: 600, webPublicUrl: WEB });
    service = await s.token('service', 'room-server');
    await setStock(s, STORE, 'MIN-0001', 50);
    await setStock(s, STORE, 'BAY-0001', 50);
  });
  afterAll(async () => s?.stop());

  async function create(members = ['ana', 'budi', 'citra']) {
    const snap = snapshot({
      storeId: STORE,
      members: members.map((id) => ({ id, name: id[0]!.toUpperCase() + id.slice(1) })),
      split: { mode: 'items' },
      lines: [
        { sku: 'MIN-0001', qty: 2, addedBy: 'ana' },
        { sku: 'BAY-0001', qty: 1, addedBy: 'budi', sharedWith: ['budi', 'citra'] },
      ],
    });
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(r.status).toBe(201);
    const view = (await s.request('GET', `/settlements/${r.body.id}`, { token: service })).body;
    return { snap, id: r.body.id as string, view };
  }

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers });
    return { status: res.status, headers: res.headers, html: await res.text() };
  };
  const post = (url: string, action: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `action=${action}`,
    });

  it('speaks Indonesian by default: Rp amounts, Jakarta time, lines, share, link back to the room', async () => {
    const { snap, view } = await create();
    const budi = view.payments.find((p: { memberId: string }) => p.memberId === 'budi');
    const page = await get(budi.payUrl);
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/<html lang="id">/);
    const text = visible(page.html);
    expect(text).toContain('Bayar bagianmu');
    expect(text).toContain(`Bagian Budi`);
    const rp = formatMoney({ amount: budi.amount, currency: 'IDR' }, 'id-ID');
    expect(rp).toMatch(/^Rp\s?[\d.]+$/);
    expect(text).toContain(rp.replace(/\s/g, ' '));
    // the shared line is Budi's (with Citra); Ana's line is not
    const bay = view.lines.find((l: { sku: string }) => l.sku === 'BAY-0001');
    expect(text).toContain(bay.name);
    expect(text).toContain('dibagi 2 orang');
    expect(text).not.toContain(view.lines.find((l: { sku: string }) => l.sku === 'MIN-0001').name);
    // the hold's end in Jakarta time, never the raw UTC ISO string
    const hhmm = new Date(view.holdExpiresAt).toLocaleTimeString('id-ID', {
      hour: '2-digit',
      minute: '2-digit',
      timeZone: 'Asia/Jakarta',
    });
    expect(text).toContain(`Barang ditahan sampai ${hhmm}`);
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(text).not.toMatch(/Authori[sz]e|Hold expires|share at/);
    expect(page.html).toContain(`href="${WEB}/rooms/${snap.roomId}"`);
    expect(text).toContain('Kembali ke ruang belanja');
    expect(page.headers.get('content-language')).toBe('id');
    // the countdown script and the stylesheet run under the page's policy by a fresh nonce
    const csp = page.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).not.toMatch(/unsafe/);
    expect(csp).toContain(`style-src 'nonce-${nonce}'`);
    expect(page.html).toContain(`<script nonce="${nonce}">`);
    expect((await get(budi.payUrl)).headers.get('content-security-policy')).not.toContain(nonce);
  });

  it('speaks English on ?lang=en, the web lang cookie or Accept-Language', async () => {
    const { view } = await create();
    const url = view.payments[0].payUrl as string;
    for (const [u, h] of [
      [`${url}?lang=en`, {}],
      [url, { cookie: 'other=1; patungan_lang=en' }],
      [url, { 'accept-language': 'en-GB,en;q=0.9' }],
    ] as const) {
      const page = await get(u, h);
      expect(page.html).toMatch(/<html lang="en">/);
      expect(visible(page.html)).toContain('Pay your share');
      expect(visible(page.html)).toContain('Back to the room');
    }
    // ?lang= wins over the cookie; Indonesian otherwise
    const id = await get(`${url}?lang=id`, { cookie: 'patungan_lang=en' });
    expect(id.html).toMatch(/<html lang="id">/);
    const fallback = await get(url, { 'accept-language': 'fr-FR,fr' });
    expect(fallback.html).toMatch(/<html lang="id">/);
  });

  it('a second Authorise shows the paid state (200, "Sudah dibayar"), not an error', async () => {
    const { view } = await create();
    const url = view.payments[0].payUrl as string;
    const first = await post(url, 'authorize');
    expect(first.status).toBe(200); // after the 303 back to the page
    expect(visible(await first.text())).toContain('Sudah dibayar');
    const second = await post(url, 'authorize');
    expect(second.status).toBe(200);
    const text = visible(await second.text());
    expect(text).toContain('Sudah dibayar');
    expect(text).not.toMatch(/already|sudah authorized/i);
    // the API is idempotent too
    const json = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'authorize' }),
    });
    expect(json.status).toBe(200);
    expect(((await json.json()) as { status: string }).status).toBe('authorized');
  });

  it('a declined share can be retried on the same page', async () => {
    const { view } = await create();
    const url = view.payments[1].payUrl as string;
    const declined = visible(await (await post(url, 'decline')).text());
    expect(declined).toContain('Pembayaran ditolak');
    expect(declined).toContain('Bayar');
    const paid = visible(await (await post(url, 'authorize')).text());
    expect(paid).toContain('Sudah dibayar');
  });

  it('a cancelled settlement says so plainly and names who had not paid', async () => {
    const { id, view } = await create();
    await post(view.payments[0].payUrl, 'authorize');
    const c = await s.request('POST', `/settlements/${id}/cancel`, {
      token: service,
      body: { reason: 'changed our minds' },
    });
    expect(c.status).toBe(200);
    const text = visible((await get(view.payments[0].payUrl)).html);
    expect(text).toContain('Pesanan ini dibatalkan');
    expect(text).toContain('Belum membayar: Budi, Citra.');
    expect(text).not.toContain('Authorise');
    const en = visible((await get(`${view.payments[1].payUrl}?lang=en`)).html);
    expect(en).toContain('Had not paid: Budi, Citra.');
    // a late tap on a cancelled share explains in the reader's language, not in the API's
    const late = await post(view.payments[1].payUrl, 'authorize');
    expect(late.status).toBe(409);
    const lateText = visible(await late.text());
    expect(lateText).toContain('Bagian ini tidak bisa diubah lagi.');
    expect(lateText).not.toMatch(/This settlement is/);
  });
});

describe('GET /payment-methods', () => {
  // a template database (fast); the service is closed and its database dropped after each
  const start = (o: Parameters<typeof startTestService>[1]) =>
    startTestService('pglite', { worker: false, ...o });
  const methods = async (url: string, q = '') =>
    (await (await fetch(`${url}/payment-methods${q}`)).json()) as {
      items: { method: string; label: string; channels?: string[] }[];
      default: string;
    };

  it('lists local and store when no provider is configured', async () => {
    const s = await start({});
    try {
      const r = await methods(s.url);
      expect(r.items.map((i) => i.method)).toEqual(['local', 'store']);
      expect(r.items[1]!.label).toBe('Bayar di toko saat ambil');
      expect(r.default).toBe('local');
      expect((await methods(s.url, '?lang=en')).items[1]!.label).toBe('Pay at the store on pickup');
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('lists only configured providers; Midtrans with its Indonesian channels', async () => {
    const s = await start({
      stripe: { secretKey: 'sk_test_x' },
      midtrans: { serverKey: 'SB-server', coreBaseUrl: 'http://127.0.0.1:9' },
    });
    try {
      const r = await methods(s.url);
      expect(r.items.map((i) => i.method)).toEqual(['stripe', 'midtrans', 'store']);
      const mt = r.items.find((i) => i.method === 'midtrans')!;
      expect(mt.channels).toEqual(expect.arrayContaining(['other_qris', 'gopay', 'shopeepay']));
      expect(mt.channels!.some((c) => c.endsWith('_va'))).toBe(true);
      expect(mt.label).toBe('QRIS, GoPay, ShopeePay, transfer bank / VA, kartu');
      expect(r.default).toBe('stripe');
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('PAYMENT_METHODS narrows the list; a provider without keys is never listed', async () => {
    const s = await start({ env: { PAYMENT_METHODS: 'store, stripe,local' } });
    try {
      const r = await methods(s.url);
      expect(r.items.map((i) => i.method)).toEqual(['store', 'local']);
      expect(r.default).toBe('local');
    } finally {
      await s.stop();
    }
    await expect(start({ env: { PAYMENT_METHODS: 'local,paypal' } })).rejects.toThrow(
      /PAYMENT_METHODS: unknown method paypal/,
    );
  }, 120_000);
});
