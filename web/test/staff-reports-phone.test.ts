/**
 * Issue 14 items 2 and 3 in a real browser on a phone (390×844, Indonesian): a store's staff
 * member opens the sales report (an SVG chart, the numbers settlement counted), downloads it as
 * CSV, then on the stock tools page downloads the stock CSV, edits a count, checks the import
 * (before → after) and applies it — and settlement has the new count.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signToken } from '@patungan/model';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserStack } from './helpers/browser-stack.ts';
import { until } from './helpers/phone.ts';

const SHOTS = process.env.SHOTS_DIR ?? join(import.meta.dirname, '..', 'test-artifacts');
const WAIT = { timeout: 15_000 };
const SKU = 'CAM-0002';

const t = browserStack({}, 240_000);

async function signIn(page: Page, storeId: string, path: string) {
  const login = t.stack.staff.find((s) => s.storeId === storeId)!;
  await page.goto(`/login?redirect=${encodeURIComponent(path)}`);
  await page.fill('#email', login.email);
  await page.fill('#password', login.password);
  await Promise.all([
    page.waitForURL(`${t.stack.webUrl}${path}`, WAIT),
    page.click('main form button[type=submit]'),
  ]);
}

async function api(path: string, token: string, body?: unknown) {
  const res = await fetch(`${t.stack.settlementUrl}${path}`, {
    method: body === undefined ? 'GET' : path.startsWith('/stores/') ? 'PUT' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A group order at the store, paid by every member (through settlement's own pay page API). */
async function paidOrder(storeId: string, qty: number): Promise<number> {
  const staff = await signToken(
    { sub: 's', name: 'S', role: 'staff', store: storeId },
    t.stack.secret,
  );
  const service = await signToken(
    { sub: 'rs', name: 'RS', role: 'service', room: '*' },
    t.stack.secret,
  );
  expect((await api(`/stores/${storeId}/stock/${SKU}`, staff, { onHand: 50 })).status).toBe(200);
  const roomId = `report-room-${Date.now()}`;
  const res = await fetch(`${t.stack.settlementUrl}/settlements`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${service}`,
      'content-type': 'application/json',
      'idempotency-key': `${roomId}:v1`,
    },
    body: JSON.stringify({
      roomId,
      cartVersion: 'v1',
      currency: 'IDR',
      storeId,
      organiser: 'ana',
      split: { mode: 'equal' },
      members: [
        { id: 'ana', name: 'Ana', method: 'local' },
        { id: 'budi', name: 'Budi', method: 'local' },
      ],
      lines: [{ id: 'l1', sku: SKU, qty, addedBy: 'ana' }],
    }),
  });
  expect(res.status).toBe(201);
  const s = (await res.json()) as { id: string; total: number; payments: { paymentId: string }[] };
  for (const p of s.payments) {
    const r = await fetch(`${t.stack.settlementUrl}/pay/${p.paymentId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'authorize' }),
    });
    expect(r.status).toBe(200);
  }
  await until('the order is paid', async () => {
    const v = await api(`/settlements/${s.id}`, service);
    return v.body.status === 'paid';
  });
  return s.total;
}

const digits = (s: string | null) => Number((s ?? '').replace(/\D/g, ''));

