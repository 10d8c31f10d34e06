/**
 * Issue 10 (trust), web's share, through the real built server (`startStack`): redirects stay
 * on this site, NUL bytes get a 400 in the user's language, per-IP limits answer 429 with
 * Retry-After, a password change ends the other sessions, logging in ends a guest session,
 * GET never joins a room, every page carries a CSP with frame-ancestors 'none', PGlite's files
 * are private, and the room page still works under the CSP in Chromium.
 *
 * Each test sends its own client address in X-Forwarded-For (the stack's web trusts one proxy
 * hop, as a deployment behind a proxy does), so the per-IP limits of one test do not touch another.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launch } from './helpers/phone.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.ts';

const LIMITS = {
  RATE_LIMIT_JOIN_PER_MINUTE: '10',
  RATE_LIMIT_AUTH_PER_MINUTE: '8',
  LOGIN_ACCOUNT_MAX_FAILURES: '6',
};

let stack: Stack;
let ipCounter = 0;
/** A client address of its own (203.0.113.0/24 is a documentation range). */
const newIp = () => `203.0.113.${++ipCounter}`;

beforeAll(async () => {
  stack = await startStack({
    webEnv: { ADDRESS_HEADER: 'x-forwarded-for', XFF_DEPTH: '1', ...LIMITS },
  });
}, 240_000);

afterAll(async () => {
  await stack?.close();
}, 60_000);

interface Client {
  ip: string;
  cookies: Map<string, string>;
}
const client = (ip = newIp()): Client => ({ ip, cookies: new Map() });

async function request(
  c: Client,
  method: 'GET' | 'POST',
  path: string,
  form?: Record<string, string>,
): Promise<Response> {
  const headers: Record<string, string> = {
    'x-forwarded-for': c.ip,
    origin: stack.webUrl,
    accept: 'text/html',
  };
  if (c.cookies.size) headers.cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  let body: string | undefined;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(stack.webUrl + path, { method, headers, body, redirect: 'manual' });
  for (const sc of res.headers.getSetCookie()) {
    const [pair] = sc.split(';');
    const i = pair!.indexOf('=');
    const name = pair!.slice(0, i);
    const value = pair!.slice(i + 1);
    if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(sc)) c.cookies.delete(name);
    else c.cookies.set(name, value);
  }
  return res;
}

let userCount = 0;
async function registered(c = client()) {
  const email = `user${++userCount}-${Date.now()}@example.test`;
  const password = 'correct horse battery staple';
  const res = await request(c, 'POST', '/register', { name: `User ${userCount}`, email, password });
  expect(res.status, await res.clone().text()).toBe(303);
  return { c, email, password };
}

async function createRoom(c: Client): Promise<{ id: string; code: string }> {
  const res = await request(c, 'POST', '/?/create', { name: 'Kos Melati', currency: 'IDR' });
  expect(res.status).toBe(303);
  const id = res.headers.get('location')!.split('/').pop()!;
  const invite = await request(c, 'GET', `/rooms/${id}/invite`);
  const code = /\/join\/([A-Z0-9]{6})/.exec(await invite.text())![1]!;
  return { id, code };
}

