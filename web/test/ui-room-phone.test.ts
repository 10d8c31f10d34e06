/**
 * Issue 11, items 8, 10 and 11, on a phone (390×844, id-ID, Asia/Jakarta) against the real
 * stack: the quantity box, the room's phone layout and the catalog's product pictures.
 * Screenshots go to web/test-artifacts/ (ignored by git).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { browserStack } from './helpers/browser-stack.ts';
import {
  PHONE,
  STEP,
  add,
  createRoom,
  joinAsGuest,
  register,
  roomReady,
  search,
  shot,
  tab,
  until,
} from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' }, 600_000);

const open = () => t.phone();

const dumpOnFailure = () => t.dumpOnFailure('ui-failure', 3000);

const group = (page: Page, sku: string) =>
  page.locator(`[data-testid=cart-group][data-sku="${sku}"]`);

/** The cart's total in rupiah, read from the page's total line. */
async function total(page: Page): Promise<number> {
  const text = (await page.locator('[data-testid=cart-total]').textContent()) ?? '';
  return Number(text.replace(/\D/g, ''));
}

async function priceOf(page: Page, sku: string): Promise<number> {
  const text = await page
    .locator(`[data-testid=product][data-sku="${sku}"] .price`)
    .first()
    .textContent();
  return Number((text ?? '').replace(/\D/g, ''));
}

/** Stores a room at a known store with enough stock of `sku`: its id and available count. */
async function chooseStore(page: Page): Promise<{ id: string; name: string }> {
  await tab(page, 'pay');
  const store = page.locator('[data-testid=store]:has([data-testid=store-ok])').first();
  await store.waitFor({ timeout: STEP });
  const id = (await store.getAttribute('data-store'))!;
  await store.getByRole('button').first().click();
  await page.locator(`[data-testid=store].is-chosen[data-store="${id}"]`).waitFor();
  const name = (await store.locator('h3, strong').first().textContent())?.trim() ?? '';
  return { id, name };
}

async function stockAt(storeId: string, sku: string): Promise<number> {
  const res = await fetch(`${t.stack.settlementUrl}/stores/${storeId}/stock`);
  const body = (await res.json()) as { items: { sku: string; available: number }[] };
  return body.items.find((i) => i.sku === sku)!.available;
}

