/**
 * A split that cannot be computed (issue 11 item 6), two friends on phones (390×844, id-ID,
 * Asia/Jakarta) on the whole stack:
 * - adjustments of +100.000 for the organiser and −100.000 for a friend leave the friend owing
 *   less than nothing: the split panel says so by name, in Indonesian, and saves nothing (the
 *   friend still sees the equal split);
 * - a split like that arriving from elsewhere (another client writes it to the room) is shown
 *   as a readable sentence with the member's name: never an internal member id.
 */
import type { Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '@patungan/model';
import {
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

const t = browserStack();
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

const splitText = async (page: Page) =>
  (await page.locator('[data-testid=split]').innerText()).replace(/\s+/g, ' ');
const bodyText = async (page: Page) =>
  (await page.locator('body').innerText()).replace(/\s+/g, ' ');
const shareRows = (page: Page) =>
  page
    .locator('[data-testid=split] [data-testid=share-row]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-member')!));

describe('a split that cannot be computed', () => {
  it('is refused before saving with the member named, and an invalid stored split reads by name', async () => {
    const A = await t.phone();
    const B = await t.phone();
    await register(A.page, 'Ani');
    const roomUrl = await createRoom(A.page, 'Patungan Kado');
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    await joinAsGuest(B.page, invite, 'Budi');
    const sku = await search(A.page, 'Teh Botol');
    await add(A.page, sku);

    for (const p of [A.page, B.page]) await tab(p, 'pay');
    const [ani, budi] = await until('two members in the split', async () => {
      const ids = await shareRows(A.page);
      return ids.length === 2 ? ids : null;
    });
    await A.page.getByLabel('Bagi rata').check();
    await until('the equal split saved', async () => !(await splitText(B.page)).includes('−'));
    const before = await splitText(B.page);

    // --- validated before saving: named, in Indonesian, nothing saved ---
    const adjust = A.page.locator('[data-testid=split] details.adjust');
    if (!(await adjust.getAttribute('open'))) await adjust.locator('summary').click();
    await A.page.getByLabel('Penyesuaian Kamu').fill('100000');
    await A.page.getByLabel('Penyesuaian Budi').fill('-100000');
    await A.page.getByRole('button', { name: 'Terapkan pembagian' }).click();
    const alert = A.page.locator('[data-testid=split] [role=alert]');
    await until('the refusal named', async () => (await alert.innerText()).includes('Bagian Budi'));
    expect(await alert.innerText()).toMatch(/Belum disimpan/);
    await shot(A.page, 'checkout-split-refused');
    for (const p of [A.page, B.page]) {
      const text = await bodyText(p);
      expect(text).not.toContain(ani!);
      expect(text).not.toContain(budi!);
      expect(text).not.toMatch(/negative share|adjustments leave/);
    }
    // nothing reached the room: Budi's panel is as it was
    expect(await splitText(B.page)).toBe(before);

    // --- an invalid split written by another client: a readable sentence with the name ---
    const roomId = new URL(roomUrl).pathname.split('/').pop()!;
    const token = await signToken(
      { sub: ani!, room: roomId, name: 'Ani', role: 'organiser' },
      t.stack.secret,
    );
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(t.stack.roomServerUrl, roomId, doc, {
      params: { token },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    cleanups.push(() => {
      provider.destroy();
      doc.destroy();
    });
    await until('the other client synced', async () => provider.synced);
    doc
      .getMap('meta')
      .set('split', { mode: 'equal', adjustments: { [ani!]: 100_000, [budi!]: -100_000 } });
    for (const [p, name] of [
      [A.page, 'Budi'],
      [B.page, 'Kamu'],
    ] as const) {
      await until(`the stored split explained (${name})`, async () =>
        (await splitText(p)).includes(`Bagian ${name} jadi`),
      );
      const text = await bodyText(p);
      expect(text).not.toContain(ani!);
      expect(text).not.toContain(budi!);
      expect(text).not.toMatch(/negative share|adjustments leave/);
    }
    await shot(B.page, 'checkout-split-stored');
  });
});
