/**
 * The pay page on a phone (Chromium, 390×844, id-ID, Asia/Jakarta): Patungan's look, the
 * hold's end in local time with a live countdown run by the page's nonce script (no Content
 * Security Policy violation), Authorise → "Sudah dibayar", a double tap that shows the paid
 * state, and the link back to the room.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
const WEB = 'http://127.0.0.1:5998';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'web', 'test-artifacts');

describe('the pay page on a phone', () => {
  let s: TestService;
  let browser: Browser;
  let payments: { memberId: string; payUrl: string; amount: number }[];
  let roomId: string;
  let holdExpiresAt: string;

  beforeAll(async () => {
    s = await startTestService('pglite', { holdTtlSeconds: 600, webPublicUrl: WEB });
    await setStock(s, STORE, 'MIN-0001', 50);
    const snap = snapshot({
      storeId: STORE,
      members: [
        { id: 'ana', name: 'Ana' },
        { id: 'budi', name: 'Budi' },
      ],
      lines: [{ sku: 'MIN-0001', qty: 3, addedBy: 'budi' }],
      split: { mode: 'items' },
    });
    roomId = snap.roomId;
    const r = await s.request('POST', '/settlements', {
      token: await s.token('service', 'room-server'),
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(r.status).toBe(201);
    payments = r.body.payments;
    holdExpiresAt = r.body.holdExpiresAt;
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
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('counts down in Jakarta time, pays, shows the paid state on a double tap, links back', async () => {
    const ctx = await browser.newContext({
      viewport: { width: 390, height: 844 },
      locale: 'id-ID',
      timezoneId: 'Asia/Jakarta',
      isMobile: true,
      hasTouch: true,
    });
    try {
      const page = await ctx.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
      });
      const budi = payments.find((p) => p.memberId === 'budi')!;
      await page.goto(budi.payUrl);
      expect(await page.locator('html').getAttribute('lang')).toBe('id');
      // Patungan's look: the brand bar in its teal, the page's stylesheet applied
      const header = await page
        .locator('header')
        .evaluate((e) => getComputedStyle(e).backgroundColor);
      expect(header).toBe('rgb(15, 118, 110)');
      // the hold's end in local (Jakarta) time, and a countdown that moves
      const hhmm = new Date(holdExpiresAt).toLocaleTimeString('id-ID', {
        hour: '2-digit',
        minute: '2-digit',
        timeZone: 'Asia/Jakarta',
      });
      await expect
        .poll(() => page.locator('time[data-until]').textContent(), { timeout: 10_000 })
        .toBe(hhmm);
      const countdown = page.getByTestId('countdown');
      const first = await countdown.textContent();
      expect(first).toMatch(/^\d{2}:\d{2}$/);
      await until(
        async () => (await countdown.textContent()) !== first,
        10_000,
        'the countdown to move',
      );
      await page.screenshot({ path: join(ARTIFACTS, 'pay-page-id.png'), fullPage: true });

      await page.getByRole('button', { name: /^Bayar Rp/ }).click();
      await page.getByText('Sudah dibayar').waitFor({ timeout: 10_000 });
      // a double tap: the same form posted again answers with the paid state
      const again = await page.request.post(budi.payUrl, { form: { action: 'authorize' } });
      expect(again.status()).toBe(200);
      expect(await again.text()).toContain('Sudah dibayar');
      // and the page the first tap came from shows it too
      await page.goBack();
      await page.getByText('Sudah dibayar').waitFor({ timeout: 10_000 });
      expect(await page.getByRole('button', { name: /^Bayar Rp/ }).count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'pay-page-paid.png'), fullPage: true });
      expect(
        await page.getByRole('link', { name: /Kembali ke ruang belanja/ }).getAttribute('href'),
      ).toBe(`${WEB}/rooms/${roomId}`);
      expect(violations).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
