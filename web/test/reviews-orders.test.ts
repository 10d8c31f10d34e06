/**
 * Issue 14 items 4 and 5 in a real browser on a phone: a member whose group's order was
 * picked up opens their order history from the profile (room, store, what they paid, the
 * receipt link), rates a product there (HTML refused, plain text saved, a second save edits
 * it), sees the rating on the room's catalog card and the review in the product detail; the
 * store's staff see it on their reviews page; another user's history does not show the order.
 *
 * The completed order is made through settlement's API the way a real one gets there (paid on
 * the local pay page, packed, ready, handed over): settlement/test/support/orders.ts, the one
 * place tests complete an order.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { completeOrder } from '../../settlement/test/support/orders.ts';
import { seriousA11yViolations } from './helpers/axe.ts';
import { browserStack } from './helpers/browser-stack.ts';
import { STEP, createRoom, register, roomReady, search, until } from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' });

/** Screenshots for a person to look at (outside the repository). */
const SHOTS = process.env.REVIEWS_SHOTS_DIR;
async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The signed-in user's id: the subject of the room token web issues them. */
async function userIdIn(page: Page, roomId: string): Promise<string> {
  const token = await page.evaluate(async (id) => {
    const res = await fetch(`/rooms/${id}/token`, { method: 'POST' });
    return ((await res.json()) as { token: string }).token;
  }, roomId);
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string })
    .sub;
}

/**
 * A newly registered shopper whose group's order (one member: them; one line) was picked up at
 * the first demo store: their phone, the room and the order.
 */
async function shopperWithOrder(
  name: string,
  roomName: string,
  line: { sku: string; qty: number },
) {
  const who = await t.phone();
  await register(who.page, name);
  const roomUrl = await createRoom(who.page, roomName);
  const roomId = new URL(roomUrl).pathname.split('/').pop()!;
  const userId = await userIdIn(who.page, roomId);
  const order = await completeOrder(
    { url: t.stack.settlementUrl, secret: t.stack.secret },
    {
      roomId,
      storeId: t.stack.staff[0]!.storeId,
      cartVersion: 'v1',
      currency: 'IDR',
      organiser: userId,
      split: { mode: 'equal' },
      members: [{ id: userId, name, method: 'local' }],
      lines: [{ id: 'l1', addedBy: userId, ...line }],
    },
  );
  return { ...who, roomUrl, roomId, order };
}

