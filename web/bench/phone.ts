/**
 * The web app on a slow phone (issue 11 item 12). Starts the real stack (test/helpers/stack.ts:
 * built web app under `node build/index.js`, room-server, settlement), then drives Debian's
 * Chromium (playwright-core) at 390×844, id-ID, with Chrome DevTools throttling:
 * 300 ms latency, 400 kbit/s down and up (Network.emulateNetworkConditions) and a 4× slower CPU
 * (Emulation.setCPUThrottlingRate). Every run is a fresh browser context (cold HTTP cache, no
 * IndexedDB copy of the room).
 *
 * What it measures, from the navigation's start (performance.timeOrigin):
 * - room interactive: the catalog shows its first product card with its "add" button
 *   (`[data-testid=product] [data-testid=add]`) AND a tap on it lands in the shared cart: either
 *   the live room has synced (`[data-testid=room][data-ready=true]`) or the page keeps taps made
 *   before it (the head's inline script, `window.__patunganTaps`, decision 0020), and the page
 *   has painted (not before first-contentful-paint). Observed by a MutationObserver installed
 *   before the page loads;
 * - room live: `[data-testid=room][data-ready=true]` (the room's WebSocket has synced the
 *   document; the cart, tabs and presence are live) and a product card (the old "interactive");
 * - home loaded: the signed-out and the signed-in home page (`/`) have fired `load` and every
 *   script they asked for has arrived (max of loadEventEnd and each script's responseEnd); the
 *   first contentful paint is printed too;
 * - first-view JS: bytes on the wire (transferSize: compressed body plus headers) of the scripts
 *   the room asked for before its first view was hydrated (the page's own code took over the
 *   taps: `window.__patunganTapsOwned` set), or before its WebSocket synced when the page has no
 *   server-rendered first view (the home pages: all their scripts);
 * - all JS: the same for every script response until the room is live (CDP encodedDataLength),
 *   and the content-encoding they came with.
 *
 * The browser asks for `Accept-Encoding: br, gzip` as a phone does over HTTPS (Chromium only
 * offers br on https:, the stack is plain http on 127.0.0.1).
 *
 *   npx tsx web/bench/phone.ts [runs=5] [cpu=4]
 *
 * Not a test: it prints numbers (median and worst of the runs) and asserts nothing.
 */
import { loadavg } from 'node:os';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PHONE_CONTEXT, launch } from '../test/helpers/phone.ts';
import { startStack } from '../test/helpers/stack.ts';

const RUNS = Math.max(1, Math.min(Number(process.argv[2] ?? 5), 20));
const CPU = Math.max(1, Math.min(Number(process.argv[3] ?? 4), 20));
const KBIT = 400;
const NET = {
  offline: false,
  latency: 300,
  downloadThroughput: (KBIT * 1000) / 8,
  uploadThroughput: (KBIT * 1000) / 8,
};

const INTERACTIVE_PROBE = `(() => {
  const done = () => {
    const ready = document.querySelector('[data-testid=room][data-ready=true]');
    const card = document.querySelector('[data-testid=product] [data-testid=add]');
    if (ready && card && !window.__synced) window.__synced = performance.now();
    if (!window.__domReady && card && (ready || window.__patunganTaps)) window.__domReady = performance.now();
  };
  new MutationObserver(done).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready'] });
  // The first view's hydration: the page's code takes the taps over (first-taps.svelte.ts).
  let owned;
  Object.defineProperty(window, '__patunganTapsOwned', {
    configurable: true,
    get: () => owned,
    set: (v) => { owned = v; if (v && !window.__hydrated) window.__hydrated = performance.now(); },
  });
})();`;

interface Sample {
  ms: number;
  /** Room only: synced (live); NaN for the home pages. */
  live: number;
  fcp: number;
  firstJs: number;
  jsBytes: number;
  jsFiles: number;
  encodings: string;
  allBytes: number;
}

async function context(browser: Browser, baseURL: string, cookie?: string) {
  const ctx = await browser.newContext({
    ...PHONE_CONTEXT,
    baseURL,
    deviceScaleFactor: 2,
    extraHTTPHeaders: { 'accept-encoding': 'br, gzip' },
  });
  if (cookie) {
    const [name, value] = cookie.split('=') as [string, string];
    await ctx.addCookies([{ name, value, url: baseURL }]);
  }
  return ctx;
}

