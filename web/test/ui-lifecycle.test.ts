/**
 * Issue 13, items 1 and 3, on phones (390×844, id-ID) against the real stack: the organiser
 * sets, moves and removes the deadline and the member sees each change live; the organiser
 * removes a member (whose line stays, whose page says so, and whom web then refuses a token),
 * invites them back, and the member leaves by themselves. Screenshots go to
 * web/test-artifacts/ and, when LIFECYCLE_SHOTS is set, there too.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserStack } from './helpers/browser-stack.ts';
import {
  add,
  createRoom,
  joinAsGuest,
  register,
  roomReady,
  search,
  shot,
  until,
} from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' }, 600_000);

async function snap(page: Page, name: string): Promise<void> {
  await shot(page, name);
  if (process.env.LIFECYCLE_SHOTS) {
    await page.screenshot({ path: `${process.env.LIFECYCLE_SHOTS}/${name}.png`, fullPage: true });
  }
}

const deadlineText = (page: Page) => page.locator('[data-testid=deadline-text]');
const member = (page: Page, name: string) =>
  page.locator('[data-testid=member]', { hasText: name });

async function openMembers(page: Page): Promise<void> {
  const details = page.locator('[data-testid=members]');
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) {
    await details.locator('summary').click();
  }
}

async function setDeadline(page: Page, value: string): Promise<void> {
  await page.locator('[data-testid=deadline-edit]').click();
  await page.locator('[data-testid=deadline-input]').fill(value);
  await page.locator('[data-testid=deadline-save]').click();
}

describe('leaving, removal and the deadline on a phone', () => {
  it('the organiser sets, moves and removes the deadline; the member sees each live', async () => {
    t.dumpOnFailure('lifecycle-deadline', 3000);
    const A = await t.phone();
    const B = await t.phone();
    await register(A.page, 'Sari');
    await createRoom(A.page, 'Arisan Kos');
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    await joinAsGuest(B.page, invite, 'Budi');
    await expect(B.page.locator('[data-testid=deadline-edit]').count()).resolves.toBe(0);

    const year = new Date().getFullYear() + 1;
    await setDeadline(A.page, `${year}-01-15T18:30`);
    await until('the member to see the deadline', async () =>
      /18[.:]30/.test((await deadlineText(B.page).textContent()) ?? ''),
    );
    await snap(A.page, 'lifecycle-deadline-organiser');
    await snap(B.page, 'lifecycle-deadline-member');

    await setDeadline(A.page, `${year}-01-16T19:45`); // moved
    await until('the member to see it moved', async () =>
      /19[.:]45/.test((await deadlineText(B.page).textContent()) ?? ''),
    );
    // the home page's copy follows
    const roomUrl = A.page.url();
    await A.page.goto('/');
    await A.page.getByText(/19[.:]45/).waitFor();
    await A.page.goto(roomUrl);
    await roomReady(A.page);

    await A.page.locator('[data-testid=deadline-edit]').click();
    await snap(A.page, 'lifecycle-deadline-editor');
    await A.page.locator('[data-testid=deadline-remove]').click();
    await until('the member to see it removed', async () =>
      /Belum ada batas waktu/.test((await deadlineText(B.page).textContent()) ?? ''),
    );

    // in English too
    await B.page.locator('form.lang button').click();
    await B.page.getByText('No deadline yet').waitFor();
    await openMembers(B.page);
    await B.page.getByRole('button', { name: 'Leave room' }).waitFor();
    await snap(B.page, 'lifecycle-member-en');
  });

  it('the organiser removes a member and invites them back; a member leaves', async () => {
    t.dumpOnFailure('lifecycle-members', 3000);
    const A = await t.phone();
    const B = await t.phone();
    await register(A.page, 'Rina');
    const roomUrl = await createRoom(A.page, 'Makan Siang');
    const roomId = new URL(roomUrl).pathname.split('/').pop()!;
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    await joinAsGuest(B.page, invite, 'Dodi');
    const sku = await search(B.page, 'Teh Botol');
    await add(B.page, sku);
    for (const p of [A.page, B.page]) p.on('dialog', (d) => void d.accept());

    // who may do what (web's route; the room-server enforces the same on the document)
    await openMembers(A.page);
    const ids = async (page: Page) =>
      page.locator('[data-testid=member]').evaluateAll((els) => els.map((e) => e.dataset.member!));
    const [rinaId, dodiId] = await ids(A.page);
    const post = (page: Page, who: string, body: unknown) =>
      page.evaluate(
        async ([id, m, b]) =>
          (
            await fetch(`/rooms/${id}/members/${m}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: typeof b === 'string' ? b : JSON.stringify(b),
            })
          ).status,
        [roomId, who, body] as const,
      );
    expect(await post(B.page, rinaId!, { removed: true })).toBe(403); // a member removes another
    expect(await post(A.page, rinaId!, { removed: true })).toBe(403); // the organiser leaves
    expect(await post(B.page, dodiId!, { removed: false })).toBe(403); // only the organiser readmits
    expect(await post(A.page, dodiId!, 'not json')).toBe(400);
    expect(await post(A.page, 'nobody', { removed: true })).toBe(404);
    expect(await member(A.page, 'Dodi').locator('[data-testid=member-left]').count()).toBe(0);

    // removed by the organiser
    await snap(A.page, 'lifecycle-members-organiser');
    await member(A.page, 'Dodi').locator('[data-testid=member-remove]').click();
    await B.page.locator('[data-testid=left-banner]').waitFor();
    await member(A.page, 'Dodi').locator('[data-testid=member-left]').waitFor();
    await snap(A.page, 'lifecycle-member-removed-organiser');
    await snap(B.page, 'lifecycle-member-removed-member');
    // web signs no token for them; their page says why; their line stays
    const token = await B.page.evaluate(
      async (id) => (await fetch(`/rooms/${id}/token`, { method: 'POST' })).status,
      roomId,
    );
    expect(token).toBe(403);
    await B.page.reload();
    await B.page.getByText('Minta penyelenggara mengundangmu kembali').waitFor();
    await snap(B.page, 'lifecycle-removed-page');
    await A.page.locator('[data-testid=tab-cart]').click();
    await A.page.locator(`[data-testid=cart-group][data-sku="${sku}"]`).waitFor();

    // invited back
    await member(A.page, 'Dodi').locator('[data-testid=member-readmit]').click();
    await member(A.page, 'Dodi').locator('[data-testid=member-remove]').waitFor();
    await B.page.goto(roomUrl);
    await roomReady(B.page);

    // leaves by themselves
    await openMembers(B.page);
    await snap(B.page, 'lifecycle-member-leave');
    await B.page.locator('[data-testid=leave-room]').click();
    await B.page.waitForURL((u) => u.pathname === '/');
    await member(A.page, 'Dodi').locator('[data-testid=member-left]').waitFor();
  });

  it('a removed member stops reconnecting: a final badge, a read-only room, back after a reload', async () => {
    t.dumpOnFailure('lifecycle-ended', 3000);
    const A = await t.phone();
    const B = await t.phone();
    await register(A.page, 'Wati');
    const roomUrl = await createRoom(A.page, 'Rujak Kantor');
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    await joinAsGuest(B.page, invite, 'Joko');
    const sku = await search(B.page, 'Teh Botol');
    await add(B.page, sku);
    A.page.on('dialog', (d) => void d.accept());
    let sockets = 0;
    B.page.on('websocket', () => sockets++);
    const badge = B.page.locator('[data-testid=connection]');

    // removed (closed with 4401): the badge says so for good, with nothing to retry
    await openMembers(A.page);
    await member(A.page, 'Joko').locator('[data-testid=member-remove]').click();
    await until(
      'the removed member to see a final badge',
      async () => (await badge.getAttribute('data-state')) === 'ended',
    );
    expect(await badge.textContent()).toContain('Kamu dikeluarkan dari ruang ini');
    expect(await B.page.locator('[data-testid=connection-retry-now]').count()).toBe(0);
    // nothing tries again, not even a network or a page that comes back
    const before = sockets;
    await B.page.evaluate(() => {
      window.dispatchEvent(new Event('online'));
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await B.page.waitForTimeout(5_000);
    expect(sockets).toBe(before);
    expect(await badge.getAttribute('data-state')).toBe('ended');
    // the room as last synced stays readable; nothing in it can be changed
    await B.page.locator('[data-testid=room-readonly]').waitFor();
    const product = B.page.locator(`[data-testid=product][data-sku="${sku}"]`);
    expect(await product.locator('[data-testid=add]').isDisabled()).toBe(true);
    await B.page.locator('[data-testid=tab-cart]').click();
    await B.page.locator(`[data-testid=cart-group][data-sku="${sku}"]`).waitFor();
    const inc = B.page.locator('[data-testid=cart-line] [data-testid=inc]').first();
    expect(await inc.isDisabled()).toBe(true);
    await openMembers(B.page);
    expect(await B.page.locator('[data-testid=leave-room]').count()).toBe(0);
    await snap(B.page, 'lifecycle-ended-member');

    // invited back: a reload connects again and the room can be changed
    await member(A.page, 'Joko').locator('[data-testid=member-readmit]').click();
    await member(A.page, 'Joko').locator('[data-testid=member-remove]').waitFor();
    await B.page.goto(roomUrl);
    await roomReady(B.page);
    await until(
      'the member to be connected again',
      async () => (await badge.getAttribute('data-state')) === 'connected',
    );
    expect(sockets).toBeGreaterThan(before);
    expect(await B.page.locator('[data-testid=room-readonly]').count()).toBe(0);
    await B.page.locator('[data-testid=tab-cart]').click();
    expect(await inc.isDisabled()).toBe(false);
    await openMembers(B.page);
    expect(await B.page.locator('[data-testid=leave-room]').isDisabled()).toBe(false);
  });

  it('removed while offline: the refused token ends the connection instead of retrying', async () => {
    t.dumpOnFailure('lifecycle-ended-offline', 3000);
    const A = await t.phone();
    const B = await t.phone();
    await register(A.page, 'Lina');
    await createRoom(A.page, 'Es Teh');
    const invite = await A.page.locator('[data-testid=invite-url]').inputValue();
    await joinAsGuest(B.page, invite, 'Agus');
    A.page.on('dialog', (d) => void d.accept());
    const badge = B.page.locator('[data-testid=connection]');
    // this member reads English
    await B.page.locator('form.lang button').click();
    await B.page.getByText('No deadline yet').waitFor();
    await roomReady(B.page);

    await B.ctx.setOffline(true);
    await until(
      'the member to be offline',
      async () => (await badge.getAttribute('data-state')) === 'offline',
    );
    await openMembers(A.page);
    await member(A.page, 'Agus').locator('[data-testid=member-remove]').click();
    await member(A.page, 'Agus').locator('[data-testid=member-left]').waitFor();
    let sockets = 0;
    B.page.on('websocket', () => sockets++);
    await B.ctx.setOffline(false);
    // the upgrade is refused (403), then web's token endpoint too (403): the end
    await until(
      'the member to see a final badge',
      async () => (await badge.getAttribute('data-state')) === 'ended',
    );
    expect(await badge.textContent()).toContain('You were removed from this room');
    await B.page.getByText('This is the room as last synced').waitFor();
    await B.page.locator('[data-testid=left-banner]').waitFor();
    await snap(B.page, 'lifecycle-ended-offline-en');
    const after = sockets;
    await B.page.waitForTimeout(5_000);
    expect(sockets).toBe(after);
    expect(await B.page.locator('[data-testid=connection-retry-now]').count()).toBe(0);
  });
});