describe('redirects stay on this site', () => {
  it('login with ?redirect=/\\t/evil.example goes home; a path on this site is kept', async () => {
    const { email, password } = await registered();
    for (const [redirect, to] of [
      ['/\t/evil.example', '/'],
      ['/\\evil.example', '/'],
      ['//evil.example', '/'],
      ['/profile?tab=1', '/profile?tab=1'],
    ]) {
      const res = await request(client(), 'POST', '/login', {
        email,
        password,
        redirect: redirect!,
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location'), redirect).toBe(to);
    }
    const lang = await request(client(), 'POST', '/lang', {
      locale: 'en',
      redirect: '/\\evil.example',
    });
    expect(lang.status).toBe(303);
    expect(lang.headers.get('location')).toBe('/');
  });
});

describe('NUL bytes', () => {
  it('register, login and guest join answer 400 with a message in the user language', async () => {
    const owner = await registered();
    const room = await createRoom(owner.c);
    const cases: [string, Record<string, string>][] = [
      ['/register', { name: 'A\0b', email: 'nul@example.test', password: 'correct horse' }],
      ['/register', { name: 'Ana', email: 'n\0ul@example.test', password: 'correct horse' }],
      ['/register', { name: 'Ana', email: 'nul2@example.test', password: 'correct\0horse' }],
      ['/login', { email: 'a\0@example.test', password: 'whatever1' }],
      ['/login', { email: owner.email, password: 'x\0y' }],
      [`/join/${room.code}`, { name: 'Bu\0di' }],
    ];
    for (const [path, form] of cases) {
      const id = await request(client(), 'POST', path, form);
      expect(id.status, `${path} ${JSON.stringify(form)}`).toBe(400);
      expect(await id.text()).toContain('karakter kontrol');
      const en = client();
      en.cookies.set('patungan_lang', 'en');
      const res = await request(en, 'POST', path, form);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('control character');
    }
    // The server is still fine.
    expect((await request(client(), 'GET', '/')).status).toBe(200);
  });
});

describe('per-IP limits', () => {
  it('room-code guessing on /join/<code> gets 429 with Retry-After, other clients do not', async () => {
    const c = client();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 12; i++) {
      last = await request(c, 'GET', `/join/ZZZ${String(i).padStart(3, '0')}`);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Guest joins (POST) count too.
    expect((await request(c, 'POST', '/join/ZZZ000', { name: 'x' })).status).toBe(429);
    expect((await request(client(), 'GET', '/join/ZZZ000')).status).toBe(404);
  });

  it('login spraying: many emails from one IP get 429 with Retry-After', async () => {
    const c = client();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 10; i++) {
      last = await request(c, 'POST', '/login', {
        email: `spray${i}@example.test`,
        password: 'password123',
      });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 8).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(8)).toEqual([429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Register shares the bucket; another client is not affected.
    const reg = await request(c, 'POST', '/register', {
      name: 'X',
      email: 'x@example.test',
      password: 'password123',
    });
    expect(reg.status).toBe(429);
    expect(
      (await request(client(), 'POST', '/login', { email: 'a@b.io', password: 'x' })).status,
    ).toBe(401);
  });

  it('an account that failed too often from many IPs is refused for a while, even with its password', async () => {
    const { email, password } = await registered();
    for (let i = 0; i < 6; i++) {
      const res = await request(client(), 'POST', '/login', { email, password: `wrong-${i}-pass` });
      expect(res.status).toBe(401);
    }
    const res = await request(client(), 'POST', '/login', { email, password });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('password changes are limited per IP too', async () => {
    const { c } = await registered();
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await request(c, 'POST', '/profile?/password', {
        current: 'wrong password',
        next: 'another long password',
      });
      statuses.push(res.status);
    }
    // registering took one from this IP's bucket
    expect(statuses.slice(0, 7).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(7)).toEqual([429, 429]);
  });
});

describe('sessions', () => {
  it('a password change ends every other session of that user, keeps this one', async () => {
    const { c: one, email, password } = await registered();
    const two = client();
    expect((await request(two, 'POST', '/login', { email, password })).status).toBe(303);
    expect((await request(two, 'GET', '/profile')).status).toBe(200);
    const res = await request(one, 'POST', '/profile?/password', {
      current: password,
      next: 'a brand new password',
    });
    expect(res.status).toBe(200);
    expect((await request(one, 'GET', '/profile')).status).toBe(200);
    const after = await request(two, 'GET', '/profile');
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toMatch(/^\/login/);
  });

  it('logging in ends the guest session: the cookie is replaced and the old one no longer works', async () => {
    const owner = await registered();
    const room = await createRoom(owner.c);
    const guest = client();
    expect((await request(guest, 'POST', `/join/${room.code}`, { name: 'Tamu' })).status).toBe(303);
    const guestCookie = guest.cookies.get('patungan_session')!;
    expect(guestCookie).toBeTruthy();
    const res = await request(guest, 'POST', '/login', {
      email: owner.email,
      password: owner.password,
    });
    expect(res.status).toBe(303);
    expect(guest.cookies.get('patungan_session')).not.toBe(guestCookie);
    const old = client();
    old.cookies.set('patungan_session', guestCookie);
    const profile = await request(old, 'GET', '/profile');
    expect(profile.status).toBe(303);
    expect(profile.headers.get('location')).toMatch(/^\/login/);
  });
});

describe('GET never joins a room', () => {
  it('a signed-in non-member opening /rooms/<id> is shown the join screen; POST joins', async () => {
    const owner = await registered();
    const room = await createRoom(owner.c);
    const { c: other } = await registered();
    for (let i = 0; i < 2; i++) {
      const res = await request(other, 'GET', `/rooms/${room.id}`);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`/join/${room.code}`);
    }
    const join = await request(other, 'POST', `/join/${room.code}`, {});
    expect(join.status).toBe(303);
    expect(join.headers.get('location')).toBe(`/rooms/${room.id}`);
    expect((await request(other, 'GET', `/rooms/${room.id}`)).status).toBe(200);
  });
});

describe('headers and files', () => {
  it('pages carry a CSP with frame-ancestors none, nosniff and a referrer policy', async () => {
    const { c } = await registered();
    const room = await createRoom(c);
    for (const path of ['/', '/login', `/rooms/${room.id}`]) {
      const res = await request(path === '/login' ? client() : c, 'GET', path);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toMatch(/frame-ancestors 'none'/);
      // Scripts: this site, SvelteKit's nonce, and the hashes of the room page's early-socket
      // script and the home page's script; never 'unsafe-inline' or another host. The home page
      // has no SvelteKit client (csr = false), so no nonce either: hashes only.
      const scripts = (/script-src ([^;]*)/.exec(csp)?.[1] ?? '').trim().split(/\s+/);
      expect(scripts, path).toContain("'self'");
      expect(
        scripts.some((s) => /^'nonce-[^']+'$/.test(s)),
        path,
      ).toBe(path !== '/');
      for (const s of scripts) expect(s, path).toMatch(/^'(self|nonce-[^']+|sha256-[^']+)'$/);
      expect(csp).toMatch(/object-src 'none'/);
      const connect = /connect-src ([^;]*)/.exec(csp)?.[1] ?? '';
      expect(connect).toContain(new URL(stack.roomServerUrl).origin.replace(/^http/, 'ws'));
      // The browser reaches settlement only through this site (decision 0007).
      expect(connect).not.toContain(stack.settlementUrl);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it("web's PGlite files are private to its user", () => {
    const dir = join(stack.dataDir, 'web');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const open: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        // Reachable only through the 0700 folder; still, no file is writable by others.
        if (statSync(p).mode & 0o022) open.push(`${(statSync(p).mode & 0o777).toString(8)} ${p}`);
      }
    };
    walk(dir);
    expect(open).toEqual([]);
  });
});

describe('the room page under the CSP, in Chromium', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('connects and syncs with no CSP violation', async () => {
    browser = await launch();
    const ctx = await browser.newContext({ baseURL: stack.webUrl });
    const page = await ctx.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`Refused to (CSP) ${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    await page.goto('/register');
    await page.fill('#name', 'Ani');
    await page.fill('#email', `csp-${Date.now()}@example.test`);
    await page.fill('#password', 'correct horse battery staple');
    await page.locator('main form button[type=submit]').click();
    await page.waitForURL((u) => u.pathname === '/');
    await page.fill('#room-name', 'Kos CSP');
    await page.getByRole('button', { name: 'Buat ruang' }).click();
    await page.waitForURL(/\/rooms\/[^/]+$/);
    await page.locator('[data-testid=room][data-ready=true]').waitFor({ timeout: 20_000 });
    await page.locator('[data-testid=product] [data-testid=add]').first().waitFor();
    await page.locator('[data-testid=product] [data-testid=add]').first().click();
    await page.locator('[data-testid=cart-group]').first().waitFor({ state: 'attached' });
    await page.goto(page.url() + '/invite');
    await page.locator('.qr svg').waitFor();
    expect(violations).toEqual([]);
  });
});
