/**
 * Shared pieces of the phone browser tests (`test/ui-*.test.ts`): Debian's Chromium at a phone
 * viewport (390×844, id-ID, Asia/Jakarta), polling without fixed sleeps, and the few steps every
 * room scenario starts with (register, create a room, join as a guest, search, add).
 */
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
export const STEP = 15_000;
export const PHONE = { width: 390, height: 844 };

export async function launch(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A phone's browser context: the viewport, locale and time zone every phone test uses. */
export const PHONE_CONTEXT = {
  viewport: PHONE,
  locale: 'id-ID',
  timezoneId: 'Asia/Jakarta',
  hasTouch: true,
  isMobile: true,
} satisfies BrowserContextOptions;

/** Prints a page's uncaught errors. */
export const logPageErrors = (page: Page) =>
  page.on('pageerror', (e) => console.error(`[browser error] ${e.message}`));

/**
 * A new context (kept in `contexts`, for closing) with one page; `watch` listens on the page
 * (by default: print its uncaught errors).
 */
export async function openPage(
  browser: Browser,
  contexts: BrowserContext[],
  options: BrowserContextOptions,
  watch: (page: Page) => void = logPageErrors,
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext(options);
  contexts.push(ctx);
  const page = await ctx.newPage();
  watch(page);
  return { ctx, page };
}

export function phone(
  browser: Browser,
  baseURL: string,
  contexts: BrowserContext[],
): Promise<{ ctx: BrowserContext; page: Page }> {
  return openPage(browser, contexts, { ...PHONE_CONTEXT, baseURL, deviceScaleFactor: 2 });
}

/**
 * Polls `fn` every `every` ms until it returns a truthy value (or throws the last failure after
 * `timeout`).
 */
export async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeout = STEP,
  every = 50,
): Promise<T> {
  const end = Date.now() + timeout;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export const roomReady = (page: Page, timeout = 30_000) =>
  page.locator('[data-testid=room][data-ready=true]').waitFor({ timeout });

export async function register(page: Page, name: string): Promise<void> {
  await page.goto('/register');
  await page.fill('#name', name);
  await page.fill('#email', `u${Date.now()}${Math.random().toString(36).slice(2, 7)}@example.test`);
  await page.fill('#password', 'correct horse battery staple');
  await page.locator('main form button[type=submit]').click();
  await page.waitForURL((u) => u.pathname === '/');
}

/** Creates a room from the home page; returns its URL. */
export async function createRoom(page: Page, name: string, budget?: number): Promise<string> {
  await page.fill('#room-name', name);
  if (budget !== undefined) await page.fill('#budget', String(budget));
  await page.getByRole('button', { name: 'Buat ruang' }).click();
  await page.waitForURL(/\/rooms\/[^/#?]+$/);
  await roomReady(page);
  return page.url();
}

export async function joinAsGuest(page: Page, invite: string, name: string): Promise<void> {
  await page.goto(invite);
  await page.fill('#name', name);
  await page.getByRole('button', { name: 'Gabung', exact: true }).click();
  await page.waitForURL(/\/rooms\//);
  await roomReady(page);
}

export async function tab(
  page: Page,
  id: 'catalog' | 'cart' | 'pay' | 'chat' | 'activity',
): Promise<void> {
  await page.locator(`[data-testid=tab-${id}]`).click();
}

/** Searches the catalog and returns the first result's sku. */
export async function search(page: Page, q: string): Promise<string> {
  await tab(page, 'catalog');
  await page.fill('#catalog-q', q);
  await page.press('#catalog-q', 'Enter');
  const first = page.locator('[data-testid=product]').first();
  await until(`search results for ${q}`, async () =>
    (await first.textContent())?.toLowerCase().includes(q.toLowerCase().split(' ')[0]!),
  );
  return (await first.getAttribute('data-sku'))!;
}

export async function add(page: Page, sku: string): Promise<void> {
  const card = page.locator(`[data-testid=product][data-sku="${sku}"]`);
  await card.locator('[data-testid=add]').click();
  // A budget warning asks first.
  const again = page.getByRole('button', { name: 'Tetap tambah' });
  if (await again.isVisible().catch(() => false)) await again.click();
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}
