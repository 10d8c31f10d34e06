/**
 * Security headers on the real server: the pay page (server-rendered HTML with the
 * Authorise button) carries a Content-Security-Policy with `frame-ancestors 'none'` and
 * only its own inline style and script (by hash or nonce), plus X-Frame-Options: DENY,
 * nosniff and Referrer-Policy: no-referrer; JSON answers carry nosniff. In Chromium the page still
 * renders and pays, and another origin cannot frame it (clickjacking of Authorise).
 * No answer carries CORS headers (decision 0007: the browser reaches settlement through web,
 * or by navigating to the pay page): another origin can neither preflight a state-changing
 * call nor read any answer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  setStock,
  snapshot,
  startTestService,
  until,
  type TestService,
} from './support/service.ts';

const STORE = 'jkt-menteng';

describe('security headers', () => {
  let s: TestService;
  let payments: { memberId: string; paymentId: string; payUrl: string }[];

  beforeAll(async () => {
    s = await startTestService('pglite', { holdTtlSeconds: 300 });
    await setStock(s, STORE, 'MIN-0001', 50);
    const snap = snapshot({ storeId: STORE });
    const r = await s.request('POST', '/settlements', {
      token: await s.token('service', 'room-server'),
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(r.status).toBe(201);
    payments = r.body.payments;
  }, 60_000);
  afterAll(async () => s?.stop());

  function expectHtmlHeaders(h: Headers) {
    expect(h.get('content-type')).toMatch(/^text\/html/);
    const csp = h.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...values]) => [name!, values]),
    );
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('default-src')).toEqual(["'none'"]);
    // no script, or only the page's own by nonce / hash: never inline at large or a host
    for (const v of [
      ...(directives.get('script-src') ?? []),
      ...(directives.get('style-src') ?? []),
    ])
      expect(v).toMatch(/^'(none|nonce-[A-Za-z0-9+/=_-]+|sha(256|384|512)-[A-Za-z0-9+/=]+)'$/);
    expect(directives.get('form-action')).toEqual(["'self'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(h.get('x-frame-options')).toBe('DENY');
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('referrer-policy')).toBe('no-referrer');
  }

  it('on the pay page, and on the page re-rendered with a refusal', async () => {
    const page = await fetch(payments[0]!.payUrl);
    expect(page.status).toBe(200);
    expectHtmlHeaders(page.headers);
    // a form post the page refuses (an unknown action) re-renders it with the reason
    const refused = await fetch(payments[0]!.payUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'action=steal',
      redirect: 'manual',
    });
    expect(refused.status).toBe(400);
    expectHtmlHeaders(refused.headers);
  });

  it('nosniff on JSON answers, errors included', async () => {
    for (const path of ['/products', '/healthz', '/no-such-route', '/settlements/stl_x']) {
      const r = await fetch(s.url + path);
      expect(r.headers.get('content-type')).toMatch(/json/);
      expect({ path, nosniff: r.headers.get('x-content-type-options') }).toEqual({
        path,
        nosniff: 'nosniff',
      });
    }
  });

  it('no CORS: no preflight is granted and no answer is readable from another origin', async () => {
    const origin = 'http://evil.example';
    const snap = snapshot({ storeId: STORE });
    const created = await s.request('POST', '/settlements', {
      token: await s.token('service', 'room-server'),
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const member = await s.token('member', 'budi', snap.roomId);
    // Every state-changing route: the preflight a cross-origin fetch with a token needs.
    const writes: [string, string][] = [
      ['POST', `/settlements/${id}/payments/ana/cover`],
      ['POST', `/settlements/${id}/payments/budi/retry`],
      ['POST', `/settlements/${id}/cancel`],
      ['POST', '/settlements'],
      ['PUT', `/stores/${STORE}/stock/MIN-0001`],
      ['POST', `/pay/${created.body.payments[0].paymentId as string}`],
    ];
    for (const [method, path] of writes) {
      const pre = await fetch(s.url + path, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': method,
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect({ path, acao: pre.headers.get('access-control-allow-origin') }).toEqual({
        path,
        acao: null,
      });
      expect(pre.headers.get('access-control-allow-methods')).toBeNull();
      expect(pre.headers.get('access-control-allow-headers')).toBeNull();
    }
    // The requests themselves (as a non-browser client sends them): no CORS header either,
    // so a page on another origin could not read the result even of a simple request.
    const cover = await fetch(`${s.url}/settlements/${id}/payments/citra/cover`, {
      method: 'POST',
      headers: { origin, authorization: `Bearer ${member}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(cover.status).toBe(200);
    expect(cover.headers.get('access-control-allow-origin')).toBeNull();
    const pay = await fetch(`${s.url}/pay/${created.body.payments[0].paymentId as string}`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'action=decline',
      redirect: 'manual',
    });
    expect(pay.headers.get('access-control-allow-origin')).toBeNull();
    for (const path of ['/products', `/stores/${STORE}/stock`, '/payment-methods', '/healthz']) {
      const r = await fetch(s.url + path, { headers: { origin } });
      expect(r.status, path).toBe(200);
      expect({ path, acao: r.headers.get('access-control-allow-origin') }).toEqual({
        path,
        acao: null,
      });
    }
  });

  describe('in Chromium', () => {
    let browser: Browser;
    let framer: Server;
    let framerUrl: string;

    beforeAll(async () => {
      browser = await chromium.launch({
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
      // another origin that tries to frame the pay page
      framer = createServer((req, res) => {
        const target = new URL(req.url ?? '/', 'http://x').searchParams.get('u') ?? '';
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!doctype html><iframe id="f" src="${target}" width="400" height="400"></iframe>`);
      });
      await new Promise<void>((r) => framer.listen(0, '127.0.0.1', () => r()));
      // "localhost" is another origin than the pay page's 127.0.0.1
      framerUrl = `http://localhost:${(framer.address() as AddressInfo).port}/`;
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => framer?.close(r));
    });

    it('the pay page renders its style and pays under the policy', async () => {
      const ctx = await browser.newContext();
      try {
        const page = await ctx.newPage();
        const violations: string[] = [];
        page.on('console', (m) => {
          if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
        });
        await page.goto(payments[1]!.payUrl);
        // the inline stylesheet applied (the browser's default body margin is 8px)
        expect(await page.evaluate(() => getComputedStyle(document.body).marginTop)).not.toBe(
          '8px',
        );
        await page.locator('button[value="authorize"]').click();
        await until(
          async () => {
            const r = await fetch(payments[1]!.payUrl, {
              headers: { accept: 'application/json' },
            });
            return ((await r.json()) as { status: string }).status === 'authorized';
          },
          10_000,
          'the share authorised',
        );
        expect(violations).toEqual([]);
      } finally {
        await ctx.close();
      }
    });

    it('another origin cannot frame the pay page', async () => {
      const ctx = await browser.newContext();
      try {
        const page = await ctx.newPage();
        await page.goto(`${framerUrl}?u=${encodeURIComponent(payments[2]!.payUrl)}`);
        // the frame exists but the pay page was not rendered into it
        await page.waitForLoadState('load');
        const frame = await (await page.$('#f'))!.contentFrame();
        const buttons = frame ? await frame.locator('button').count() : 0;
        expect(buttons).toBe(0);
      } finally {
        await ctx.close();
      }
    });
  });
});
