/**
 * The app shell in a real browser (Debian chromium via playwright-core) against the real
 * stack (room-server, settlement, built web): register, log in, create a room, add a friend
 * by ID and see their invite live, a guest joins by code and claims an account, a staff
 * member edits stock. Screenshots go to web/test-artifacts/ (not committed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { signToken } from '@patungan/model';
import { type Page } from 'playwright-core';
import { describe, expect, it, onTestFailed } from 'vitest';
import type { DemoStaffLogin } from '../src/lib/server/staff-seed.ts';
import { browserStack } from './helpers/browser-stack.ts';
import { openPage } from './helpers/phone.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');
const WAIT = { timeout: 15_000 };

const t = browserStack({}, 120_000);

const pages: Page[] = [];

async function newPage(viewport = { width: 390, height: 844 }): Promise<Page> {
  const { page } = await openPage(
    t.browser,
    t.contexts,
    { viewport, baseURL: t.stack.webUrl },
    (p) => pages.push(p),
  );
  return page;
}

/** A store's staff member, signed in on a new page and landed on the store's staff page. */
async function staffPage(login: DemoStaffLogin, viewport: { width: number; height: number }) {
  const staff = await newPage(viewport);
  await staff.goto(`/login?redirect=/staff/${login.storeId}`);
  await staff.fill('#email', login.email);
  await staff.fill('#password', login.password);
  await Promise.all([
    staff.waitForURL(`${t.stack.webUrl}/staff/${login.storeId}`),
    staff.click('main form button[type=submit]'),
  ]);
  return staff;
}

/** On failure: every open page's screenshot and URL, and the web server's log. */
function explainFailures() {
  onTestFailed(async ({ task }) => {
    const name = task.name.replace(/\W+/g, '-').slice(0, 40);
    for (const [i, p] of pages.entries()) {
      if (p.isClosed()) continue;
      console.error(`page ${i}: ${p.url()}`);
      await shot(p, `failed-${name}-${i}`, false).catch(() => undefined);
    }
    console.error(t.stack.logs().slice(-5000));
  });
}

async function register(page: Page, name: string, email: string) {
  await page.goto('/register');
  await page.fill('#name', name);
  await page.fill('#email', email);
  await page.fill('#password', 'rahasia123');
  await Promise.all([
    page.waitForURL(`${t.stack.webUrl}/`),
    page.click('main form button[type=submit]'),
  ]);
}

async function shot(page: Page, name: string, fullPage = true) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