describe('store staff on a phone: sales report and stock tools', () => {
  it('opens the sales report: an SVG chart, the numbers settlement counted, a CSV download', async () => {
    t.dumpOnFailure('staff-report', 4000);
    const storeId = t.stack.staff[0]!.storeId;
    const total = await paidOrder(storeId, 3);
    const { ctx, page } = await t.phone();
    await signIn(page, storeId, `/staff/${storeId}/reports`);

    const chart = page.locator('svg[data-testid=sales-chart]');
    await chart.waitFor(WAIT);
    expect(await chart.locator('rect[data-date]').count()).toBe(7); // the last 7 days
    expect(await chart.getAttribute('role')).toBe('img');
    expect(digits(await page.getByTestId('report-total').textContent())).toBe(total);
    expect(await page.getByTestId('report-orders').textContent()).toBe('1');
    expect(await page.getByTestId('report-items').textContent()).toBe('3');
    await expect.poll(() => page.getByTestId('top-products').textContent()).toContain(SKU);
    await page.screenshot({ path: join(SHOTS, 'reports-phone.png'), fullPage: true });

    const [download] = await Promise.all([
      page.waitForEvent('download', WAIT),
      page.getByTestId('report-csv').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(
      new RegExp(`^sales-${storeId}-\\d{4}-\\d{2}-\\d{2}-\\d{4}-\\d{2}-\\d{2}\\.csv$`),
    );
    const csv = (await readFile((await download.path())!, 'utf8')).replace(/^\uFEFF/, '');
    const [header, ...rows] = csv.trimEnd().split('\r\n');
    expect(header).toBe('date,orders,total,currency');
    expect(rows).toHaveLength(7);
    expect(rows.reduce((a, r) => a + Number(r.split(',')[2]), 0)).toBe(total);

    // the same page in English
    await ctx.addCookies([{ name: 'patungan_lang', value: 'en', url: t.stack.webUrl }]);
    await page.reload();
    await page.getByRole('heading', { name: 'Sales report' }).waitFor(WAIT);
    await page.screenshot({ path: join(SHOTS, 'reports-phone-en.png'), fullPage: true });
  });

  it('imports stock from a CSV: check shows before → after, apply writes it', async () => {
    t.dumpOnFailure('staff-stock', 4000);
    const storeId = t.stack.staff[0]!.storeId;
    const { page } = await t.phone();
    await signIn(page, storeId, `/staff/${storeId}/stock`);
    await page.getByRole('heading', { name: 'Stok menipis' }).waitFor(WAIT);

    const [download] = await Promise.all([
      page.waitForEvent('download', WAIT),
      page.getByTestId('stock-csv').click(),
    ]);
    const exported = await readFile((await download.path())!, 'utf8');
    const line = exported.split('\r\n').find((l) => l.startsWith(`${SKU},`))!;
    const [, , onHand, held, committed] = line.split(',').slice(-6);
    const before = Number(onHand);
    const after = before + 5;
    expect(Number(held) + Number(committed)).toBeLessThanOrEqual(after);
    const edited = exported.replace(
      line,
      line.replace(`,${onHand},${held},`, `,${after},${held},`),
    );

    await page.setInputFiles('#stock-file', {
      name: 'stock.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(edited, 'utf8'),
    });
    await page.getByRole('button', { name: 'Periksa perubahan' }).click();
    const diff = page.getByTestId('import-diff');
    await diff.waitFor(WAIT);
    const row = diff.locator(`tr[data-sku="${SKU}"]`);
    await expect
      .poll(() => row.locator('td').allTextContents())
      .toEqual([String(before), expect.stringMatching(new RegExp(`^→\\s*${after}$`))]);
    expect(await diff.locator('tbody tr').count()).toBe(1);
    const stockNow = async () => {
      const r = await fetch(`${t.stack.settlementUrl}/stores/${storeId}/stock`);
      const items = ((await r.json()) as { items: { sku: string; onHand: number }[] }).items;
      return items.find((i) => i.sku === SKU)!.onHand;
    };
    expect(await stockNow()).toBe(before); // a check changes nothing
    await diff.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'stock-check-phone.png') });

    await page.getByTestId('apply-import').click();
    await page.getByText('1 produk diperbarui.').waitFor(WAIT);
    expect(await stockNow()).toBe(after);
    await page.screenshot({ path: join(SHOTS, 'stock-applied-phone.png') });
    await page.getByTestId('low-stock').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'stock-low-phone.png') });

    // a bad file is explained row by row
    await page.setInputFiles('#stock-file', {
      name: 'bad.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('sku,on_hand\nNOPE-1,3\nMIN-0001,-1\n'),
    });
    await page.getByRole('button', { name: 'Periksa perubahan' }).click();
    const errors = page.getByTestId('import-errors');
    await errors.waitFor(WAIT);
    expect(
      await errors
        .locator('tbody tr')
        .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-code'))),
    ).toEqual(['unknown_sku', 'negative']);
    await expect.poll(() => page.getByTestId('apply-import').count()).toBe(0);
    await errors.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'stock-errors-phone.png') });
  });
});