describe('order history and reviews (phone)', () => {
  it('a buyer rates from their order history; the room and the staff see it', async () => {
    t.dumpOnFailure('reviews-orders', 4000);
    /** axe's serious and critical findings on every page this test shows (none expected). */
    const a11y: string[] = [];
    const staff = t.stack.staff[0]!;
    const store = staff.storeId;
    const product = (
      (await (await fetch(`${t.stack.settlementUrl}/products?q=teh&size=1`)).json()) as {
        items: { sku: string; name: string }[];
      }
    ).items[0]!;

    // --- Ana shops in a room whose order was picked up -------------------------------------------
    const A = await shopperWithOrder('Ana Pembeli', 'Belanja Bulanan', {
      sku: product.sku,
      qty: 2,
    });
    const { roomUrl, roomId, order } = A;

    // --- her order history, from the profile ---------------------------------------------------
    await A.page.goto('/profile');
    await shot(A.page, '0-profile');
    await A.page.locator('[data-testid=order-history]').click();
    await A.page.waitForURL((u) => u.pathname === '/orders');
    const card = A.page.locator(`[data-testid=order][data-order="${order.orderId}"]`);
    await card.waitFor({ timeout: STEP });
    await expect.poll(() => card.locator('h2').textContent()).toBe('Belanja Bulanan');
    expect(await card.textContent()).toContain(staff.storeName);
    expect(await card.textContent()).toContain('Bayar online (demo)');
    expect(await card.getByRole('link', { name: 'Lihat struk' }).getAttribute('href')).toBe(
      `/rooms/${roomId}/receipt`,
    );
    await shot(A.page, '1-orders');

    // --- she rates the product: HTML is refused, plain text is saved ------------------------------
    const line = card.locator(`[data-testid=order-line][data-sku="${product.sku}"]`);
    await line.locator('[data-testid=rate]').click();
    await line.locator('label[title="4 bintang"]').click();
    await line.getByLabel('Ulasan (opsional)').fill('Segar <b>sekali</b>');
    await line.getByRole('button', { name: 'Simpan ulasan' }).click();
    await line.getByRole('alert').waitFor({ timeout: STEP });
    expect(await line.getByRole('alert').textContent()).toContain('tanpa HTML');
    await shot(A.page, '2-html-refused');
    a11y.push(...(await seriousA11yViolations(A.page, 'orders-with-form')));
    await line.locator('label[title="4 bintang"]').click();
    await line.getByLabel('Ulasan (opsional)').fill('Segar sekali, harga pas.');
    await line.getByRole('button', { name: 'Simpan ulasan' }).click();
    await line.getByRole('status').waitFor({ timeout: STEP });
    await expect
      .poll(() => line.locator('[data-testid=stars]').first().getAttribute('data-value'))
      .toBe('4');
    expect(await line.locator('[data-testid=rate]').textContent()).toBe('Ubah ulasan');
    await shot(A.page, '3-rated');

    // --- the room's catalog card and product detail show it --------------------------------------
    await A.page.goto(roomUrl);
    await roomReady(A.page);
    await search(A.page, product.name);
    const cardStars = A.page.locator(
      `[data-testid=product][data-sku="${product.sku}"] [data-testid=stars]`,
    );
    await cardStars.waitFor({ timeout: STEP });
    expect(await cardStars.getAttribute('data-count')).toBe('1');
    expect(await cardStars.getAttribute('data-value')).toBe('4');
    await shot(A.page, '4-catalog-card');
    await A.page.locator(`[data-testid=product][data-sku="${product.sku}"] button.open`).click();
    const reviews = A.page.locator('[data-testid=product-reviews]');
    await reviews.locator('[data-testid=review]').first().waitFor({ timeout: STEP });
    expect(await reviews.textContent()).toContain('Segar sekali, harga pas.');
    expect(await reviews.textContent()).toContain('Ana Pembeli');
    await reviews.scrollIntoViewIfNeeded();
    await shot(A.page, '5-product-detail');
    a11y.push(...(await seriousA11yViolations(A.page, 'room-product-reviews')));

    // --- the store's staff see it ---------------------------------------------------------------
    const S = await t.phone();
    await S.page.goto('/login');
    await S.page.fill('#email', staff.email);
    await S.page.fill('#password', staff.password);
    await S.page.locator('main form button[type=submit]').click();
    await S.page.waitForURL((u) => u.pathname !== '/login');
    await S.page.goto(`/staff/${store}/reviews`);
    const row = S.page.locator(`[data-testid=store-review][data-sku="${product.sku}"]`);
    await row.waitFor({ timeout: STEP });
    expect(await row.textContent()).toContain('Segar sekali, harga pas.');
    expect(await row.textContent()).toContain(order.orderId);
    await shot(S.page, '6-staff-reviews');
    a11y.push(...(await seriousA11yViolations(S.page, 'staff-reviews')));

    // --- someone else's history does not show Ana's order -----------------------------------------
    const B = await t.phone();
    await register(B.page, 'Budi Lain');
    await B.page.goto('/orders');
    await until('the empty history', () =>
      B.page.getByText('Belum ada pesanan', { exact: false }).isVisible(),
    );
    expect(await B.page.locator('[data-testid=order]').count()).toBe(0);
    // ... and someone who did not buy cannot review by posting the form themselves
    const forged = await B.page.evaluate(
      async ([roomId, sku]) => {
        const body = new FormData();
        for (const [k, v] of Object.entries({ roomId, sku, rating: '1', text: 'fake' }))
          body.set(k, v);
        const res = await fetch('/orders?/review', {
          method: 'POST',
          body,
          headers: { accept: 'application/json', 'x-sveltekit-action': 'true' },
        });
        return ((await res.json()) as { status?: number }).status;
      },
      [roomId, product.sku] as const,
    );
    expect(forged).toBe(403);
    const after = await (
      await fetch(`${t.stack.settlementUrl}/products/${product.sku}/reviews`)
    ).json();
    expect(after).toMatchObject({ count: 1, average: 4 });
    await shot(B.page, '7-empty-history');

    // --- the same history in English ----------------------------------------------------------
    await A.ctx.addCookies([{ name: 'patungan_lang', value: 'en', url: t.stack.webUrl }]);
    await A.page.goto('/orders');
    await A.page.getByRole('heading', { name: 'Order history' }).waitFor({ timeout: STEP });
    expect(await card.locator('[data-testid=rate]').textContent()).toBe('Edit review');
    await shot(A.page, '8-orders-en');
    a11y.push(...(await seriousA11yViolations(A.page, 'orders-en')));
    expect(a11y).toEqual([]);
  });

  it('a rating and review typed before the page’s scripts arrive are the ones saved', async () => {
    t.dumpOnFailure('reviews-orders-early', 4000);
    const product = (
      (await (await fetch(`${t.stack.settlementUrl}/products?q=kopi&size=1`)).json()) as {
        items: { sku: string; name: string }[];
      }
    ).items[0]!;
    const C = await shopperWithOrder('Citra Cepat', 'Kopi Kantor', { sku: product.sku, qty: 1 });
    const { order } = C;
    // A phone on a slow line shows the server's page seconds before it hydrates, and people
    // tap and type meanwhile: the scripts wait until the review is written.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await C.page.route('**/_app/immutable/**/*.js', async (route) => {
      await released;
      await route.continue();
    });
    await C.page.goto('/orders', { waitUntil: 'commit' });
    const line = C.page.locator(
      `[data-testid=order][data-order="${order.orderId}"] [data-testid=order-line][data-sku="${product.sku}"]`,
    );
    await line.waitFor({ timeout: STEP });
    await line.locator('[data-testid=rate]').click();
    await line.locator('label[title="5 bintang"]').click();
    const text = line.getByLabel('Ulasan (opsional)');
    await text.fill('Wangi, datang cepat.');
    release();
    await C.page.waitForLoadState('networkidle');
    // the scripts ran (hydrated) and left the typing alone
    expect(await text.inputValue()).toBe('Wangi, datang cepat.');
    expect(await line.locator('input[name=rating]:checked').getAttribute('value')).toBe('5');
    await line.getByRole('button', { name: 'Simpan ulasan' }).click();
    await line.getByRole('status').waitFor({ timeout: STEP });
    // saved by the hydrated page (enhanced form: no page load to /orders?/review)
    expect(new URL(C.page.url()).search).toBe('');
    const saved = (await (
      await fetch(`${t.stack.settlementUrl}/products/${product.sku}/reviews`)
    ).json()) as { items: { name: string; rating: number; text?: string }[] };
    expect(saved.items.find((r) => r.name === 'Citra Cepat')).toMatchObject({
      rating: 5,
      text: 'Wangi, datang cepat.',
    });
  });
});