describe('the quantity box (item 8)', () => {
  let A: { ctx: BrowserContext; page: Page };
  let teh = '';
  let price = 0;
  const qty = () => group(A.page, teh).locator('[data-testid=qty]');
  const message = () => group(A.page, teh).locator('[data-testid=qty-message]');
  /** Puts the line back to one (answering a removal or budget question if one comes up). */
  async function backToOne(): Promise<void> {
    await tab(A.page, 'cart');
    await qty().fill('1');
    await qty().press('Enter');
    await until('one in the cart', async () => (await total(A.page)) === price);
  }

  beforeAll(async () => {
    A = await open();
    await register(A.page, 'Sari');
    await createRoom(A.page, 'Arisan Kos', 60_000);
    teh = await search(A.page, 'Teh Botol');
    price = await priceOf(A.page, teh);
    await add(A.page, teh);
    await tab(A.page, 'cart');
    await qty().waitFor();
  }, 120_000);

  it('2.5 is refused: the box shows what the cart holds and says why', async () => {
    dumpOnFailure();
    await tab(A.page, 'cart');
    await qty().fill('2.5');
    await qty().press('Enter');
    await until(
      'the cart and the box to agree',
      async () => {
        const inCart = (await total(A.page)) / price;
        return Number.isInteger(inCart) && (await qty().inputValue()) === String(inCart);
      },
      5_000,
    );
    await message().waitFor({ timeout: 5_000 });
    await shot(A.page, 'ui-qty-fraction');
    await backToOne();
  });

  it('warns about the budget while typing, before anything is saved', async () => {
    dumpOnFailure();
    await tab(A.page, 'cart');
    const over = Math.ceil(60_000 / price) + 1;
    await qty().fill(String(over));
    await group(A.page, teh)
      .locator('[data-testid=qty-budget]', { hasText: /anggaran/i })
      .waitFor({ timeout: 5_000 });
    expect(await total(A.page)).toBe(price);
    await shot(A.page, 'ui-qty-budget');
    await backToOne();
  });

  it('99999 is capped with the maximum and the reason said', async () => {
    dumpOnFailure();
    await tab(A.page, 'cart');
    await qty().fill('99999');
    await qty().press('Enter');
    await message()
      .filter({ hasText: /9\.?999/ })
      .waitFor({ timeout: 5_000 });
    await until('the box to show the cart', async () => {
      const inCart = (await total(A.page)) / price;
      return (await qty().inputValue()) === String(inCart);
    });
    await backToOne();
  });

  it('with a store chosen, its stock is the limit and is named', async () => {
    dumpOnFailure();
    const store = await chooseStore(A.page);
    const available = await stockAt(store.id, teh);
    await tab(A.page, 'cart');
    await qty().fill('99999');
    await qty().press('Enter');
    await message().filter({ hasText: /stok/i }).waitFor({ timeout: 5_000 });
    expect(await message().textContent()).toContain(String(available));
    await shot(A.page, 'ui-qty-stock');
    await backToOne();
  });

  it('0 and −1 ask before removing the line', async () => {
    dumpOnFailure();
    await tab(A.page, 'cart');
    await qty().fill('0');
    await qty().press('Enter');
    const confirm = group(A.page, teh).locator('[data-testid=qty-remove-confirm]');
    await confirm.waitFor({ timeout: 5_000 });
    expect(await group(A.page, teh).count()).toBe(1);
    await shot(A.page, 'ui-qty-remove-confirm');
    await confirm.getByRole('button', { name: 'Batal' }).click();
    await until('the box to show 1', async () => (await qty().inputValue()) === '1');
    expect(await group(A.page, teh).count()).toBe(1);
    await qty().fill('-1');
    await qty().press('Enter');
    await confirm.waitFor();
    await confirm.getByRole('button', { name: /Hapus/ }).click();
    await until('the line to go', async () => (await group(A.page, teh).count()) === 0);
  });
});

