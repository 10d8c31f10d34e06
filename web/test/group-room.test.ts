/**
 * Issue 13's group features through the real stack (web, room-server, settlement) and real
 * Chromium phones: room chat with unread counts; per-member budgets with live warnings and a
 * member paying their own overage, down to what settlement charges.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { signToken } from '@patungan/model';
import { browserStack } from './helpers/browser-stack.ts';
import {
  STEP,
  add,
  createRoom,
  joinAsGuest,
  register,
  search,
  tab,
  until,
} from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' });

describe('room chat', () => {
  it('is live for everyone, attributed to its writer, with unread counts per device', async () => {
    t.dumpOnFailure('group-chat', 3000);
    const { page: org } = await t.phone();
    await register(org, 'Citra');
    const url = await createRoom(org, 'Ngobrol');
    const invite = await org.locator('[data-testid=invite-url]').inputValue();
    const { page: budi } = await t.phone();
    await joinAsGuest(budi, invite, 'Budi');

    // Budi writes in the chat; Citra, on another tab, sees a count on the chat tab.
    await tab(budi, 'chat');
    await budi.fill('[data-testid=chat-input]', 'Aku mau kopi ya');
    await budi.locator('[data-testid=chat-send]').click();
    await until('Budi sees his own message', async () =>
      (await budi.locator('[data-testid=chat-message]').count()) === 1 ? true : null,
    );
    // His own message is never unread for him.
    expect(await budi.locator('[data-testid=chat-unread]').count()).toBe(0);

    const badge = org.locator('[data-testid=chat-unread]');
    await until('the unread count on Citra’s chat tab', async () =>
      (await badge.textContent())?.trim() === '1' ? true : null,
    );
    await budi.fill('[data-testid=chat-input]', 'Dan roti');
    await budi.locator('[data-testid=chat-send]').click();
    await until('two unread', async () =>
      (await badge.textContent())?.trim() === '2' ? true : null,
    );

    // Opening the chat shows both, by Budi's name, and clears the count.
    await tab(org, 'chat');
    const messages = org.locator('[data-testid=chat-message]');
    await until('Citra sees the messages', async () =>
      (await messages.count()) === 2 ? true : null,
    );
    expect(await messages.first().textContent()).toContain('Budi');
    expect(await messages.first().textContent()).toContain('Aku mau kopi ya');
    const budiId = await messages.first().getAttribute('data-by');
    expect(budiId).toBeTruthy();
    await until('the count clears', async () => ((await badge.count()) === 0 ? true : null));

    // Citra answers; Budi (back on the catalog) gets one unread.
    await tab(budi, 'catalog');
    await org.fill('[data-testid=chat-input]', 'Siap!');
    await org.locator('[data-testid=chat-send]').click();
    const budiBadge = budi.locator('[data-testid=chat-unread]');
    await until('Budi’s unread count', async () =>
      (await budiBadge.textContent())?.trim() === '1' ? true : null,
    );
    await budi
      .screenshot({ path: '/work/notes/shots/group/chat-unread-phone.png' })
      .catch(() => undefined);

    // Read state is this device's: a reload keeps Citra's "read" and Budi's "unread".
    await org.goto(url);
    await org.locator('[data-testid=room][data-ready=true]').waitFor();
    await tab(org, 'catalog');
    expect(await org.locator('[data-testid=chat-unread]').count()).toBe(0);
    await budi.reload();
    await budi.locator('[data-testid=room][data-ready=true]').waitFor();
    await until('Budi’s count after a reload', async () =>
      (await budiBadge.textContent())?.trim() === '1' ? true : null,
    );
    await tab(budi, 'chat');
    await until('Budi reads it', async () => ((await budiBadge.count()) === 0 ? true : null));
    await budi
      .screenshot({ path: '/work/notes/shots/group/chat-phone.png' })
      .catch(() => undefined);

    // A comment on a product stays on that product: not in the chat, not unread for Citra.
    const sku = await search(budi, 'Kopi Susu');
    await budi.locator(`[data-testid=product][data-sku="${sku}"] button.open`).click();
    const detail = budi.locator('[data-testid=product-detail]');
    await detail.locator('input').last().fill('Yang ini enak');
    await detail.getByRole('button', { name: 'Kirim' }).click();
    await detail.getByText('Yang ini enak').waitFor({ timeout: STEP });
    await tab(budi, 'chat');
    expect(await budi.locator('[data-testid=chat-message]').count()).toBe(3);
    // Citra's history shows the product comment, and her chat tab counts nothing new.
    await tab(org, 'activity');
    await org.locator('#panel-activity').getByText('Yang ini enak').waitFor({ timeout: STEP });
    expect(await org.locator('[data-testid=chat-unread]').count()).toBe(0);
    await tab(org, 'chat');
    expect(await org.locator('[data-testid=chat-message]').count()).toBe(3);
  }, 120_000);
});

/** The shares the split table shows, by member id (minor units, IDR). */
async function shares(page: Page): Promise<Record<string, number>> {
  const rows = page.locator('[data-testid=share-row]');
  const out: Record<string, number> = {};
  for (let i = 0; i < (await rows.count()); i++) {
    const r = rows.nth(i);
    const text = (await r.locator('[data-testid=share-amount]').textContent()) ?? '';
    out[(await r.getAttribute('data-member'))!] = Number(text.replace(/\D/g, ''));
  }
  return out;
}