/** Opens `path` throttled on a cold context; `until` says when it is ready (ms since start). */
async function measure(
  ctx: BrowserContext,
  path: string,
  until: (page: Page) => Promise<number>,
): Promise<Sample> {
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', NET);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU });
  const scripts = new Map<string, string>();
  const bytes = new Map<string, number>();
  cdp.on('Network.responseReceived', (e) => {
    if (e.type === 'Script')
      scripts.set(
        e.requestId,
        String(
          Object.entries(e.response.headers).find(
            ([k]) => k.toLowerCase() === 'content-encoding',
          )?.[1] ?? 'identity',
        ),
      );
  });
  cdp.on('Network.loadingFinished', (e) => bytes.set(e.requestId, e.encodedDataLength));
  await page.addInitScript(INTERACTIVE_PROBE);
  await page.goto(path, { waitUntil: 'commit' });
  const ms = await until(page);
  const live = await page.evaluate(() => (window as { __synced?: number }).__synced ?? NaN);
  const fcp = await page.evaluate(
    () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
  );
  let jsBytes = 0;
  const enc = new Set<string>();
  for (const [id, e] of scripts) {
    jsBytes += bytes.get(id) ?? 0;
    enc.add(e);
  }
  // The first view's scripts: those asked for before the room synced (for the home pages,
  // all of them), bytes on the wire (transferSize: body as sent plus headers).
  const firstJs = await page.evaluate(() => {
    const w = window as { __synced?: number; __hydrated?: number };
    const upTo = w.__hydrated ?? w.__synced ?? Infinity;
    let sum = 0;
    for (const r of performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      if (r.name.endsWith('.js') && r.startTime < upTo) sum += r.transferSize;
    return sum;
  });
  let allBytes = 0;
  for (const b of bytes.values()) allBytes += b;
  if (process.env.PHONE_TIMELINE) console.log(await timeline(page));
  await page.close();
  return {
    ms,
    live,
    fcp,
    firstJs,
    jsBytes,
    jsFiles: scripts.size,
    encodings: [...enc].join('+'),
    allBytes,
  };
}

/** `PHONE_TIMELINE=1`: each request of a run (start → end, ms; bytes on the wire), and the marks. */
function timeline(page: Page): Promise<string> {
  return page.evaluate(() => {
    const w = window as { __synced?: number; __domReady?: number; __hydrated?: number };
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const rows = [nav, ...(performance.getEntriesByType('resource') as PerformanceResourceTiming[])]
      .map(
        (r) =>
          `  ${r.startTime.toFixed(0).padStart(5)} → ${r.responseEnd.toFixed(0).padStart(5)}  ${String(r.transferSize).padStart(6)} B  ${new URL(r.name).pathname.slice(0, 70)}`,
      )
      .join('\n');
    return `${rows}\n  first view usable ${w.__domReady?.toFixed(0)}  hydrated ${w.__hydrated?.toFixed(0)}  synced ${w.__synced?.toFixed(0)}  domInteractive ${nav.domInteractive.toFixed(0)}`;
  });
}

const roomInteractive = async (page: Page) => {
  // Usable: the card and its "add" are there, a tap lands (kept or live), and it is painted.
  await page.waitForFunction(() => (window as { __domReady?: number }).__domReady, null, {
    timeout: 60_000,
    polling: 100,
  });
  await page.waitForFunction(
    () => performance.getEntriesByName('first-contentful-paint').length > 0,
    null,
    { timeout: 60_000, polling: 100 },
  );
  // Live too, so that both numbers (and the scripts until then) are recorded.
  await page.waitForFunction(() => (window as { __synced?: number }).__synced, null, {
    timeout: 60_000,
    polling: 100,
  });
  return page.evaluate(() =>
    Math.max(
      (window as unknown as { __domReady: number }).__domReady,
      performance.getEntriesByName('first-contentful-paint')[0]!.startTime,
    ),
  );
};

const homeLoaded = async (page: Page) => {
  await page.waitForLoadState('load', { timeout: 60_000 });
  // Scripts a module graph asks for after `load` (SvelteKit's dynamic imports) count too.
  await page.waitForLoadState('networkidle', { timeout: 60_000 });
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    let end = nav.loadEventEnd;
    for (const r of performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      if (r.initiatorType === 'script' || r.name.endsWith('.js'))
        end = Math.max(end, r.responseEnd);
    return end;
  });
};

