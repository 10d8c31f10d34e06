/**
 * The money moment in the room (issue 11 items 4 and 7), two friends on phones (390×844,
 * id-ID, Asia/Jakarta) on the whole stack (no payment provider configured):
 * - only the methods the deployment takes are offered (local and pay at the store, never
 *   Stripe or Midtrans without keys);
 * - after finalise everyone sees the hold's countdown and who still has to pay;
 * - when the hold runs out, the room says so once, in Indonesian, naming who had not paid
 *   (no English reason, no second copy of it).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
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
import { browserStack } from './helpers/browser-stack.ts';

const t = browserStack({ holdTtlSeconds: 900 });

const offered = (page: Page) =>
  page
    .locator('[data-testid=checkout] [data-testid=method]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-method')));

describe('the money moment in the room', () => {
  it('offers only enabled methods; counts down for everyone, names who has to pay, and who had not', async () => {
    const A = await t.phone();
    const B = await t.phone();
    {
      await register(A.page, 'Ani');
      await createRoom(A.page, 'Arisan Melati');
      const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
      await joinAsGuest(B.page, invite, 'Budi');

      console.log('[money] room ready, two members');
      // only what the deployment takes: no Stripe, no Midtrans without keys
      for (const p of [A.page, B.page]) {
        await tab(p, 'pay');
        await until('the enabled methods', async () => (await offered(p)).join() === 'local,store');
        const text = await p.locator('[data-testid=checkout] .methods').innerText();
        expect(text).not.toMatch(/Stripe|Midtrans/);
      }

      const sku = await search(A.page, 'Teh Botol');
      await add(A.page, sku);
      await tab(A.page, 'pay');
      await A.page.getByLabel('Bagi rata').check();
      const store = A.page.locator('[data-testid=store]:has([data-testid=store-ok])').first();
      await store.waitFor({ timeout: STEP });
      await store.getByRole('button').click();
      await A.page.locator('[data-testid=finalise]').click();
      await A.page.locator('[data-testid=finalise-confirm]').click();

      // everyone sees the countdown and who still has to pay
      for (const [p, names] of [
        [A.page, 'Belum bayar: Kamu, Budi'],
        [B.page, 'Belum bayar: Ani, Kamu'],
      ] as const) {
        await tab(p, 'pay');
        await p.locator('[data-testid=hold-countdown] [role=timer]').waitFor({ timeout: 30_000 });
        await until(
          `${names}`,
          async () =>
            (await p.locator('[data-testid=still-to-pay]').textContent())?.trim() === names,
        );
      }
      await shot(B.page, 'money-room-awaiting');

      // Ani pays on the pay page; Budi no longer sees her among those who still have to pay
      const payUrl = (await A.page.locator('[data-testid=pay]').getAttribute('href'))!;
      const paid = await fetch(payUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"action":"authorize"}',
      });
      expect(paid.status).toBe(200);
      await until(
        'only Budi to pay',
        async () =>
          (await B.page.locator('[data-testid=still-to-pay]').textContent())?.trim() ===
          'Belum bayar: Kamu',
      );

      // the hold runs out (moved, not waited for): said once, in Indonesian, naming Budi
      const settlementId = (await A.page
        .locator('[data-testid=checkout]')
        .getAttribute('data-settlement'))!;
      await t.stack.settlement.db.query(
        `UPDATE settlements SET hold_expires_at = now() - interval '1 second' WHERE id = $1`,
        [settlementId],
      );
      await t.stack.settlement.tick();
      for (const [p, who] of [
        [A.page, 'Budi'],
        [B.page, 'Kamu'],
      ] as const) {
        const box = p.locator('[data-testid=outcome-failed]');
        await box.waitFor({ timeout: 30_000 });
        const text = await p.locator('[data-testid=checkout]').innerText();
        expect(text).toContain('Waktu pembayaran habis sebelum semua membayar.');
        expect(text).toContain(`Belum membayar: ${who}.`);
        expect(text).not.toMatch(/hold expired|share was paid|The hold/i);
        expect(text.match(/Waktu pembayaran habis/g)).toHaveLength(1);
        expect(await p.locator('[data-testid=last-error]').count()).toBe(0);
      }
      await shot(A.page, 'money-room-expired');
    }
  }, 300_000);
});
