/**
 * Notifications in a real browser (Chromium, a phone, id-ID): the opt-in on the room page, the
 * service worker, the bell and the in-app list, the WhatsApp share on the invite page.
 *
 * Chromium's PushManager.subscribe needs its push service (Google's FCM) on the internet, which
 * this machine does not have: the real call fails, and the toggle says so. For the rest, the
 * page's `PushManager.subscribe` is given a subscription the test made (its keys, and an endpoint
 * on the local push service), so the toggle's own code — permission, /sw.js registration under
 * the page's CSP, the VAPID key, storing the subscription, turning it off — runs unchanged, and
 * what web sends is decrypted by the local push service. The service worker's own push handler
 * is driven through DevTools (ServiceWorker.deliverPushMessage), as the browser would on a push.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserStack } from './helpers/browser-stack.ts';
import {
  add,
  createRoom,
  register,
  roomReady,
  search,
  shot,
  STEP,
  tab,
  until,
} from './helpers/phone.ts';
import { startPushService, type Device, type PushService } from './helpers/push-service.ts';

let push: PushService;
beforeAll(async () => {
  push = await startPushService();
});
afterAll(async () => {
  await push?.close();
});

const t = browserStack({
  logLevel: 'warn',
  // read when the stack starts, after the push service above
  get webEnv() {
    return { PUSH_EXTRA_ORIGINS: push.url };
  },
});

/** Gives the page's PushManager.subscribe this subscription (the push service is offline). */
async function offlinePushService(page: Page, d: Device) {
  await page.addInitScript((sub) => {
    // kept across reloads, as the browser keeps a real subscription
    const KEY = 'test:push-subscribed';
    let current: PushSubscription | null = null;
    const make = () =>
      ({
        endpoint: sub.endpoint,
        expirationTime: null,
        options: { userVisibleOnly: true, applicationServerKey: null },
        getKey: () => null,
        toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }),
        unsubscribe: async () => {
          current = null;
          localStorage.removeItem(KEY);
          return true;
        },
      }) as unknown as PushSubscription;
    PushManager.prototype.subscribe = async function () {
      current = make();
      localStorage.setItem(KEY, '1');
      return current;
    };
    PushManager.prototype.getSubscription = async function () {
      if (!current && localStorage.getItem(KEY)) current = make();
      return current;
    };
  }, d.subscription);
}

async function friendIdOf(page: Page): Promise<string> {
  await page.goto('/friends');
  return (await page.locator('[data-testid=friend-id]').innerText()).trim();
}