function report(label: string, s: Sample[]) {
  const sorted = (f: (x: Sample) => number) => s.map(f).sort((a, b) => a - b);
  const ms = sorted((x) => x.ms);
  const fcp = sorted((x) => x.fcp);
  const live = sorted((x) => x.live);
  const med = (a: number[]) => a[Math.floor((a.length - 1) / 2)]!;
  const last = s.at(-1)!;
  console.log(
    `${label.padEnd(26)} median ${med(ms).toFixed(0).padStart(5)} ms  worst ${ms
      .at(-1)!
      .toFixed(0)
      .padStart(5)} ms  FCP median ${med(fcp).toFixed(0).padStart(5)} ms${
      Number.isNaN(live[0])
        ? ''
        : `  live (synced) median ${med(live).toFixed(0)} ms worst ${live.at(-1)!.toFixed(0)} ms`
    }  first-view JS ${(last.firstJs / 1024).toFixed(1)} KB; all JS ${(last.jsBytes / 1024).toFixed(
      1,
    )} KB in ${last.jsFiles} files (${last.encodings})  all ${(last.allBytes / 1024).toFixed(
      1,
    )} KB`,
  );
}

const stack = await startStack();
const browser = await launch();
try {
  // A member with a room that has a cart (three lines), set up unthrottled.
  const setup = await context(browser, stack.webUrl);
  const page = await setup.newPage();
  await page.goto('/register');
  await page.fill('#name', 'Bench');
  await page.fill('#email', `bench${Date.now()}@example.test`);
  await page.fill('#password', 'correct horse battery staple');
  await page.locator('main form button[type=submit]').click();
  await page.waitForURL((u) => u.pathname === '/');
  await page.fill('#room-name', 'Belanja bulanan');
  await page.getByRole('button', { name: 'Buat ruang' }).click();
  await page.waitForURL(/\/rooms\/[^/#?]+$/);
  await page.locator('[data-testid=room][data-ready=true]').waitFor({ timeout: 30_000 });
  const roomPath = new URL(page.url()).pathname;
  for (let i = 0; i < 3; i++) {
    const card = page.locator('[data-testid=product]').nth(i);
    await card.locator('[data-testid=add]').click();
    const again = page.getByRole('button', { name: 'Tetap tambah' });
    if (await again.isVisible().catch(() => false)) await again.click();
  }
  await page.locator('[data-testid=tab-cart]').click();
  await page.locator('[data-testid=cart-line]').nth(2).waitFor({ timeout: 15_000 });
  const cookie = (await setup.cookies()).find((c) => c.name.includes('session'));
  if (!cookie) throw new Error('no session cookie after registering');
  await setup.close();
  const session = `${cookie.name}=${cookie.value}`;

  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `web on a phone: ${RUNS} cold runs each; ${NET.latency} ms latency, ${KBIT} kbit/s down/up, CPU ${CPU}× slower; 390×844 id-ID`,
  );
  const runs = async (
    label: string,
    path: string,
    until: (p: Page) => Promise<number>,
    c?: string,
  ) => {
    // One throw-away run warms the server (SSR, catalog cache), not the browser.
    const s: Sample[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const ctx = await context(browser, stack.webUrl, c);
      try {
        const sample = await measure(ctx, path, until);
        if (i > 0) s.push(sample);
      } finally {
        await ctx.close();
      }
    }
    report(label, s);
  };
  await runs('room interactive', roomPath, roomInteractive, session);
  await runs('home, signed out', '/', homeLoaded);
  await runs('home, signed in', '/', homeLoaded, session);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await browser.close().catch(() => undefined);
  await stack.close();
}