describe('the room on a phone (item 10)', () => {
  let A: { ctx: BrowserContext; page: Page };
  let teh = '';
  const initialsOf = (name: string) =>
    A.page.locator('[data-testid=peer]', { hasText: name }).locator('.avatar').textContent();

  beforeAll(async () => {
    A = await open();
    await register(A.page, 'Anindya Kusumawardhani Prasetyaningrum');
    await createRoom(A.page, 'Belanja Bulanan Kos Melati', 150_000);
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    const B = await open();
    await joinAsGuest(B.page, invite, 'Budi 😀');
    await A.page.locator('[data-testid=peer]', { hasText: 'Budi' }).waitFor();
    teh = await search(A.page, 'Teh Botol');
    await add(A.page, teh);
    await tab(A.page, 'catalog');
    await A.page.evaluate(() => window.scrollTo(0, 0));
    await shot(A.page, 'ui-room-top');
  }, 120_000);

  it('initials are whole graphemes: "Budi 😀" → "B😀"', async () => {
    dumpOnFailure();
    expect((await initialsOf('Budi'))?.trim()).toBe('B😀');
  });

  it('presence bubbles stay small whatever the name', async () => {
    dumpOnFailure();
    const widths = await A.page
      .locator('[data-testid=peer]')
      .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
    console.log(
      `[measure] presence bubble widths ${widths.map((w) => w.toFixed(0)).join(', ')} px`,
    );
    expect(widths.length).toBe(2);
    for (const w of widths) expect(w).toBeLessThanOrEqual(72);
  });

  it('the first screen is mostly the room: the search box is in the top third', async () => {
    dumpOnFailure();
    await tab(A.page, 'catalog');
    const top = await A.page.locator('#catalog-q').evaluate((e) => {
      window.scrollTo(0, 0);
      return e.getBoundingClientRect().top;
    });
    console.log(`[measure] catalog search box top at ${top.toFixed(0)} px of ${PHONE.height}`);
    await shot(A.page, 'ui-room-first-screen');
    expect(top).toBeLessThan(PHONE.height / 3);
  });

  it('tapping a product in the cart opens it where it can be seen', async () => {
    dumpOnFailure();
    await tab(A.page, 'cart');
    await group(A.page, teh).locator('h3 button').click();
    const detail = A.page.locator(`[data-testid=product-detail][data-sku="${teh}"]`);
    await detail.waitFor({ state: 'visible', timeout: 5_000 });
    expect(await A.page.locator('[data-testid=tab-catalog]').getAttribute('aria-pressed')).toBe(
      'true',
    );
    expect((await detail.boundingBox())!.y).toBeLessThan(PHONE.height);
    await A.page.getByRole('button', { name: /Kembali ke katalog/ }).click();
  });

  it('the open tab survives a reload', async () => {
    dumpOnFailure();
    await tab(A.page, 'pay');
    await A.page.reload();
    await roomReady(A.page);
    expect(await A.page.locator('[data-testid=tab-pay]').getAttribute('aria-pressed')).toBe('true');
  });

  it('a half-typed note survives a reload', async () => {
    dumpOnFailure();
    await tab(A.page, 'cart');
    const note = () => group(A.page, teh).locator('input[id$="-note"]');
    await note().click();
    await note().pressSequentially('yang dingin ya');
    await A.page.reload();
    await roomReady(A.page);
    await tab(A.page, 'cart');
    await until(
      'the note draft back',
      async () => (await note().inputValue()) === 'yang dingin ya',
      5_000,
    );
    await shot(A.page, 'ui-room-cart-draft');
    await note().press('Enter');
  });

  it('keyboard focus never hides under the tab bar', async () => {
    dumpOnFailure();
    await search(A.page, 'Sabun');
    await A.page.evaluate(() => window.scrollTo(0, 0));
    await A.page.locator('#catalog-q').focus();
    let hidden: string | null = null;
    for (let i = 0; i < 40 && !hidden; i++) {
      await A.page.keyboard.press('Tab');
      hidden = await A.page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        const bar = document.querySelector('nav.tabs');
        if (!el || !bar || bar.contains(el) || el === document.body) return null;
        const r = el.getBoundingClientRect();
        const top = bar.getBoundingClientRect().top;
        return r.bottom > top + 1
          ? `${el.tagName} "${el.textContent?.trim()}" ends at ${r.bottom}, bar at ${top}`
          : null;
      });
    }
    expect(hidden).toBeNull();
  });

  it('amounts never break between "Rp" and the number, even at 320 px', async () => {
    dumpOnFailure();
    await A.page.setViewportSize({ width: 320, height: 700 });
    try {
      for (const t of ['catalog', 'cart', 'pay'] as const) {
        await tab(A.page, t);
        const broken = await A.page.evaluate(() => {
          const out: string[] = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const text = n.textContent ?? '';
            for (const m of text.matchAll(/Rp[\s\u00a0]+[\d.]+/g)) {
              const r = document.createRange();
              r.setStart(n, m.index);
              r.setEnd(n, m.index + m[0].length);
              const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
              if (tops.size > 1) out.push(m[0]);
            }
          }
          return out;
        });
        expect(broken, t).toEqual([]);
      }
    } finally {
      await A.page.setViewportSize(PHONE);
    }
  });
});

