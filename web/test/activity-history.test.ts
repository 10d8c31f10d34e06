/**
 * Issue 11 item 2, in a real browser on phones: the activity feed is the room's history. Ani
 * and Budi each change the cart (Budi removes Ani's line), Ani finalises, covers Budi's share
 * and pays; then Budi reloads and Ani opens the room on a second phone. Every device shows
 * the same history with names (never "Seseorang"), including the removal, the cover and the
 * payment. All the while the phones call web only (decision 0007): the cover and the live
 * stock stream go through web, and no page request goes to settlement.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import { browserStack } from './helpers/browser-stack.ts';
import {
  ARTIFACTS,
  PHONE_CONTEXT,
  STEP,
  logPageErrors,
  openPage,
  roomReady,
  until as pollUntil,
} from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' });
/** Every HTTP request the phones' pages made: `<resource type> <url>`. */
const requests: string[] = [];

const phone = () =>
  openPage(t.browser, t.contexts, { ...PHONE_CONTEXT, baseURL: t.stack.webUrl }, (page) => {
    logPageErrors(page);
    page.on('request', (r) => requests.push(`${r.resourceType()} ${r.url()}`));
  });

/** `until` polling every 100 ms. */
const until = <T>(what: string, fn: () => Promise<T | null | undefined | false>, timeout = STEP) =>
  pollUntil(what, fn, timeout, 100);

const ready = (page: Page) => roomReady(page, STEP);

/** The feed's lines as a person reads them. */
async function feed(page: Page): Promise<string[]> {
  return (await page.locator('[data-testid=activity] > li').allTextContents()).map((s) =>
    s.replace(/\s+/g, ' ').trim(),
  );
}

async function addNth(page: Page, n: number): Promise<{ sku: string; name: string }> {
  await page.getByTestId('tab-catalog').click();
  const product = page.locator('[data-testid=product]').nth(n);
  await product.waitFor({ timeout: STEP });
  const sku = (await product.getAttribute('data-sku'))!;
  const name = (await product.locator('.name').first().textContent())?.trim() ?? sku;
  await product.locator('[data-testid=add]').click();
  return { sku, name };
}

const group = (page: Page, sku: string) =>
  page.locator(`[data-testid=cart-group][data-sku="${sku}"]`);

const dumpOnFailure = () => t.dumpOnFailure('activity-failure', 4000);

