/**
 * Issue 11, item 12, in a browser: what a phone downloads for the first view of a room.
 * - Messages: its own language only, once, as one JSON file beside the scripts, and no script
 *   carries any message of either language (both catalogues used to ride in the JavaScript of
 *   every page, ~9.5 KB brotli). What the browser then renders by itself (the connection badge
 *   after the sync, a page reached by a client-side navigation) speaks the reader's language:
 *   Indonesian, and English on request.
 * - The IndexedDB copy's code (y-indexeddb) is not among the scripts asked for before the room
 *   synced; it comes after, and the copy is then written.
 * - The server-rendered room page and its data travel brotli/gzip as the browser accepts.
 * - The room's socket is opened by the page's head while the scripts are still on their way,
 *   and the room's code takes that one over: one socket, one request for the whole room.
 * - The room's first view (the catalog's first page and the cart) is in the server's HTML, and a
 *   tap on "add" made before the live room exists (before any script, and after the page's own
 *   scripts but before Yjs) is kept, shown, and lands in the shared cart (decision 0020).
 * Not a timing test: it checks what is downloaded and in which order, never how fast.
 */
import { request as httpRequest } from 'node:http';
import { describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { catalogues } from '../src/lib/i18n/translate.ts';
import { browserStack } from './helpers/browser-stack.ts';
import {
  PHONE_CONTEXT,
  STEP,
  add,
  createRoom,
  joinAsGuest,
  register,
  shot,
  tab,
  until,
} from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' }, 600_000);

/**
 * Messages a bundler keeps verbatim inside a script (plain ASCII, no quote or placeholder) and
 * long enough not to occur by chance: if any is in a script, a catalogue is.
 */
const telltales = (['id', 'en'] as const).flatMap((l) =>
  Object.entries(catalogues[l])
    .filter(([, m]) => m.length >= 24 && /^[\x20-\x7e]+$/.test(m) && !/["'`\\{}]/.test(m))
    .map(([key, m]) => ({ locale: l, key, m })),
);

/** Records every script body and every messages file the page fetches. */
function record(page: Page) {
  const scripts = new Map<string, string>();
  const messages: string[] = [];
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (/^\/i18n\//.test(url.pathname)) messages.push(url.pathname);
    if (res.request().resourceType() === 'script' || url.pathname.endsWith('.js')) {
      void res
        .text()
        .then((body) => scripts.set(url.pathname, body))
        .catch(() => undefined);
    }
  });
  return { scripts, messages };
}

/** Marks when the room first reports synced (performance.now()), before any script runs. */
const SYNCED_PROBE = `new MutationObserver(() => {
  if (!window.__syncedAt && document.querySelector('[data-testid=room][data-ready=true]'))
    window.__syncedAt = performance.now();
}).observe(document, { subtree: true, childList: true, attributes: true });`;

/** y-indexeddb's code (lib0/indexeddb) in a script body, minified or not. */
const IDB_CODE = 'indexedDB.open(';

/** Paths of the scripts the page has asked for, asked before `upTo` (performance.now()). */
function scriptPaths(page: Page, upTo = Infinity): Promise<string[]> {
  return page.evaluate(
    (limit) =>
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((r) => r.name.endsWith('.js') && r.startTime < (limit ?? Infinity))
        .map((r) => new URL(r.name).pathname),
    upTo === Infinity ? null : upTo,
  );
}

async function connectedText(page: Page): Promise<string> {
  const badge = page.locator('[data-testid=connection][data-state=connected]');
  await badge.waitFor({ timeout: STEP });
  return (await badge.textContent())?.trim() ?? '';
}

describe('the first view on a phone (item 12)', () => {
  it('the page fetches its own language only, and no script carries a message', async () => {
    onTestFailed(() => {
      console.error(t.stack.logs().slice(-3000));
    });
    expect(telltales.length).toBeGreaterThan(20);
    const A = await t.phone();
    const seen = record(A.page);
    await register(A.page, 'Rina');
    const roomUrl = await createRoom(A.page, 'Kos Mawar');
    for (const t of ['cart', 'pay', 'activity', 'catalog'] as const) await tab(A.page, t);
    await A.page.locator('[data-testid=product]').first().waitFor({ timeout: STEP });
    expect(await connectedText(A.page)).toContain(catalogues.id['room.conn.connected']);
    // Bodies are read asynchronously: wait for every script the page has asked for.
    const asked = await scriptPaths(A.page);
    await until('script bodies', async () => asked.every((p) => seen.scripts.has(p)));

    expect(seen.scripts.size).toBeGreaterThan(3);
    const inScripts = telltales.filter(({ m }) =>
      [...seen.scripts.values()].some((s) => s.includes(m)),
    );
    expect(inScripts.map(({ locale, key }) => `${locale}:${key}`)).toEqual([]);
    expect(seen.messages.length).toBeGreaterThan(0);
    expect(seen.messages.every((p) => /^\/i18n\/id\.[\w-]+\.json$/.test(p))).toBe(true);

    // English on request: the switch reloads the page in English, with English messages only.
    seen.messages.length = 0;
    await A.page.locator('form.lang button').click();
    await A.page.locator('html[lang=en]').waitFor({ timeout: STEP });
    expect(A.page.url()).toBe(roomUrl);
    expect(await connectedText(A.page)).toContain(catalogues.en['room.conn.connected']);
    expect(seen.messages.length).toBeGreaterThan(0);
    expect(seen.messages.every((p) => /^\/i18n\/en\.[\w-]+\.json$/.test(p))).toBe(true);

    // A page the browser renders itself (client-side navigation) is in English too. (Not the
    // home page: it has no client and is always rendered by the server.)
    await A.page.locator('header nav a[href="/friends"]').first().click();
    await A.page.waitForURL((u) => u.pathname === '/friends');
    await A.page
      .getByRole('heading', { level: 1, name: catalogues.en['friends.title'] })
      .waitFor({ timeout: STEP });
  });

  it('the home page downloads no script, signed out or in; its forms and live parts still work', async () => {
    const A = await t.phone();
    const seen = record(A.page);
    const errors: string[] = [];
    A.page.on('pageerror', (e) => errors.push(String(e)));
    // Signed out: not a script, inline or not, and no messages file.
    await A.page.goto('/');
    await A.page.locator('#code').waitFor({ timeout: STEP });
    await A.page.waitForLoadState('load');
    expect(await scriptPaths(A.page)).toEqual([]);
    expect(await A.page.locator('script').count()).toBe(0);
    expect(seen.messages).toEqual([]);
    // Its join form works as plain HTML: the code is normalised by the server.
    await A.page.fill('#code', 'zz9zz9');
    await Promise.all([
      A.page.waitForURL((u) => u.pathname === '/join/ZZ9ZZ9', { timeout: STEP }),
      A.page.locator('form[action="/join"] button').click(),
    ]);

    // Signed in: only the page's own inline script (no file), which fills in the time zone
    // and keeps the budget hint's currency with the picker.
    await register(A.page, 'Dewi');
    seen.messages.length = 0;
    await A.page.goto('/');
    await A.page.locator('#room-name').waitFor({ timeout: STEP });
    await A.page.waitForLoadState('load');
    expect(await scriptPaths(A.page)).toEqual([]);
    expect(await A.page.locator('script[src]').count()).toBe(0);
    expect(await A.page.locator('script:not([src])').count()).toBe(1);
    expect(seen.messages).toEqual([]);
    const tz = await A.page.evaluate(() => String(-new Date().getTimezoneOffset()));
    expect(await A.page.inputValue('form[action="?/create"] input[name=tz]')).toBe(tz);
    await A.page.selectOption('#currency', 'USD');
    await until('the budget hint names USD', async () =>
      ((await A.page.locator('#budget-hint').textContent()) ?? '').includes('USD'),
    );
    // A failed create (a budget that is no number) renders the page again with the error, as
    // a form without scripts does.
    await A.page.fill('#budget', 'abc');
    await A.page.fill('#room-name', 'Kos Anggrek');
    await A.page.getByRole('button', { name: 'Buat ruang' }).click();
    await A.page.locator('[aria-invalid=true]').first().waitFor({ timeout: STEP });
    expect(errors).toEqual([]);
  });

  it('the IndexedDB copy loads after the room has synced, and then keeps the room', async () => {
    const A = await t.phone();
    await register(A.page, 'Sari');
    const roomUrl = await createRoom(A.page, 'Arisan');
    // The same member on a fresh phone (cold cache, no IndexedDB copy), as after a tap on a link.
    const B = await t.phone();
    await B.ctx.addCookies(await A.ctx.cookies());
    const page = B.page;
    const seen = record(page);
    await page.addInitScript(SYNCED_PROBE);
    await page.goto(roomUrl);
    await page.locator('[data-testid=room][data-ready=true]').waitFor({ timeout: 30_000 });
    const syncedAt = await page.evaluate(() => (window as { __syncedAt?: number }).__syncedAt);
    expect(syncedAt).toBeGreaterThan(0);
    const before = await scriptPaths(page, syncedAt);
    expect(before.length).toBeGreaterThan(3);
    // The copy is written once the code has arrived.
    await until('the IndexedDB copy of the room', () =>
      page.evaluate(async () =>
        (await indexedDB.databases()).some((d) => d.name?.startsWith('patungan-room:')),
      ),
    );
    await until('script bodies', async () => before.every((p) => seen.scripts.has(p)));
    const early = before.filter((p) => seen.scripts.get(p)!.includes(IDB_CODE));
    expect(early).toEqual([]);
    // …and arrived after.
    await until('the IndexedDB code', async () =>
      [...seen.scripts.values()].some((s) => s.includes(IDB_CODE)),
    );
  });

  it('the room page and its data are compressed as the browser accepts', async () => {
    const A = await t.phone();
    await register(A.page, 'Tari');
    const roomUrl = await createRoom(A.page, 'Kos Melati');
    const cookie = (await A.ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    // Raw HTTP: fetch() would decode the body and hide what went over the wire.
    const get = (path: string, acceptEncoding?: string) =>
      new Promise<{ status: number; encoding: string | undefined; bytes: number }>(
        (resolve, reject) => {
          const req = httpRequest(
            new URL(path, roomUrl),
            {
              headers: { cookie, ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) },
            },
            (res) => {
              let bytes = 0;
              res.on('data', (b: Buffer) => (bytes += b.length));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  encoding: res.headers['content-encoding'],
                  bytes,
                }),
              );
            },
          );
          req.on('error', reject);
          req.end();
        },
      );
    const path = new URL(roomUrl).pathname;
    const plain = await get(path);
    expect(plain.status).toBe(200);
    expect(plain.encoding).toBeUndefined();
    const br = await get(path, 'br, gzip');
    expect(br.encoding).toBe('br');
    expect(br.bytes).toBeLessThan(plain.bytes / 2);
    expect((await get(path, 'gzip')).encoding).toBe('gzip');
    const data = await get(`${path}/__data.json`, 'gzip, deflate, br');
    expect(data.status).toBe(200);
    expect(data.encoding).toBe('br');
  });

  it('the room socket opens from the page head before the scripts, and the room uses it', async () => {
    const A = await t.phone();
    await register(A.page, 'Wulan');
    const roomUrl = await createRoom(A.page, 'Kos Kenanga');
    const B = await t.phone();
    await B.ctx.addCookies(await A.ctx.cookies());
    const page = B.page;
    const roomServer = new URL(t.stack.roomServerUrl).host;
    const sockets: string[] = [];
    const step1s: number[] = [];
    let socketBeforeScripts = false;
    let gaveUp = false;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).host !== roomServer) return;
      sockets.push(ws.url());
      ws.on('framesent', ({ payload }) => {
        // Sync step 1: [messageSync 0, step 1 = 0, …state vector].
        if (typeof payload !== 'string' && payload[0] === 0 && payload[1] === 0)
          step1s.push(payload.length);
      });
      if (!gaveUp) socketBeforeScripts = true;
      release();
    });
    // The page's scripts wait until its socket exists (at most 15 s after the page arrived,
    // a long time on a busy test machine): a socket the scripts open comes only after that.
    await page.route('**/_app/immutable/**/*.js', async (route) => {
      await released;
      await route.continue();
    });
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    page.on('response', (res) => {
      if (res.url() !== roomUrl || giveUp) return;
      giveUp = setTimeout(() => {
        gaveUp = true;
        release();
      }, 15_000);
    });
    await page.goto(roomUrl, { waitUntil: 'commit' });
    await page.locator('[data-testid=room][data-ready=true]').waitFor({ timeout: 45_000 });
    await page.locator('[data-testid=product]').first().waitFor({ timeout: STEP });
    clearTimeout(giveUp);
    expect(socketBeforeScripts).toBe(true);
    // The room's code took that socket over: no second one, and the whole room asked for once.
    expect(sockets).toHaveLength(1);
    expect(step1s).toHaveLength(1);
    // …and it is live: an edit made here reaches the other phone.
    await page.locator('[data-testid=product] [data-testid=add]').first().click();
    await tab(A.page, 'cart');
    await A.page.locator('[data-testid=cart-line]').first().waitFor({ timeout: STEP });
  });
  it("the room's catalog and cart are in the HTML before any script runs", async () => {
    const A = await t.phone();
    await register(A.page, 'Yuni');
    const roomUrl = await createRoom(A.page, 'Kos Cempaka');
    const first = A.page.locator('[data-testid=product]').first();
    const sku = (await first.getAttribute('data-sku'))!;
    const name = (await first.locator('.name').textContent())!.trim();
    await add(A.page, sku);
    const liveBox = await first.boundingBox();
    await tab(A.page, 'cart');
    await A.page.locator('[data-testid=cart-line]').first().waitFor({ timeout: STEP });
    // The same member on a phone that runs no script at all: what the server sent is all there is.
    const ctx = await t.browser.newContext({
      ...PHONE_CONTEXT,
      baseURL: t.stack.webUrl,
      deviceScaleFactor: 2,
      javaScriptEnabled: false,
    });
    t.contexts.push(ctx);
    await ctx.addCookies(await A.ctx.cookies());
    const page = await ctx.newPage();
    await page.goto(roomUrl);
    const cards = page.locator('[data-testid=product]');
    expect(await cards.count()).toBe(12);
    expect(await cards.locator('[data-testid=add]').count()).toBe(12);
    expect(await cards.first().locator('.price').textContent()).toMatch(/Rp/);
    await shot(page, 'room-first-view-noscript');
    const line = page.locator(`[data-testid=first-cart-line][data-sku="${sku}"]`);
    expect(await line.count()).toBe(1);
    expect(await line.textContent()).toContain(name);
    expect(await line.textContent()).toContain('1 ×');
    expect(await page.locator('[data-testid=room]').getAttribute('data-view')).toBe('first');
    // The live room takes the first view's place without moving the cards under a finger.
    const firstBox = await cards.first().boundingBox();
    expect(Math.abs(firstBox!.y - liveBox!.y)).toBeLessThan(2);
  });

  it('a tap on add before the live room is ready lands in the shared cart, seen by another member', async () => {
    const A = await t.phone();
    await register(A.page, 'Lestari');
    await createRoom(A.page, 'Kos Dahlia');
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    const B = await t.phone();
    await joinAsGuest(B.page, invite, 'Bayu');
    const roomUrl = B.page.url();
    const errors: string[] = [];
    B.page.on('pageerror', (e) => errors.push(String(e)));
    // Hydrating the first view with the taps kept before it would not match the server's HTML.
    B.page.on('console', (m) => /hydration/i.test(m.text()) && errors.push(m.text()));
    // B opens the room again with every script held back, then only the live room's (Yjs's).
    let releaseAll!: () => void;
    const all = new Promise<void>((r) => (releaseAll = r));
    let releaseYjs!: () => void;
    const yjs = new Promise<void>((r) => (releaseYjs = r));
    await B.page.route('**/_app/immutable/**/*.js', async (route) => {
      await all;
      const res = await route.fetch();
      // Yjs says so when it is loaded twice: a string only its code carries.
      if ((await res.text()).includes('Yjs was already imported')) await yjs;
      await route.fulfill({ response: res });
    });
    await B.page.goto(roomUrl, { waitUntil: 'commit' });
    const cards = B.page.locator('[data-testid=product]');
    await cards.nth(1).waitFor({ timeout: STEP });
    const [sku1, sku2] = await Promise.all([
      cards.nth(0).getAttribute('data-sku'),
      cards.nth(1).getAttribute('data-sku'),
    ]);
    // Before any script file: the head's inline script keeps the tap and says so on the card.
    await cards.nth(0).locator('[data-testid=add]').click();
    await cards.nth(0).locator('[data-testid=queued]').waitFor({ timeout: STEP });
    // …and counts it on the cart's tab (the server's HTML said 0)
    expect(await B.page.locator('[data-testid=tab-cart]').innerText()).toContain('Keranjang (1)');
    await shot(B.page, 'room-first-view-tapped');
    // The tab bar works before the scripts too: the cart as the server rendered it.
    await tab(B.page, 'cart');
    await B.page.locator('[data-testid=first-cart]').waitFor({ timeout: STEP });
    expect(await cards.nth(0).isVisible()).toBe(false);
    await tab(B.page, 'catalog');
    await cards.nth(1).waitFor({ timeout: STEP });
    // The page's own scripts, not Yjs: the hydrated first view keeps the first tap and a new one.
    releaseAll();
    await until('the page hydrated', () =>
      B.page.evaluate(() => (window as { __patunganTapsOwned?: boolean }).__patunganTapsOwned),
    );
    expect(await cards.nth(0).locator('[data-testid=queued]').isVisible()).toBe(true);
    await cards.nth(1).locator('[data-testid=add]').click();
    await cards.nth(1).locator('[data-testid=queued]').waitFor({ timeout: STEP });
    expect(await B.page.locator('[data-testid=tab-cart]').innerText()).toContain('Keranjang (2)');
    await tab(B.page, 'cart');
    expect(await B.page.locator('[data-testid=first-cart-pending]').count()).toBe(2);
    expect(await B.page.locator('[data-testid=room]').getAttribute('data-ready')).toBe('false');
    // Yjs arrives, the room syncs: both taps are in the shared cart, once each, B's, and A sees them.
    releaseYjs();
    await B.page.locator('[data-testid=room][data-ready=true]').waitFor({ timeout: 45_000 });
    await tab(A.page, 'cart');
    for (const sku of [sku1, sku2]) {
      await A.page
        .locator(`[data-testid=cart-group][data-sku="${sku}"]`)
        .waitFor({ timeout: STEP });
    }
    expect(await A.page.locator('[data-testid=cart-line]').count()).toBe(2);
    expect(await A.page.locator('[data-testid=cart-line]').first().textContent()).toContain('Bayu');
    await shot(B.page, 'room-live-after-taps');
    // Replayed once: a reload does not add them again.
    await B.page.reload();
    await B.page.locator('[data-testid=room][data-ready=true]').waitFor({ timeout: 45_000 });
    await tab(B.page, 'cart');
    await B.page.locator('[data-testid=cart-line]').nth(1).waitFor({ timeout: STEP });
    expect(await B.page.locator('[data-testid=cart-line]').count()).toBe(2);
    expect(errors).toEqual([]);
  });
});