/** The organiser picks the first store that has everything and finalises; returns the settlement id. */
async function finalise(page: Page): Promise<string> {
  await tab(page, 'pay');
  const store = page.locator('[data-testid=store]:has([data-testid=store-ok])').first();
  await store.waitFor({ timeout: STEP });
  await store.getByRole('button').click();
  await page.locator('[data-testid=store].is-chosen').waitFor();
  await page.locator('[data-testid=finalise]').click();
  await page.locator('[data-testid=finalise-confirm]').click();
  await page.locator('[data-testid=hold-countdown]').waitFor({ timeout: 30_000 });
  return (await page.locator('[data-testid=checkout]').getAttribute('data-settlement'))!;
}

async function settlementView(id: string): Promise<{
  total: number;
  payments: { memberId: string; amount: number }[] | Record<string, { amount: number }>;
}> {
  const service = await signToken(
    { sub: 'test', name: 'test', role: 'service', room: '*' },
    t.stack.secret,
  );
  const res = await fetch(`${t.stack.settlementUrl}/settlements/${id}`, {
    headers: { authorization: `Bearer ${service}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as never;
}

describe('budgets', () => {
  it('per-member budgets, live warnings, a member paying their own overage, charged as shown', async () => {
    t.dumpOnFailure('group-budgets', 3000);
    const { page: org } = await t.phone();
    await register(org, 'Citra');
    await createRoom(org, 'Arisan kopi');
    const invite = await org.locator('[data-testid=invite-url]').inputValue();
    const { page: budi } = await t.phone();
    await joinAsGuest(budi, invite, 'Budi');

    // The organiser gives Budi a budget of Rp 20.000 (Citra has none), while the room is open.
    await tab(org, 'pay');
    const inputs = org.locator('[data-testid=budget-input]');
    await until('both members in the budget form', async () =>
      (await inputs.count()) === 2 ? true : null,
    );
    const budiId = (await inputs.nth(1).getAttribute('data-member'))!;
    await inputs.nth(1).fill('20000');
    await org.locator('[data-testid=budget-save]').click();

    // Budi adds a Kopi Susu Gula Aren (Rp 19.500); equal split: 9.750 each, under 80 %.
    const kopi = await search(budi, 'Kopi Susu');
    await add(budi, kopi);
    await tab(budi, 'pay');
    const mine = budi.locator('[data-testid=budget-row]');
    await until('Budi’s own budget row', async () =>
      (await mine.getAttribute('data-state')) === 'ok' ? true : null,
    );
    // Each member sees only their own budget; the organiser sees everyone's.
    expect(await mine.count()).toBe(1);
    expect(await org.locator('[data-testid=budget-row]').count()).toBe(2);

    // Citra adds one more: Budi's share is Rp 19.500 of 20.000 (97 %): warned live.
    await tab(budi, 'catalog');
    await search(org, 'Kopi Susu');
    await add(org, kopi);
    await budi
      .locator('[data-testid=notice]', { hasText: 'mendekati anggaranmu' })
      .waitFor({ timeout: STEP });
    // And one more: Rp 29.250 each, Budi is Rp 9.250 over; the group (Citra, no budget) carries it.
    await add(org, kopi);
    await budi
      .locator('[data-testid=notice]', { hasText: 'melewati anggaranmu' })
      .waitFor({ timeout: STEP });
    await tab(budi, 'pay');
    await until('Budi over budget', async () =>
      (await mine.getAttribute('data-state')) === 'over' ? true : null,
    );
    expect(await mine.locator('[data-testid=budget-state]').textContent()).toMatch(/Rp\s9\.250/);
    expect(await mine.locator('[data-testid=budget-moved]').textContent()).toContain(
      'ditanggung grup',
    );
    const orgId = (await inputs.nth(0).getAttribute('data-member'))!;
    await until('the split caps Budi at his budget', async () => {
      const s = await shares(budi);
      return s[budiId] === 20_000 && s[orgId] === 38_500 ? true : null;
    });
    await budi
      .screenshot({ path: '/work/notes/shots/group/budget-over-phone.png', fullPage: true })
      .catch(() => undefined);

    // Budi chooses to pay his own overage: the split shows it, for everyone, live.
    await tab(org, 'pay');
    await budi.locator('[data-testid=pays-overage]').check();
    await until('Citra sees Budi pay his overage', async () => {
      const s = await shares(org);
      return s[budiId] === 29_250 && s[orgId] === 29_250 ? true : null;
    });
    await org
      .locator(`[data-testid=budget-row][data-member="${budiId}"] [data-testid=budget-moved]`, {
        hasText: /\+Rp\s9\.250/,
      })
      .waitFor();
    await org
      .screenshot({ path: '/work/notes/shots/group/budget-organiser-phone.png', fullPage: true })
      .catch(() => undefined);

    // Settlement charges what the room showed; then Budi changes his mind is moot (locked).
    const id = await finalise(org);
    const view = await settlementView(id);
    const pays = Array.isArray(view.payments)
      ? Object.fromEntries(view.payments.map((p) => [p.memberId, p.amount]))
      : Object.fromEntries(Object.entries(view.payments).map(([k, p]) => [k, p.amount]));
    expect(view.total).toBe(58_500);
    expect(pays).toEqual({ [orgId]: 29_250, [budiId]: 29_250 });
  }, 180_000);

  it('settlement applies the cap when the member does not pay their overage', async () => {
    t.dumpOnFailure('group-budgets-cap', 3000);
    const { page: org } = await t.phone();
    await register(org, 'Dewi');
    await createRoom(org, 'Makan siang');
    const invite = await org.locator('[data-testid=invite-url]').inputValue();
    const { page: budi } = await t.phone();
    await joinAsGuest(budi, invite, 'Eko');
    await tab(org, 'pay');
    const inputs = org.locator('[data-testid=budget-input]');
    await until('both members in the budget form', async () =>
      (await inputs.count()) === 2 ? true : null,
    );
    const orgId = (await inputs.nth(0).getAttribute('data-member'))!;
    const ekoId = (await inputs.nth(1).getAttribute('data-member'))!;
    await inputs.nth(1).fill('10000');
    await org.locator('[data-testid=budget-save]').click();
    const kopi = await search(budi, 'Kopi Susu');
    await add(budi, kopi);
    await add(budi, kopi);
    // 39.000 / 2 = 19.500 each; Eko capped at 10.000, Dewi carries 9.500.
    await tab(org, 'pay');
    await until('the capped split', async () => {
      const s = await shares(org);
      return s[ekoId] === 10_000 && s[orgId] === 29_000 ? true : null;
    });
    const view = await settlementView(await finalise(org));
    const pays = Array.isArray(view.payments)
      ? Object.fromEntries(view.payments.map((p) => [p.memberId, p.amount]))
      : Object.fromEntries(Object.entries(view.payments).map(([k, p]) => [k, p.amount]));
    expect(pays).toEqual({ [orgId]: 29_000, [ekoId]: 10_000 });
  }, 180_000);
});

describe('covers', () => {
  it('after Citra covers Budi, both see who owes whom and how much', async () => {
    t.dumpOnFailure('group-covers', 3000);
    const { page: org } = await t.phone();
    await register(org, 'Citra');
    await createRoom(org, 'Traktiran');
    const invite = await org.locator('[data-testid=invite-url]').inputValue();
    const { page: budi } = await t.phone();
    await joinAsGuest(budi, invite, 'Budi');
    const kopi = await search(budi, 'Kopi Susu');
    await add(budi, kopi);
    await add(budi, kopi);
    await tab(org, 'cart');
    await until('Citra sees the cart', async () =>
      (await org.locator('[data-testid=tab-cart]').textContent())?.includes('2') ? true : null,
    );
    await finalise(org);

    // Citra covers Budi's share (Rp 19.500 of 39.000), then pays both on the local provider.
    await org.locator('[data-testid=payment][data-member] [data-testid=cover]').first().click();
    await org.locator('[data-testid=payment][data-status=covered]').waitFor({ timeout: STEP });
    const owed = org.locator('[data-testid=cover-record][data-role=owed]');
    await owed.waitFor({ timeout: STEP });
    expect(await owed.textContent()).toMatch(/Kamu menanggung bagian Budi Rp\s19\.500/);
    expect(await owed.textContent()).toMatch(/Budi berutang Rp\s19\.500 padamu/);
    const pay = org.locator('[data-testid=pay]');
    await pay.waitFor({ timeout: STEP });
    const paid = await fetch((await pay.getAttribute('href'))!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ action: 'authorize' }),
    });
    expect(paid.status).toBe(200);

    // Budi sees that Citra paid his share, and that he owes her.
    await tab(budi, 'pay');
    const owes = budi.locator('[data-testid=cover-record][data-role=owes]', {
      hasText: /Citra membayar bagianmu Rp\s19\.500/,
    });
    await owes.waitFor({ timeout: 30_000 });
    expect(await owes.textContent()).toMatch(/Kamu berutang Rp\s19\.500 ke Citra/);
    await owes.scrollIntoViewIfNeeded();
    await budi
      .screenshot({ path: '/work/notes/shots/group/covers-budi-phone.png' })
      .catch(() => undefined);
    await org
      .locator('[data-testid=cover-record][data-role=owed]', {
        hasText: /Kamu membayar bagian Budi Rp\s19\.500/,
      })
      .waitFor({ timeout: 30_000 });
    await org.locator('[data-testid=covers]').scrollIntoViewIfNeeded();
    await org
      .screenshot({ path: '/work/notes/shots/group/covers-citra-phone.png' })
      .catch(() => undefined);
  }, 180_000);
});

describe('Patungan lagi', () => {
  it('a completed room starts a new one: same members, cart and split, today’s stock and prices', async () => {
    t.dumpOnFailure('group-again', 3000);
    const { page: org } = await t.phone();
    await register(org, 'Citra');
    const oldUrl = await createRoom(org, 'Belanja mingguan');
    const oldId = new URL(oldUrl).pathname.split('/').pop()!;
    const invite = await org.locator('[data-testid=invite-url]').inputValue();
    const { page: budi } = await t.phone();
    await joinAsGuest(budi, invite, 'Budi');
    const kopi = await search(budi, 'Kopi Susu');
    await add(budi, kopi);
    await add(budi, kopi);
    const air = await search(org, 'Air Mineral');
    await add(org, air);
    const teh = await search(org, 'Teh');
    await add(org, teh);
    await until('three products in Citra’s cart', async () =>
      (await org.locator('[data-testid=tab-cart]').textContent())?.includes('4') ? true : null,
    );
    const settlementId = await finalise(org);
    const service = await signToken(
      { sub: 'test', name: 'test', role: 'service', room: '*' },
      t.stack.secret,
    );
    const view = (await (
      await fetch(`${t.stack.settlementUrl}/settlements/${settlementId}`, {
        headers: { authorization: `Bearer ${service}` },
      })
    ).json()) as { storeId: string };

    // The order is done (settlement's status, as its outbox would deliver it).
    const done = await fetch(`${t.stack.roomServerHttpUrl}/rooms/${oldId}/settlement`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        seq: 1_000_000,
        settlement: { id: settlementId, status: 'completed' },
      }),
    });
    expect(done.status).toBe(200);
    await org
      .locator('[data-testid=room-status][data-status=completed]')
      .waitFor({ timeout: STEP });

    // Today: one kopi left, no air mineral, and the teh costs Rp 1.000 more.
    const staff = await signToken(
      { sub: 'till', name: 'Till', role: 'staff', store: view.storeId },
      t.stack.secret,
    );
    const stock = (await (
      await fetch(`${t.stack.settlementUrl}/stores/${view.storeId}/stock`)
    ).json()) as { items: { sku: string; held: number; committed: number }[] };
    const setOnHand = async (sku: string, free: number) => {
      const s = stock.items.find((i) => i.sku === sku)!;
      const r = await fetch(`${t.stack.settlementUrl}/stores/${view.storeId}/stock/${sku}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
        body: JSON.stringify({ onHand: s.held + s.committed + free }),
      });
      expect(r.status).toBe(200);
    };
    await setOnHand(kopi, 1);
    await setOnHand(air, 0);
    const [before] = await t.stack.settlement.db.query<{ price: number }>(
      'SELECT price FROM products WHERE sku = $1',
      [teh],
    );
    await t.stack.settlement.db.query('UPDATE products SET price = price + 1000 WHERE sku = $1', [
      teh,
    ]);

    // Budi (a member, not the organiser) starts it again and becomes the new organiser.
    await budi.goto(oldUrl);
    await budi.locator('[data-testid=room][data-ready=true]').waitFor();
    await budi
      .screenshot({ path: '/work/notes/shots/group/again-button-phone.png' })
      .catch(() => undefined);
    await budi.locator('[data-testid=again]').click();
    await budi.waitForURL((u) => u.pathname.startsWith('/rooms/') && !u.pathname.endsWith(oldId));
    await budi.locator('[data-testid=room][data-ready=true]').waitFor();
    const newUrl = budi.url();
    const changes = budi.locator('[data-testid=again-change]');
    await until('the differences', async () => ((await changes.count()) === 3 ? true : null));
    const kinds = Object.fromEntries(
      await Promise.all(
        (await changes.all()).map(async (c) => [
          await c.getAttribute('data-sku'),
          await c.getAttribute('data-kind'),
        ]),
      ),
    );
    expect(kinds).toEqual({ [kopi]: 'fewer', [air]: 'out_of_stock', [teh]: 'price' });
    const tehLine = await budi
      .locator(`[data-testid=again-change][data-sku="${teh}"]`)
      .textContent();
    expect(tehLine).toMatch(/naik/);
    expect(tehLine).toContain(String(before!.price + 1000).replace(/\B(?=(\d{3})+(?!\d))/g, '.'));
    await budi
      .screenshot({ path: '/work/notes/shots/group/again-changes-phone.png' })
      .catch(() => undefined);

    // The cart: one kopi (Budi's), the teh (Citra's); the store is the same; both are members.
    await tab(budi, 'cart');
    await until('the new cart', async () =>
      (await budi.locator('[data-testid=tab-cart]').textContent())?.includes('2') ? true : null,
    );
    await org.goto(newUrl);
    await org.locator('[data-testid=room][data-ready=true]').waitFor();
    await org.locator('[data-testid=room-status][data-status=open]').waitFor();
    expect(org.url()).toBe(newUrl);
    expect(await org.locator('.badge.role').textContent()).toMatch(/anggota/i);
    expect(await budi.locator('.badge.role').textContent()).toMatch(/penyelenggara/i);
  }, 240_000);
});