describe('notifications in the browser', () => {
  it('without a reachable push service, turning notifications on says it could not', async () => {
    t.dumpOnFailure('notify-offline', 4000);
    const { ctx, page } = await t.phone();
    await ctx.grantPermissions(['notifications'], { origin: t.stack.webUrl });
    await page.goto('/');
    await register(page, 'Sari Luring');
    await createRoom(page, 'Tanpa Internet');
    const toggle = page.locator('[data-testid=notify-toggle]');
    await toggle.getByRole('button', { name: 'Aktifkan notifikasi' }).click();
    await expect
      .poll(() => toggle.getAttribute('data-state'), { timeout: 60_000 })
      .toMatch(/^(failed|on)$/);
    // offline, Chromium cannot reach FCM: the real subscribe fails and the person is told
    if ((await toggle.getAttribute('data-state')) === 'failed') {
      await expect
        .poll(() => toggle.getByRole('alert').innerText())
        .toBe('Notifikasi belum bisa diaktifkan. Coba lagi nanti.');
    }
  });

  it('opt in on the room page, an invite arrives as a push and in the bell, the list marks it read; opt out', async () => {
    t.dumpOnFailure('notify-browser', 4000);
    const phone = push.device();
    const ana = await t.phone();
    const ben = await t.phone();
    await ben.ctx.grantPermissions(['notifications'], { origin: t.stack.webUrl });
    await offlinePushService(ben.page, phone);

    await ana.page.goto('/');
    await register(ana.page, 'Ana Pengundang');
    await ben.page.goto('/');
    await register(ben.page, 'Beni Ponsel');
    // friends both ways
    const benFriendId = await friendIdOf(ben.page);
    const anaFriendId = await friendIdOf(ana.page);
    await ana.page.fill('#friendId', benFriendId);
    await ana.page.getByRole('button', { name: 'Tambah', exact: true }).click();
    await ben.page.fill('#friendId', anaFriendId);
    await ben.page.getByRole('button', { name: 'Tambah', exact: true }).click();
    await until('friends', async () =>
      (await ben.page.locator('[data-testid=friends]').innerText()).includes('Ana Pengundang'),
    );

    // Beni turns notifications on from a room page of his own
    await ben.page.goto('/');
    const own = await createRoom(ben.page, 'Kamar Beni');
    const toggle = ben.page.locator('[data-testid=notify-toggle]');
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('off');
    await shot(ben.page, 'notify-toggle-off');
    await toggle.getByRole('button', { name: 'Aktifkan notifikasi' }).click();
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('on');
    await expect.poll(() => toggle.innerText()).toContain('Notifikasi aktif di perangkat ini.');
    const sw = await ben.page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration('/');
      return reg?.active?.scriptURL ?? null;
    });
    expect(sw).toBe(`${t.stack.webUrl}/sw.js`);
    await shot(ben.page, 'notify-toggle-on');
    // a reload keeps the state (the server knows this device)
    await ben.page.reload();
    await roomReady(ben.page);
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('on');

    // Ana invites Beni: his device gets the push (in Indonesian, the page's language)
    await ana.page.goto('/');
    const roomUrl = await createRoom(ana.page, 'Belanja Kos');
    await ana.page.goto(`${roomUrl}/invite`);
    const wa = ana.page.locator('[data-testid=share-invite-whatsapp]');
    const href = (await wa.getAttribute('href'))!;
    expect(href.startsWith('https://wa.me/?text=')).toBe(true);
    const inviteUrl = await ana.page.locator('#invite-url').inputValue();
    expect(decodeURIComponent(href.slice('https://wa.me/?text='.length))).toBe(
      `Yuk belanja bareng di Belanja Kos lewat Patungan: ${inviteUrl}`,
    );
    await expect.poll(() => wa.innerText()).toBe('Bagikan ke WhatsApp');
    await shot(ana.page, 'notify-invite-whatsapp');
    await ana.page.getByLabel('Beni Ponsel').check();
    await ana.page.getByRole('button', { name: 'Kirim undangan' }).click();
    const m = await push.waitFor((x) => x.device === phone.id && x.payload.kind === 'invite');
    expect(m.payload.title).toBe('Undangan ke Belanja Kos');

    // the service worker shows a push as a notification
    const cdp = await ben.ctx.newCDPSession(ben.page);
    await cdp.send('ServiceWorker.enable');
    const registrationId = await until('the service worker registration', async () => {
      const got = await new Promise<string | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 2000);
        cdp.once('ServiceWorker.workerRegistrationUpdated', (e) => {
          clearTimeout(timer);
          resolve(e.registrations[0]?.registrationId ?? null);
        });
        void cdp.send('ServiceWorker.enable');
      });
      return got;
    });
    // Delivered again until it shows: a worker still activating under load drops a push (the
    // payload's tag makes a second delivery replace the first, never add to it).
    expect(m.payload.tag).toBeTruthy();
    const shown = await until(
      'the service worker shows the push',
      async () => {
        await cdp.send('ServiceWorker.deliverPushMessage', {
          origin: t.stack.webUrl,
          registrationId,
          data: JSON.stringify(m.payload),
        });
        for (const end = Date.now() + 3000; Date.now() < end;) {
          const list = await ben.page.evaluate(async () => {
            const reg = await navigator.serviceWorker.getRegistration('/');
            return (await reg!.getNotifications()).map((n) => `${n.title} | ${n.body}`);
          });
          if (list.length > 0) return list;
          await new Promise((r) => setTimeout(r, 100));
        }
        return null;
      },
      30_000,
    );
    expect(shown).toEqual([`Undangan ke Belanja Kos | ${m.payload.body}`]);

    // the bell counts it; the list shows it; opening it marks it read and goes to the invite
    await ben.page.goto('/');
    const bell = ben.page.locator('[data-testid=bell]');
    await expect.poll(() => bell.getAttribute('data-unread')).toBe('1');
    expect(await bell.getAttribute('aria-label')).toBe('Notifikasi, 1 belum dibaca');
    await shot(ben.page, 'notify-bell');
    await bell.click();
    await ben.page.waitForURL(/\/notifications$/);
    const item = ben.page.locator('[data-testid=notifications] li').first();
    await expect.poll(() => item.innerText()).toContain('Undangan ke Belanja Kos');
    expect(await item.getAttribute('data-unread')).toBe('true');
    await shot(ben.page, 'notify-list');
    await item.getByRole('button').click();
    await ben.page.waitForURL(/\/join\//);
    await expect.poll(() => bell.getAttribute('data-unread')).toBe('0');

    // turning it off forgets this device: the next invite reaches the list only
    await ben.page.goto(own);
    await roomReady(ben.page);
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('on');
    await toggle.getByRole('button', { name: 'Matikan notifikasi' }).click();
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('off');
    const subscribed = await ben.page.evaluate(async (endpoint) => {
      const r = await fetch(`/api/push/subscriptions?endpoint=${encodeURIComponent(endpoint)}`);
      return ((await r.json()) as { subscribed: boolean }).subscribed;
    }, phone.endpoint);
    expect(subscribed).toBe(false);
  });

  it('finalising from the room: the share-due push arrives, and the pay link can be shared to WhatsApp', async () => {
    t.dumpOnFailure('notify-pay', 4000);
    const device = push.device();
    const { ctx, page } = await t.phone();
    await ctx.grantPermissions(['notifications'], { origin: t.stack.webUrl });
    await offlinePushService(page, device);
    await page.goto('/');
    await register(page, 'Rina Bayar');
    await createRoom(page, 'Makan Siang');
    const toggle = page.locator('[data-testid=notify-toggle]');
    await toggle.getByRole('button', { name: 'Aktifkan notifikasi' }).click();
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('on');

    const sku = await search(page, 'Teh Botol');
    await add(page, sku);
    await tab(page, 'pay');
    const store = page.locator('[data-testid=store]:has([data-testid=store-ok])').first();
    await store.waitFor({ timeout: STEP });
    await store.getByRole('button').click();
    await page.locator('[data-testid=finalise]').click();
    await page.locator('[data-testid=finalise-confirm]').click();

    // the room-server's finalise → settlement → its outbox → web → this device
    const due = await push.waitFor((x) => x.device === device.id && x.payload.kind === 'share_due');
    expect(due.payload.title).toBe('Makan Siang: waktunya bayar');

    const payLink = page.locator('[data-testid=pay]');
    await payLink.waitFor({ timeout: 30_000 });
    const payUrl = (await payLink.getAttribute('href'))!;
    const wa = page.locator('[data-testid=share-pay-whatsapp]');
    const href = (await wa.getAttribute('href'))!;
    expect(decodeURIComponent(href.slice('https://wa.me/?text='.length))).toBe(
      `Bayar bagianmu untuk Makan Siang di Patungan: ${payUrl}`,
    );
    await wa.scrollIntoViewIfNeeded();
    await shot(page, 'notify-pay-whatsapp');
  });
});