describe('a settled room on a phone (item 10)', () => {
  let A: { ctx: BrowserContext; page: Page };
  let B: { ctx: BrowserContext; page: Page };
  let store = { id: '', name: '' };

  beforeAll(async () => {
    A = await open();
    await register(A.page, 'Ani');
    await createRoom(A.page, 'Piknik');
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    B = await open();
    await joinAsGuest(B.page, invite, 'Budi');
    const C = await open();
    await joinAsGuest(C.page, invite, 'Citra');
    const teh = await search(A.page, 'Teh Botol');
    await add(A.page, teh);
    const air = await search(B.page, 'Air Mineral');
    await add(B.page, air);
    await search(C.page, 'Teh Botol');
    await add(C.page, teh);
    // Ani and Budi pay at the store; Citra's share stays open and Budi covers it.
    for (const p of [A.page, B.page]) {
      await tab(p, 'pay');
      await p.getByLabel('Bayar di toko').first().check();
    }
    store = await chooseStore(A.page);
    await A.page.locator('[data-testid=finalise]').click();
    await A.page.locator('[data-testid=finalise-confirm]').click();
    await B.page.locator('[data-testid=cover]').first().waitFor({ timeout: 30_000 });
    await B.page.locator('[data-testid=cover]').first().click();
    await A.page.locator('[data-testid=payment][data-status=covered]').waitFor({ timeout: STEP });
    await shot(A.page, 'ui-room-payments');
  }, 180_000);

  it("the organiser's own payment is listed first", async () => {
    dumpOnFailure();
    expect(await A.page.locator('[data-testid=payment]').first().textContent()).toContain('Kamu');
    expect(await B.page.locator('[data-testid=payment]').first().textContent()).toContain('Ani');
  });

  it('a covered share says which friend paid it', async () => {
    dumpOnFailure();
    expect(
      await A.page.locator('[data-testid=payment][data-status=covered]').textContent(),
    ).toContain('Budi');
  });

  it('a completed room offers no invite', async () => {
    dumpOnFailure();
    const login = t.stack.staff.find((s) => s.storeId === store.id)!;
    const S = await open();
    await S.page.goto('/login');
    await S.page.fill('#email', login.email);
    await S.page.fill('#password', login.password);
    await S.page.locator('main form button[type=submit]').click();
    await S.page.waitForURL((u) => u.pathname !== '/login');
    await S.page.goto(`/staff/${store.id}`);
    const order = S.page.locator('[data-testid=orders] > li').first();
    await order.waitFor({ timeout: STEP });
    for (const label of ['Sudah dikemas', 'Siap diambil']) {
      await order.getByRole('button', { name: label }).click({ timeout: STEP });
    }
    // the handover: staff type the code the shoppers show (docs/contracts.md "Store handover")
    const code = A.page.locator('[data-testid=pickup-code]');
    await code.waitFor({ timeout: 30_000 });
    await order.locator('[data-testid=handover-code]').fill((await code.textContent())!.trim());
    await order.getByRole('button', { name: 'Serahkan pesanan' }).click({ timeout: STEP });
    await A.page
      .locator('[data-testid=room-status][data-status=completed]')
      .waitFor({ timeout: 30_000 });
    await A.page.evaluate(() => window.scrollTo(0, 0));
    await shot(A.page, 'ui-room-completed');
    expect(await A.page.locator('[data-testid=copy-invite]').count()).toBe(0);
    expect(await A.page.locator('a[href$="/invite"]').count()).toBe(0);
  }, 60_000);
});

describe('product pictures (item 11)', () => {
  it('catalog cards show pictures that load, not initials', async () => {
    dumpOnFailure();
    const A = await open();
    await register(A.page, 'Wulan');
    await createRoom(A.page, 'Dapur');
    await A.page.locator('[data-testid=product] img').first().waitFor();
    const imgs = A.page.locator('[data-testid=product] img');
    await until('pictures to load', () =>
      imgs.evaluateAll((els) =>
        els.every(
          (e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0,
        ),
      ),
    );
    const srcs = await imgs.evaluateAll((els) => els.map((e) => (e as HTMLImageElement).src));
    expect(srcs.length).toBeGreaterThan(4);
    for (const src of srcs) expect(src.startsWith('data:')).toBe(false);
    // Served as small cached files.
    const res = await A.ctx.request.get(srcs[0]!);
    expect(res.ok()).toBe(true);
    expect(res.headers()['content-type']).toContain('image/svg+xml');
    expect(res.headers()['cache-control']).toMatch(/max-age=\d+/);
    expect((await res.body()).length).toBeLessThan(4096);
    // Different products look different.
    expect(new Set(srcs).size).toBe(srcs.length);
    const bodies = await Promise.all(
      srcs.slice(0, 6).map(async (s) => (await A.ctx.request.get(s)).text()),
    );
    expect(new Set(bodies).size).toBe(bodies.length);
    // No letters drawn as a picture.
    for (const b of bodies) expect(b).not.toMatch(/<text/);
    await shot(A.page, 'ui-catalog-pictures');
  }, 120_000);
});
