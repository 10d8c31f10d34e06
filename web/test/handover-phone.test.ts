/**
 * The store handover on phones (docs/contracts.md "Store handover"), through the real stack
 * and Chromium: two shoppers order (a line note, Budi named to collect), pay, and the store's
 * staff pack; the shoppers see one order reference, the pickup code and its QR code; staff
 * see the same reference, who collects and the note, and complete the order only by typing
 * the shoppers' code (a wrong one is refused on the page); each shopper has a receipt, staff
 * print bag labels and receipts per member. The camera scan runs with a stand-in
 * BarcodeDetector and camera (headless Chromium has neither): its code reaches the same form.
 * Screenshots in web/test-artifacts/handover-*.png.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserStack } from './helpers/browser-stack.ts';
import {
  STEP,
  add,
  createRoom,
  joinAsGuest,
  register,
  search,
  shot,
  tab,
  until,
} from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' });

const statusOf = (p: Page, status: string) =>
  p.locator(`[data-testid=settlement-status][data-status=${status}]`);

describe('store handover on phones', () => {
  it('shoppers show the code and QR, staff type it to hand over; receipts and bag labels', async () => {
    t.dumpOnFailure('handover-failed', 6000);
    const A = await t.phone();
    const B = await t.phone();
    await register(A.page, 'Ani');
    const roomUrl = await createRoom(A.page, 'Kos Mawar');
    const roomId = new URL(roomUrl).pathname.split('/').pop()!;
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    await joinAsGuest(B.page, invite, 'Budi');

    // Ani adds tea with a note, names Budi to collect, picks a store and finalises
    const sku = await search(A.page, 'Teh Botol');
    await add(A.page, sku);
    await tab(A.page, 'cart');
    const note = A.page
      .locator(`[data-testid=cart-group][data-sku="${sku}"]`)
      .getByLabel('Catatan');
    await note.fill('yang dingin');
    await note.press('Enter');
    await tab(A.page, 'pay');
    await A.page.getByLabel('Bagi rata').check();
    await A.page.getByLabel('Siapa yang mengambil di toko?').selectOption({ label: 'Budi' });
    await tab(B.page, 'pay');
    await B.page
      .locator('[data-testid=collector]', { hasText: 'Diambil oleh Kamu' })
      .waitFor({ timeout: STEP });
    const store = A.page.locator('[data-testid=store]:has([data-testid=store-ok])').first();
    await store.waitFor({ timeout: STEP });
    const storeId = (await store.getAttribute('data-store'))!;
    await store.getByRole('button').click();
    await A.page.locator('[data-testid=finalise]').click();
    await A.page.locator('[data-testid=finalise-confirm]').click();

    // both pay on the local pay page (its buttons' request)
    for (const p of [A.page, B.page]) {
      const payUrl = (await p
        .locator('[data-testid=pay]')
        .getAttribute('href', { timeout: 30_000 }))!;
      const res = await fetch(payUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"action":"authorize"}',
      });
      expect(res.status).toBe(200);
    }
    await statusOf(A.page, 'paid').waitFor({ timeout: 30_000 });
    // "Pesanan H4XR7T2M": the order reference, not the settlement's id
    const line = (await A.page.locator('[data-testid=order-ref]').textContent())!.trim();
    expect(line).toMatch(/^Pesanan [2-9A-HJKMNP-Z]{8}$/);
    const ref = line.split(' ')[1]!;
    await until('Budi to see the same reference', async () =>
      (await B.page.locator('[data-testid=order-ref]').textContent())?.includes(ref),
    );

    // staff, on a phone: the same reference, who collects, the note, a bag per member
    const login = t.stack.staff.find((s) => s.storeId === storeId)!;
    const S = await t.phone();
    // The counter's camera, stood in for: a BarcodeDetector that "sees" whatever QR text the
    // test puts in `__qr`, and a camera stream drawn on a canvas (headless Chromium has neither).
    await S.ctx.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      w.BarcodeDetector = class {
        static getSupportedFormats = async () => ['qr_code'];
        detect = async () => (typeof w.__qr === 'string' ? [{ rawValue: w.__qr }] : []);
      };
      const getUserMedia = async () => {
        const c = document.createElement('canvas');
        c.width = c.height = 64;
        c.getContext('2d')!.fillRect(0, 0, 64, 64);
        return c.captureStream(5);
      };
      Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia } });
    });
    await S.page.goto(`/login?redirect=/staff/${storeId}`);
    await S.page.fill('#email', login.email);
    await S.page.fill('#password', login.password);
    await S.page.locator('main form button[type=submit]').click();
    await S.page.waitForURL((u) => u.pathname === `/staff/${storeId}`);
    const order = S.page.locator('[data-testid=orders] > li', { hasText: ref });
    await order.waitFor({ timeout: STEP });
    await expect(order.locator('[data-testid=collector]').textContent()).resolves.toContain(
      'Diambil oleh Budi',
    );
    await expect(order.locator('[data-testid=line-note]').textContent()).resolves.toContain(
      'yang dingin',
    );
    await order.locator('summary', { hasText: 'Daftar kemas' }).click();
    expect(await order.locator('[data-testid=bag] h4').allTextContents()).toEqual(['Kantong Ani']);
    await order.getByRole('button', { name: 'Sudah dikemas' }).click();
    await order.locator('.badge[data-status=packed]').waitFor({ timeout: STEP });
    await order.getByRole('button', { name: 'Siap diambil' }).click();
    await order.locator('[data-testid=handover]').waitFor({ timeout: STEP });
    // staff never see the code
    expect(await S.page.locator('[data-testid=pickup-code]').count()).toBe(0);
    await shot(S.page, 'handover-staff-ready');

    // the shoppers: the code and its QR code, the reference
    await statusOf(A.page, 'ready_for_pickup').waitFor({ timeout: STEP });
    const code = (await A.page.locator('[data-testid=pickup-code]').textContent())!.trim();
    expect(code).toMatch(/^[2-9A-HJKMNP-Z]{6}$/);
    await A.page.locator('[data-testid=pickup-qr] svg').waitFor({ timeout: STEP });
    await expect(
      A.page.locator('[data-testid=pickup-qr]').getAttribute('aria-label'),
    ).resolves.toContain(code);
    await A.page.locator('[data-testid=pickup-card]').scrollIntoViewIfNeeded();
    await shot(A.page, 'handover-shopper-qr');

    // a wrong code is refused on the page, the order stays ready
    const field = order.locator('[data-testid=handover-code]');
    await field.fill(code === '222222' ? '333333' : '222222');
    await order.getByRole('button', { name: 'Serahkan pesanan' }).click();
    await order
      .locator('[role=alert]', { hasText: 'Itu bukan kode ambil pesanan ini' })
      .waitFor({ timeout: STEP });
    await shot(S.page, 'handover-staff-wrong-code');
    expect(await statusOf(A.page, 'ready_for_pickup').count()).toBe(1);

    // the camera path: the scanned QR's code goes through the same form (a wrong one here)
    await S.page.evaluate(
      (c) => ((window as unknown as Record<string, unknown>).__qr = c),
      code === '222222' ? '333333' : '222222',
    );
    await order.getByRole('button', { name: 'Pindai QR' }).click();
    await order
      .locator('[role=alert]', { hasText: 'Sisa percobaan: 3' })
      .waitFor({ timeout: STEP });

    // the code as the shopper reads it out (lower case) completes the order
    await order.locator('[data-testid=handover-code]').fill(code.toLowerCase());
    await order.getByRole('button', { name: 'Serahkan pesanan' }).click();
    await order.locator('.badge[data-status=completed]').waitFor({ timeout: STEP });
    await statusOf(B.page, 'completed').waitFor({ timeout: STEP });

    // Budi's own receipt; staff's bag labels and receipts per member
    await B.page.locator('[data-testid=receipt-link]').click();
    await B.page.waitForURL((u) => u.pathname === `/rooms/${roomId}/receipt`);
    const receipt = B.page.locator('[data-testid=receipt]');
    await expect(receipt.locator('[data-testid=receipt-ref]').textContent()).resolves.toBe(ref);
    await expect(receipt.locator('h2').textContent()).resolves.toContain('Budi');
    await shot(B.page, 'handover-receipt-member');

    await S.page.goto(`/staff/${storeId}/orders/${ref}/packing`);
    expect(await S.page.locator('[data-testid=bag-label] h2').allTextContents()).toEqual(['Ani']);
    await shot(S.page, 'handover-packing');
    await S.page.goto(`/staff/${storeId}/orders/${ref.toLowerCase()}/receipts`);
    expect(
      await S.page
        .locator('[data-testid=receipt]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-member') !== null)),
    ).toEqual([true, true]);
    await shot(S.page, 'handover-receipts-staff');
    // the same in English
    await S.page.locator('form.lang button').click();
    await S.page
      .locator('[data-testid=receipt] h2', { hasText: 'Receipt for Ani' })
      .waitFor({ timeout: STEP });
    await shot(S.page, 'handover-receipts-staff-en');
    await S.page.goto(`/staff/${storeId}`);
    await order.locator('[data-testid=collector]', { hasText: 'Collected by Budi' }).waitFor();
    await shot(S.page, 'handover-staff-en');
  }, 300_000);
});