describe('the activity feed is the room’s history', () => {
  it('is the same after a reload and on a second device, with names, payments and covers', async () => {
    dumpOnFailure();
    const email = `ani-${Date.now()}@example.test`;
    const password = 'correct horse battery staple';
    const A = await phone();
    await A.page.goto('/register');
    await A.page.fill('#name', 'Ani');
    await A.page.fill('#email', email);
    await A.page.fill('#password', password);
    await A.page.locator('main form button[type=submit]').click();
    await A.page.waitForURL((u) => u.pathname === '/');
    await A.page.fill('#room-name', 'Kos Melati');
    await A.page.getByRole('button', { name: 'Buat ruang' }).click();
    await A.page.waitForURL(/\/rooms\/[^/]+$/);
    const roomUrl = A.page.url();
    await ready(A.page);
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();

    const B = await phone();
    await B.page.goto(invite);
    await B.page.fill('#name', 'Budi');
    await B.page.getByRole('button', { name: 'Gabung', exact: true }).click();
    await B.page.waitForURL(roomUrl);
    await ready(B.page);

    // Ani adds one product, Budi another; Budi removes Ani's line; Ani raises Budi's.
    const mine = await addNth(A.page, 0);
    const his = await addNth(B.page, 1);
    await B.page.getByTestId('tab-cart').click();
    await group(B.page, mine.sku).waitFor({ timeout: STEP });
    await group(B.page, mine.sku).locator('button.danger').first().click();
    await until(
      'Ani to see her line gone',
      async () => (await group(A.page, mine.sku).count()) === 0,
    );
    await A.page.getByTestId('tab-cart').click();
    await group(A.page, his.sku).waitFor({ timeout: STEP });
    await group(A.page, his.sku).locator('[data-testid=inc]').first().click();

    // Ani splits equally, picks a store that has everything and finalises.
    await A.page.getByTestId('tab-pay').click();
    await A.page.getByLabel('Bagi rata').check();
    const store = A.page.locator('[data-testid=store]:has([data-testid=store-ok])').first();
    await store.waitFor({ timeout: STEP });
    await store.getByRole('button').click();
    await A.page.locator('[data-testid=finalise]').click();
    await A.page.locator('[data-testid=finalise-confirm]').click();
    await A.page.locator('[data-testid=hold-countdown]').waitFor({ timeout: 30_000 });

    // Ani covers Budi's share, then pays hers (now both shares) on the local provider.
    await A.page.locator('[data-testid=payment][data-member] [data-testid=cover]').first().click();
    await A.page.locator('[data-testid=payment][data-status=covered]').waitFor({ timeout: STEP });
    // One route from the browser: the cover and the store picker's live stock went through
    // web; nothing the pages asked for went to settlement.
    const web = (path: RegExp) =>
      requests.some((r) => {
        const url = new URL(r.split(' ')[1]!);
        return url.origin === t.stack.webUrl && path.test(url.pathname + url.search);
      });
    expect(web(/^\/rooms\/[^/]+\/settlements\/[^/]+\/payments\/[^/]+\/cover$/)).toBe(true);
    expect(web(/^\/api\/stock\/stream\?stores=/)).toBe(true);
    expect(requests.filter((r) => r.includes(t.stack.settlementUrl))).toEqual([]);
    const pay = A.page.locator('[data-testid=pay]');
    await pay.waitFor({ timeout: STEP });
    const payUrl = (await pay.getAttribute('href'))!;
    const paid = await fetch(payUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ action: 'authorize' }),
    });
    expect(paid.status).toBe(200);
    await A.page
      .locator('[data-testid=settlement-status][data-status=paid]')
      .waitFor({ timeout: 30_000 });

    // What each device shows live.
    await A.page.getByTestId('tab-activity').click();
    await B.page.getByTestId('tab-activity').click();
    const onB = await until('Budi’s feed to show the payment and the cover', async () => {
      const f = await feed(B.page);
      return f.some((l) => /Ani sudah membayar/.test(l)) &&
        f.some((l) => /Ani membayari bagian kamu/i.test(l))
        ? f
        : null;
    });
    const onA = await until('Ani’s feed to show who removed her line', async () => {
      const f = await feed(A.page);
      return f.some((l) => l.includes(`Budi menghapus 1 × ${mine.name}`)) ? f : null;
    });
    for (const line of [
      'Ani menambahkan 1 ×',
      'Budi menambahkan 1 ×',
      `Budi menghapus 1 × ${mine.name}`,
      `Ani mengubah ${his.name} dari 1 menjadi 2`,
      'Ani memfinalisasi pesanan',
      'Ani sudah membayar',
      'Ani membayari bagian Budi',
      'Budi bergabung',
    ]) {
      expect(onA.join('\n')).toContain(line.replace(/^Ani /, 'Kamu '));
      expect(onB.join('\n')).toContain(
        line.replace('bagian Budi', 'bagian kamu').replace(/^Budi /, 'Kamu '),
      );
    }
    for (const f of [onA, onB]) expect(f.join('\n')).not.toMatch(/Seseorang/);

    // Budi reloads: the same history. Ani opens the room on a second phone: the same as hers.
    await B.page.reload();
    await ready(B.page);
    await B.page.getByTestId('tab-activity').click();
    await until(
      'Budi’s feed after a reload',
      async () => JSON.stringify(await feed(B.page)) === JSON.stringify(onB),
    );
    const A2 = await phone();
    await A2.page.goto('/login');
    await A2.page.fill('#email', email);
    await A2.page.fill('#password', password);
    await A2.page.locator('main form button[type=submit]').click();
    await A2.page.waitForURL((u) => u.pathname !== '/login');
    await A2.page.goto(roomUrl);
    await ready(A2.page);
    await A2.page.getByTestId('tab-activity').click();
    await until(
      'Ani’s second phone to show her history',
      async () => JSON.stringify(await feed(A2.page)) === JSON.stringify(onA),
    );
    await A2.page.screenshot({ path: join(ARTIFACTS, 'activity-390x844-second-device.png') });
  }, 180_000);
});