describe('app shell in a browser', () => {
  let roomId = '';
  let roomCode = '';
  let ana: Page;

  it('registers, logs out and logs in again, switches language', async () => {
    explainFailures();
    ana = await newPage();
    await register(ana, 'Ana', 'ana@example.com');
    await expect.poll(() => ana.locator('h1').textContent()).toBe('Halo, Ana!');
    await ana.click('form[action="/logout"] button');
    await ana.waitForURL(`${t.stack.webUrl}/`);
    await ana.goto('/login');
    await ana.fill('#email', 'ana@example.com');
    await ana.fill('#password', 'salah-sekali');
    await ana.click('main form button[type=submit]');
    await ana.locator('[role=alert]').waitFor(WAIT);
    expect(await ana.locator('[role=alert]').textContent()).toContain(
      'Email atau kata sandi salah',
    );
    await ana.fill('#password', 'rahasia123');
    await Promise.all([
      ana.waitForURL(`${t.stack.webUrl}/`),
      ana.click('main form button[type=submit]'),
    ]);
    // Language switch: a cookie, kept across pages.
    await Promise.all([ana.waitForURL(`${t.stack.webUrl}/`), ana.click('form.lang button')]);
    await expect.poll(() => ana.locator('h1').textContent()).toBe('Hi, Ana!');
    expect(await ana.getAttribute('html', 'lang')).toBe('en');
    await Promise.all([ana.waitForURL(`${t.stack.webUrl}/`), ana.click('form.lang button')]);
    await expect.poll(() => ana.locator('h1').textContent()).toBe('Halo, Ana!');
  });

  it('creates a room with a budget and lands in it', async () => {
    explainFailures();
    await ana.fill('#room-name', 'Belanja kos');
    await ana.selectOption('#currency', 'IDR');
    await ana.fill('#budget', '150000');
    await Promise.all([
      ana.waitForURL(/\/rooms\/[A-Za-z0-9_-]+$/),
      ana.click('form[action="?/create"] button'),
    ]);
    roomId = new URL(ana.url()).pathname.split('/').pop()!;
    const token = (await (
      await ana.request.post(`/rooms/${roomId}/token`, { headers: { origin: t.stack.webUrl } })
    ).json()) as { token: string };
    expect(token.token.split('.')).toHaveLength(3);
    await ana.goto(`/rooms/${roomId}/invite`);
    roomCode = (await ana.locator('[data-testid=room-code]').textContent())!.trim();
    expect(roomCode).toMatch(/^[A-Z2-9]{6}$/);
    expect(await ana.locator('figure.qr svg').count()).toBe(1);
    await shot(ana, 'shell-invite-390');
    await ana.goto('/');
    expect(await ana.locator(`[data-room-id="${roomId}"]`).textContent()).toContain('Belanja kos');
  });

  it('adds a friend by ID; the request and then the room invite show up live', async () => {
    explainFailures();
    const budi = await newPage({ width: 1280, height: 800 });
    await register(budi, 'Budi', 'budi@example.com');
    await ana.goto('/friends');
    const anaId = (await ana.locator('[data-testid=friend-id]').textContent())!.trim();
    await ana.goto('/');

    await budi.goto('/friends');
    await budi.fill('#friendId', anaId.toLowerCase());
    await budi.click('form[action="?/add"] button');
    await budi.getByText('Permintaan terkirim ke Ana.').waitFor(WAIT);

    // Ana's home polls: Budi's request appears without a reload.
    const accept = ana.locator('form[action="?/acceptFriend"] button');
    await accept.waitFor(WAIT);
    await accept.click();
    // A plain POST (the home page has no client): back on `/`, the request answered.
    await ana.waitForURL((u) => u.pathname === '/' && u.search === '', WAIT);
    expect(await ana.locator('form[action="?/acceptFriend"]').count()).toBe(0);
    await ana.goto('/friends');
    await ana.locator('[data-testid=friends] li', { hasText: 'Budi' }).waitFor(WAIT);

    await budi.goto('/');
    await ana.goto(`/rooms/${roomId}/invite`);
    await ana.locator('input[name=friend]').first().check();
    await ana.click('main form button[type=submit]:has-text("Kirim undangan")');
    await ana.getByText('1 undangan terkirim.').waitFor(WAIT);

    const invite = budi
      .locator('[data-testid=invites]')
      .getByText('Ana mengundangmu ke Belanja kos');
    await invite.waitFor(WAIT);
    await shot(budi, 'shell-home-1280');
    // Opening the invite shows the join screen (GET never joins); joining is a POST.
    await budi.locator('[data-testid=invites] a').first().click();
    await budi.waitForURL(/\/join\/[A-Z0-9]+$/);
    await Promise.all([
      budi.waitForURL(`${t.stack.webUrl}/rooms/${roomId}`),
      budi.getByRole('button', { name: 'Gabung sebagai Budi' }).click(),
    ]);
  });

  it('a guest joins by room code with a display name, then claims an account and keeps the room', async () => {
    explainFailures();
    const citra = await newPage();
    await citra.goto('/');
    await citra.fill('#code', roomCode.toLowerCase());
    await Promise.all([
      citra.waitForURL(`${t.stack.webUrl}/join/${roomCode}`),
      citra.click('form[action="/join"] button'),
    ]);
    await citra.fill('#name', 'Citra');
    await Promise.all([
      citra.waitForURL(`${t.stack.webUrl}/rooms/${roomId}`),
      citra.click('main form button[type=submit]'),
    ]);
    await citra.goto('/');
    await citra.locator(`[data-room-id="${roomId}"]`).waitFor(WAIT);
    await shot(citra, 'shell-guest-home-390');

    await citra.goto('/profile');
    await citra.fill('#claim-email', 'citra@example.com');
    await citra.fill('#claim-password', 'rahasia123');
    await citra.click('form[action="?/claim"] button');
    await citra.getByText('Akunmu sudah tersimpan.').waitFor(WAIT);
    await citra.click('form[action="/logout"] button');
    await citra.goto('/login');
    await citra.fill('#email', 'citra@example.com');
    await citra.fill('#password', 'rahasia123');
    await Promise.all([
      citra.waitForURL(`${t.stack.webUrl}/`),
      citra.click('main form button[type=submit]'),
    ]);
    await citra.locator(`[data-room-id="${roomId}"]`).waitFor(WAIT);

    // The organiser's home shows the member count go up (3: Ana, Budi, Citra).
    await ana.goto('/');
    await expect
      .poll(() => ana.locator(`[data-room-id="${roomId}"]`).textContent(), { timeout: 15_000 })
      .toContain('3 anggota');
  });

  it('store staff edit stock inline and settlement has it', async () => {
    explainFailures();
    const login = t.stack.staff[0]!;
    expect(login).toBeDefined();
    const staff = await staffPage(login, { width: 1280, height: 800 });

    const row = staff.locator('tbody tr').first();
    await row.waitFor(WAIT);
    const sku = (await row.getAttribute('data-sku'))!;
    const before = (await (
      await fetch(`${t.stack.settlementUrl}/stores/${login.storeId}/stock`)
    ).json()) as {
      items: { sku: string; onHand: number }[];
    };
    const was = before.items.find((i) => i.sku === sku)!.onHand;
    await row.locator('input[name=onHand]').fill(String(was + 7));
    await row.locator('button[type=submit]').click();
    await staff.locator('.notice.ok').waitFor(WAIT);
    const after = (await (
      await fetch(`${t.stack.settlementUrl}/stores/${login.storeId}/stock`)
    ).json()) as {
      items: { sku: string; onHand: number }[];
    };
    expect(after.items.find((i) => i.sku === sku)!.onHand).toBe(was + 7);

    // A change made elsewhere (another till) reaches the open page live, over settlement's SSE.
    const till = await signToken(
      { sub: 'till', name: 'Till', role: 'staff', store: login.storeId },
      t.stack.secret,
    );
    const put = await fetch(`${t.stack.settlementUrl}/stores/${login.storeId}/stock/${sku}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${till}`, 'content-type': 'application/json' },
      body: JSON.stringify({ onHand: was + 11 }),
    });
    expect(put.status).toBe(200);
    await expect
      .poll(() => row.locator('input[name=onHand]').inputValue(), { timeout: 15_000 })
      .toBe(String(was + 11));
    await shot(staff, 'shell-staff-1280', false);

    // Another store's page is refused.
    const other = t.stack.staff.find((s) => s.storeId !== login.storeId)!;
    const res = await staff.goto(`/staff/${other.storeId}`);
    expect(res?.status()).toBe(403);
  });

  it('a count typed before the staff page’s scripts arrive is the one saved', async () => {
    explainFailures();
    const login = t.stack.staff[0]!;
    const staff = await staffPage(login, { width: 390, height: 844 });
    // The page's scripts wait until the count is typed: a phone on a slow line shows the
    // server's page seconds before it hydrates, and people type meanwhile.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await staff.route('**/_app/immutable/**/*.js', async (route) => {
      await released;
      await route.continue();
    });
    await staff.goto(`/staff/${login.storeId}`, { waitUntil: 'commit' });
    const row = staff.locator('tbody tr').nth(1);
    await row.waitFor(WAIT);
    const sku = (await row.getAttribute('data-sku'))!;
    const onHand = async () =>
      (
        (await (await fetch(`${t.stack.settlementUrl}/stores/${login.storeId}/stock`)).json()) as {
          items: { sku: string; onHand: number }[];
        }
      ).items.find((i) => i.sku === sku)!.onHand;
    const was = await onHand();
    const input = row.locator('input[name=onHand]');
    await input.fill(String(was + 3));
    release();
    // Hydrated: the page's live stream is open.
    await staff.locator('[data-testid=stream][data-state=open]').waitFor(WAIT);
    expect(await input.inputValue()).toBe(String(was + 3));
    await row.locator('button[type=submit]').click();
    await staff.locator('.notice.ok').waitFor(WAIT);
    expect(await onHand()).toBe(was + 3);
    // …and the row is live again: a change made at another till shows.
    const till = await signToken(
      { sub: 'till', name: 'Till', role: 'staff', store: login.storeId },
      t.stack.secret,
    );
    const put = await fetch(`${t.stack.settlementUrl}/stores/${login.storeId}/stock/${sku}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${till}`, 'content-type': 'application/json' },
      body: JSON.stringify({ onHand: was + 5 }),
    });
    expect(put.status).toBe(200);
    await expect.poll(() => input.inputValue(), { timeout: 15_000 }).toBe(String(was + 5));
  });

  it('store staff move a paid pickup order along: packed, ready, completed with the shoppers’ pickup code', async () => {
    explainFailures();
    const login = t.stack.staff[0]!;
    const stock = (await (
      await fetch(`${t.stack.settlementUrl}/stores/${login.storeId}/stock`)
    ).json()) as {
      items: { sku: string; available: number }[];
    };
    const sku = stock.items.find((i) => i.available >= 2)!.sku;
    const service = await signToken(
      { sub: 'e2e', name: 'e2e', role: 'service', room: '*' },
      t.stack.secret,
    );
    const res = await fetch(`${t.stack.settlementUrl}/settlements`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${service}`,
        'content-type': 'application/json',
        'idempotency-key': 'e2e-staff-order:v1',
      },
      body: JSON.stringify({
        roomId: 'e2e-staff-room',
        cartVersion: 'v1',
        currency: 'IDR',
        storeId: login.storeId,
        organiser: 'm1',
        split: { mode: 'equal' },
        members: [{ id: 'm1', name: 'Dewi', method: 'local' }],
        lines: [{ id: 'l1', sku, qty: 2, addedBy: 'm1' }],
      }),
    });
    expect(res.status).toBe(201);
    const settlement = (await res.json()) as { id: string; payments: { paymentId: string }[] };
    const pay = await fetch(`${t.stack.settlementUrl}/pay/${settlement.payments[0]!.paymentId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ action: 'authorize' }),
    });
    expect(pay.ok).toBe(true);
    await t.stack.settlement.tick();

    const staff = await staffPage(login, { width: 390, height: 844 });
    const order = staff.locator('[data-testid=orders] > li').first();
    const press = async (label: string, status: string) => {
      await order.locator('button', { hasText: label }).click();
      await order.locator(`[data-status=${status}]`).waitFor(WAIT);
    };
    await order.locator('[data-status=paid]').waitFor(WAIT);
    await shot(staff, 'shell-staff-orders-390', false);
    await press('Sudah dikemas', 'packed');
    await press('Siap diambil', 'ready_for_pickup');
    // Staff never see the code (it used to be printed here, and "picked up" needed none):
    // the shoppers bring it (docs/contracts.md "Store handover").
    expect(await staff.locator('[data-testid=pickup-code]').count()).toBe(0);
    const shown = (await (
      await fetch(`${t.stack.settlementUrl}/settlements/${settlement.id}`, {
        headers: { authorization: `Bearer ${service}` },
      })
    ).json()) as { pickupCode: string };
    const code = shown.pickupCode;
    expect(code).toMatch(/^[2-9A-Z]{6}$/);

    await staff.fill('#pickup-code', code.toLowerCase());
    await staff.click('form[action="?/lookup"] button');
    const found = staff.locator('[data-testid=lookup] li').first();
    await found.locator('[data-testid=handover-code]').fill(code.toLowerCase());
    await found.getByRole('button', { name: 'Serahkan pesanan' }).click();
    await order.locator('[data-status=completed]').waitFor(WAIT);
    const done = (await (
      await fetch(`${t.stack.settlementUrl}/settlements/${settlement.id}`, {
        headers: { authorization: `Bearer ${service}` },
      })
    ).json()) as { status: string };
    expect(done.status).toBe('completed');
  });
});
