/**
 * Issue 11, item 12, in a browser: axe-core (the engine behind Lighthouse's and DevTools'
 * accessibility checks) finds no serious or critical violation on any main page, on a phone
 * (390×844, id-ID): home signed out and in, login, register, the join screen (a real invite and
 * an unknown code), the room on each of its tabs, the invite page, profile, friends and a store's
 * staff page. Moderate and minor findings are printed, not failed.
 */
import { describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { a11yViolations } from './helpers/axe.ts';
import { browserStack } from './helpers/browser-stack.ts';
import { STEP, add, createRoom, register, search, shot, tab } from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' }, 600_000);

const serious: string[] = [];
const minor: string[] = [];

/** Runs axe on the page as it is now; records its findings by page name. */
async function audit(page: Page, name: string): Promise<void> {
  await shot(page, `a11y-${name}`);
  const found = await a11yViolations(page, name);
  serious.push(...found.serious);
  minor.push(...found.minor);
}

describe('accessibility on a phone (item 12)', () => {
  it('axe finds no serious or critical violation on any main page', async () => {
    onTestFailed(() => {
      console.error(t.stack.logs().slice(-3000));
    });
    const A = await t.phone();
    for (const [path, name] of [
      ['/', 'home-out'],
      ['/login', 'login'],
      ['/register', 'register'],
      ['/join/ZZZZZZ', 'join-unknown'],
    ] as const) {
      await A.page.goto(path);
      await audit(A.page, name);
    }

    await register(A.page, 'Rina');
    await audit(A.page, 'home-in');
    const roomUrl = await createRoom(A.page, 'Kos Mawar', 50_000);
    const teh = await search(A.page, 'Teh Botol');
    await add(A.page, teh);
    for (const t of ['catalog', 'cart', 'pay', 'activity'] as const) {
      await tab(A.page, t);
      if (t === 'cart') await A.page.locator('[data-testid=cart-line]').first().waitFor();
      if (t === 'pay')
        await A.page.locator('[data-testid=store]').first().waitFor({ timeout: STEP });
      await audit(A.page, `room-${t}`);
    }
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    await A.page.goto(`${roomUrl}/invite`);
    await audit(A.page, 'invite');
    await A.page.goto('/profile');
    await audit(A.page, 'profile');
    await A.page.goto('/friends');
    await audit(A.page, 'friends');
    await A.page.goto('/notifications');
    await audit(A.page, 'notifications');

    // The join screen of a real invite, as a newcomer sees it.
    const B = await t.phone();
    await B.page.goto(invite);
    await B.page.locator('main').waitFor();
    await audit(B.page, 'join');

    const S = await t.phone();
    const login = t.stack.staff[0]!;
    await S.page.goto('/login');
    await S.page.fill('#email', login.email);
    await S.page.fill('#password', login.password);
    await S.page.locator('main form button[type=submit]').click();
    await S.page.waitForURL((u) => u.pathname !== '/login');
    await S.page.goto(`/staff/${login.storeId}`);
    await S.page.locator('main').waitFor();
    await audit(S.page, 'staff');
    for (const page of ['reports', 'stock'] as const) {
      await S.page.goto(`/staff/${login.storeId}/${page}`);
      await S.page.locator('main h1').waitFor();
      await audit(S.page, `staff-${page}`);
    }

    if (minor.length) console.log(`axe, moderate/minor:\n${minor.join('\n')}`);
    expect(serious, serious.join('\n')).toEqual([]);
  }, 480_000);
});
