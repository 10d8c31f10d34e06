/**
 * Issue 11, item 9, in a browser: the main pages on a phone in id-ID say nothing in English and
 * show no internal ids (a word list of common English UI words over the visible text and the
 * texts assistive technology reads: aria-label, placeholder, title, alt).
 * The settlement's pay pages are not walked here (another part of the issue).
 */
import { describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import { browserStack } from './helpers/browser-stack.ts';
import {
  ARTIFACTS,
  STEP,
  add,
  createRoom,
  register,
  roomReady,
  search,
  shot,
  tab,
} from './helpers/phone.ts';

/**
 * Common English words of an app's interface. Matched as whole words, case-sensitive for the
 * capitalised ones (so Indonesian "No." for "nomor" is not caught by "No ").
 */
const ENGLISH = [
  'the',
  'The',
  'items',
  'item',
  'room',
  'Room',
  'code',
  'Code',
  'No',
  'not',
  'has',
  'this',
  'This',
  'with',
  'your',
  'Your',
  'you',
  'You',
  'and',
  'Authorise',
  'Authorize',
  'Retry',
  'Error',
  'error',
  'Loading',
  'Add',
  'Remove',
  'Cart',
  'Split',
  'Search',
  'Back',
  'Friends',
  'Profile',
  'Sign',
  'Log',
  'Password',
  'Save',
  'Cancel',
  'Invite',
  'Join',
  'Share',
  'Order',
  'Payment',
  'short',
  'Found',
  'found',
  'Not',
  'Internal',
];
/** Names and brand words that are the same in every language. */
const ALLOWED_PHRASES = ['English', 'Patungan'];
/** Internal ids a person should never read: skus (first), settlement/payment/user ids. */
const INTERNAL = [/\b[A-Z]{3}-\d{4}\b/, /\b(?:stl|pay|usr|set|mem|room)_[A-Za-z0-9]{6,}/];

const t = browserStack({ logLevel: 'warn' }, 600_000);

/** The words a person reads or hears on the page now (visible text and accessible texts). */
function readable(page: Page): Promise<string> {
  return page.evaluate(() => {
    const parts = [document.title, document.body.innerText];
    for (const el of document.querySelectorAll<HTMLElement>(
      '[aria-label], [placeholder], [title], img[alt]',
    )) {
      const style = getComputedStyle(el);
      if (style.display === 'none' || el.closest('[hidden]')) continue;
      for (const a of ['aria-label', 'placeholder', 'title', 'alt']) {
        const v = el.getAttribute(a);
        if (v) parts.push(v);
      }
    }
    return parts.join('\n');
  });
}

const findings: string[] = [];

async function check(page: Page, name: string, opts: { skus?: boolean } = {}): Promise<void> {
  await shot(page, `ui-id-${name}`);
  let text = await readable(page);
  for (const p of ALLOWED_PHRASES) text = text.split(p).join(' ');
  for (const w of ENGLISH) {
    const re = new RegExp(`(?<![\\p{L}\\p{N}_-])${w}(?![\\p{L}\\p{N}_-])`, 'u');
    const m = re.exec(text);
    if (m) {
      const at = Math.max(0, m.index - 30);
      findings.push(`${name}: "${w}" in …${text.slice(at, m.index + 40).replace(/\s+/g, ' ')}…`);
    }
  }
  for (const re of INTERNAL) {
    if (opts.skus && re === INTERNAL[0]) continue;
    const m = re.exec(text);
    if (m) findings.push(`${name}: internal id ${m[0]}`);
  }
}

describe('Indonesian pages say nothing in English (item 9)', () => {
  it('walks home, login, register, an unknown code, the room, profile, friends and staff', async () => {
    onTestFailed(() => {
      console.error(t.stack.logs().slice(-3000));
    });
    const A = await t.phone();
    for (const [path, name] of [
      ['/', 'home-out'],
      ['/login', 'login'],
      ['/register', 'register'],
    ] as const) {
      await A.page.goto(path);
      await check(A.page, name);
    }

    // An unknown invite code: said in Indonesian, with a way to type it again.
    await A.page.goto('/join/ZZZZZZ');
    await check(A.page, 'join-unknown');
    if ((await A.page.locator('main input[name=code]').count()) !== 1)
      findings.push('join-unknown: no field to type the code again');

    await register(A.page, 'Rina');
    await check(A.page, 'home-in');
    await createRoom(A.page, 'Kos Mawar', 50_000);
    const teh = await search(A.page, 'Teh Botol');
    await add(A.page, teh);
    for (const t of ['catalog', 'cart', 'pay', 'activity'] as const) {
      await tab(A.page, t);
      if (t === 'pay')
        await A.page.locator('[data-testid=store]').first().waitFor({ timeout: STEP });
      await check(A.page, `room-${t}`);
    }
    await A.page.goto(`${A.page.url().replace(/#.*$/, '')}/invite`);
    await check(A.page, 'invite');
    await A.page.goto('/profile');
    await check(A.page, 'profile');
    await A.page.goto('/friends');
    await check(A.page, 'friends');
    void roomReady;

    const S = await t.phone();
    const login = t.stack.staff[0]!;
    await S.page.goto('/login');
    await S.page.fill('#email', login.email);
    await S.page.fill('#password', login.password);
    await S.page.locator('main form button[type=submit]').click();
    await S.page.waitForURL((u) => u.pathname !== '/login');
    await S.page.goto(`/staff/${login.storeId}`);
    await S.page.locator('main').waitFor();
    // The staff page lists stock by sku next to the name: the code on the shelf label.
    await check(S.page, 'staff', { skus: true });

    expect(findings, findings.join('\n')).toEqual([]);
  }, 240_000);
});

void join;
void ARTIFACTS;
