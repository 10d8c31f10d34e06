/**
 * Notifications end to end (issue 13 item 2), through the real stack (built web, room-server,
 * settlement) and a push service on this machine that decrypts what web sends (RFC 8291), as a
 * browser's push service and browser would: invites, the deadline reminders that follow the
 * room's live deadline, share due, the hold reminder only to who has not paid, ready for pickup,
 * cancelled naming who had not paid; settlement's events at least once (a redelivery adds
 * nothing); a dead subscription (410) is removed; the in-app list and the bell.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { initRoom, signToken } from '@patungan/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.ts';
import { startPushService, type Device, type PushService } from './helpers/push-service.ts';
import { memberIdIn, registeredClient, type WebClient } from './helpers/web-client.ts';

let stack: Stack;
let push: PushService;

// The hold lasts 40 s and its reminder comes 25 s before it runs out: 15 s after the order.
const HOLD_TTL_SECONDS = 40;

beforeAll(async () => {
  push = await startPushService();
  stack = await startStack({
    holdTtlSeconds: HOLD_TTL_SECONDS,
    webEnv: { PUSH_EXTRA_ORIGINS: push.url, NOTIFY_HOLD_REMINDER_SECONDS: '25' },
  });
}, 240_000);
afterAll(async () => {
  await stack?.close();
  await push?.close();
}, 60_000);

async function subscribe(c: WebClient, d: Device, locale: 'id' | 'en') {
  const res = await c.request('POST', '/api/push/subscriptions', {
    json: { ...d.subscription, locale },
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

async function friendId(c: WebClient): Promise<string> {
  const html = await (await c.request('GET', '/friends')).text();
  return /data-testid="friend-id"[^>]*>([^<]+)</.exec(html)![1]!.trim();
}

async function befriend(a: WebClient, b: WebClient) {
  await a.request('POST', '/friends?/add', { form: { friendId: await friendId(b) } });
  await b.request('POST', '/friends?/add', { form: { friendId: await friendId(a) } });
}

async function createRoom(c: WebClient, name: string, deadline?: string): Promise<string> {
  const res = await c.request('POST', '/?/create', {
    form: { name, currency: 'IDR', deadline: deadline ?? '', budget: '' },
  });
  expect(res.status, await res.clone().text()).toBe(303);
  return /\/rooms\/([\w-]+)/.exec(res.headers.get('location')!)![1]!;
}

async function roomCode(c: WebClient, roomId: string): Promise<string> {
  const html = await (await c.request('GET', `/rooms/${roomId}/invite`)).text();
  return /data-testid="room-code"[^>]*>([^<]+)</.exec(html)![1]!;
}

async function join(c: WebClient, code: string) {
  const res = await c.request('POST', `/join/${code}`, { form: {} });
  expect(res.status).toBe(303);
}

/** The bell's count in the header of any page. */
async function unread(c: WebClient): Promise<number> {
  const html = await (await c.request('GET', '/notifications')).text();
  return Number(/data-testid="bell"[^>]*data-unread="(\d+)"/.exec(html)![1]);
}

const service = (room = '*') =>
  signToken({ sub: 'test', name: 'test', role: 'service', room }, stack.secret);

/** What the room-server does at finalise: a settlement for this room (local payments). */
async function settle(roomId: string, members: { id: string; name: string }[]) {
  const res = await fetch(`${stack.settlementUrl}/settlements`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await service(roomId)}`,
      'content-type': 'application/json',
      'idempotency-key': `${roomId}:v1`,
    },
    body: JSON.stringify({
      roomId,
      cartVersion: 'v1',
      currency: 'IDR',
      storeId: 'jkt-menteng',
      organiser: members[0]!.id,
      split: { mode: 'equal' },
      members: members.map((m) => ({ ...m, method: 'local' })),
      lines: [{ id: 'l1', sku: 'MIN-0001', qty: 2, addedBy: members[0]!.id }],
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as {
    id: string;
    payments: { memberId: string; paymentId: string; amount: number }[];
  };
}

async function pay(paymentId: string) {
  const res = await fetch(`${stack.settlementUrl}/pay/${paymentId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'authorize' }),
  });
  expect(res.status).toBeLessThan(400);
}

/** Two friends in one room, each with a subscribed device (Ana in Indonesian, Ben in English). */
async function twoInARoom(roomName: string) {
  const ana = await registeredClient(stack, 'Ana Notif');
  const ben = await registeredClient(stack, 'Ben Notif');
  const anaPhone = push.device();
  const benPhone = push.device();
  await subscribe(ana, anaPhone, 'id');
  await subscribe(ben, benPhone, 'en');
  const roomId = await createRoom(ana, roomName);
  await join(ben, await roomCode(ana, roomId));
  const members = [
    { id: await memberIdIn(ana, roomId), name: 'Ana Notif' },
    { id: await memberIdIn(ben, roomId), name: 'Ben Notif' },
  ];
  return { ana, ben, anaPhone, benPhone, roomId, members };
}

describe('notifications', () => {
  it("an invite reaches the friend's device decrypted, in their language; the bell counts it and opening it marks it read", async () => {
    const ana = await registeredClient(stack, 'Ana Undang');
    const ben = await registeredClient(stack, 'Ben Invited');
    await befriend(ana, ben);
    const phone = push.device();
    await subscribe(ben, phone, 'en');
    const roomId = await createRoom(ana, 'Arisan Kue');
    const code = await roomCode(ana, roomId);
    const benId = /value="([^"]+)"/.exec(
      /<input type="checkbox" name="friend"[^>]*>/.exec(
        await (await ana.request('GET', `/rooms/${roomId}/invite`)).text(),
      )![0],
    )![1]!;
    expect(await unread(ben)).toBe(0);

    const res = await ana.request('POST', `/rooms/${roomId}/invite`, { form: { friend: benId } });
    expect(res.status).toBeLessThan(400);
    const m = await push.waitFor((x) => x.device === phone.id);
    expect(m.payload).toMatchObject({
      kind: 'invite',
      title: 'Invitation to Arisan Kue',
      body: 'Ana Undang invited you to shop together in Arisan Kue.',
      url: `/join/${code}`,
    });
    // signed with web's VAPID key (RFC 8292), which is what browsers subscribe with
    const { publicKey } = (await (await ben.request('GET', '/api/push')).json()) as {
      publicKey: string;
    };
    expect(m.authorization).toMatch(
      new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${publicKey}$`),
    );

    // the in-app list, in the reader's language (Indonesian by default)
    expect(await unread(ben)).toBe(1);
    const list = await (await ben.request('GET', '/notifications')).text();
    expect(list).toContain('Undangan ke Arisan Kue');
    expect(list).toContain('Ana Undang mengundangmu belanja bareng di Arisan Kue.');
    const id = /name="id" value="([^"]+)"/.exec(list)![1]!;
    const open = await ben.request('POST', '/notifications?/open', { form: { id } });
    expect(open.status).toBe(303);
    expect(open.headers.get('location')).toBe(`/join/${code}`);
    expect(await unread(ben)).toBe(0);
    // someone else cannot mark it (or see it)
    expect(await (await ana.request('GET', '/notifications')).text()).not.toContain(id);
  });

  it('share due to each member; the hold reminder only to who has not paid; cancelled names who had not paid', async () => {
    const { ben, anaPhone, benPhone, roomId, members } = await twoInARoom('Belanja Bulanan');
    const s = await settle(roomId, members);
    const share = (d: Device) =>
      push.waitFor((x) => x.device === d.id && x.payload.kind === 'share_due');
    const [anaShare, benShare] = await Promise.all([share(anaPhone), share(benPhone)]);
    expect(anaShare.payload.title).toBe('Belanja Bulanan: waktunya bayar');
    expect(anaShare.payload.body).toMatch(/^Bagianmu Rp\s[\d.]+\. Bayar sebelum/);
    expect(anaShare.payload.url).toBe(`/rooms/${roomId}#pay`);
    expect(benShare.payload.title).toBe('Belanja Bulanan: time to pay');

    // Ana pays; Ben does not: only Ben is reminded before the hold runs out
    await pay(s.payments.find((p) => p.memberId === members[0]!.id)!.paymentId);
    const hold = await push.waitFor(
      (x) => x.device === benPhone.id && x.payload.kind === 'hold',
      HOLD_TTL_SECONDS * 1000,
    );
    expect(hold.payload.title).toMatch(/^Belanja Bulanan: \d+ minutes? left to pay$/);
    expect(anaPhone.messages().map((x) => x.payload.kind)).toEqual(['share_due']);

    const cancel = await fetch(`${stack.settlementUrl}/settlements/${s.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await service(roomId)}` },
    });
    expect(cancel.status).toBeLessThan(300);
    const ended = await push.waitFor(
      (x) => x.device === anaPhone.id && x.payload.kind === 'cancelled',
    );
    expect(ended.payload.body).toBe('Pesanan dibatalkan. Belum membayar: Ben Notif.');
    await push.waitFor((x) => x.device === benPhone.id && x.payload.kind === 'cancelled');

    // settlement delivers at least once: the same events again add nothing
    const before = await unread(ben);
    const again = await fetch(`${stack.webUrl}/internal/settlement-events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await service()}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          {
            seq: 1,
            roomId,
            settlement: { id: s.id, status: 'cancelled', payments: {}, unpaid: [members[1]!.id] },
          },
        ],
      }),
    });
    expect(again.status).toBe(200);
    expect(await unread(ben)).toBe(before);
    expect(benPhone.messages().filter((x) => x.payload.kind === 'cancelled')).toHaveLength(1);
  });

  it('ready for pickup reaches every member with the pickup code', async () => {
    const { anaPhone, benPhone, roomId, members } = await twoInARoom('Titip Belanja');
    const s = await settle(roomId, members);
    for (const p of s.payments) await pay(p.paymentId);
    const staff = await signToken(
      { sub: 'staff-test', name: 'Staff', role: 'staff', store: 'jkt-menteng' },
      stack.secret,
    );
    const view = async () =>
      (await (
        await fetch(`${stack.settlementUrl}/settlements/${s.id}`, {
          headers: { authorization: `Bearer ${await service()}` },
        })
      ).json()) as { status: string; orderId?: string; pickupCode?: string };
    await expect.poll(async () => (await view()).status, { timeout: 20_000 }).toBe('paid');
    const { orderId } = await view();
    for (const status of ['packed', 'ready_for_pickup']) {
      const res = await fetch(`${stack.settlementUrl}/orders/${orderId}/status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
        body: JSON.stringify({ status }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const code = (await view()).pickupCode!;
    const ready = await push.waitFor((x) => x.device === benPhone.id && x.payload.kind === 'ready');
    expect(ready.payload.body).toBe(
      `Your order is ready for pickup at the store. Pickup code: ${code}.`,
    );
    await push.waitFor((x) => x.device === anaPhone.id && x.payload.kind === 'ready');
  });

  it("deadline reminders follow the room's live deadline: a moved or removed one sends nothing stale", async () => {
    const ana = await registeredClient(stack, 'Ana Deadline');
    const phone = push.device();
    await subscribe(ana, phone, 'id');
    const soon = (s: number) => new Date(Date.now() + 5 * 60_000 + s * 1000).toISOString();
    // The 5-minute reminders of these three rooms are due in 8, 9 and 12 s.
    const moved = await createRoom(ana, 'Digeser', soon(8));
    const removed = await createRoom(ana, 'Dihapus', soon(9));
    const kept = await createRoom(ana, 'Tetap', soon(12));
    const anaId = await memberIdIn(ana, moved);
    // The organiser moves one deadline two hours later and removes another, in the document.
    for (const [roomId, deadline] of [
      [moved, new Date(Date.now() + 2 * 3600_000).toISOString()],
      [removed, null],
    ] as const) {
      const doc = new Y.Doc();
      const token = await signToken(
        { sub: anaId, name: 'Ana Deadline', room: roomId, role: 'organiser' },
        stack.secret,
      );
      const provider = new WebsocketProvider(stack.roomServerUrl, roomId, doc, {
        params: { token },
        disableBc: true,
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      });
      try {
        await new Promise<void>((r) => provider.on('sync', (ok: boolean) => ok && r()));
        initRoom(doc, { name: 'x', currency: 'IDR', organiser: anaId, organiserName: 'Ana' });
        if (deadline) doc.getMap('meta').set('deadline', deadline);
        else doc.getMap('meta').delete('deadline');
        await expect
          .poll(async () => {
            const res = await fetch(`${stack.roomServerHttpUrl}/rooms/${roomId}/status`, {
              headers: { authorization: `Bearer ${await service(roomId)}` },
            });
            return ((await res.json()) as { deadline?: string | null }).deadline;
          })
          .toBe(deadline);
      } finally {
        provider.destroy();
        doc.destroy();
      }
    }
    const m = await push.waitFor(
      (x) => x.device === phone.id && x.payload.kind === 'deadline',
      60_000,
    );
    expect(m.payload).toMatchObject({
      title: 'Tetap: 5 menit lagi',
      url: `/rooms/${kept}`,
    });
    // the jobs run in order of their time: the other two rooms' reminders have run, sending nothing
    expect(phone.messages().map((x) => x.payload.title)).toEqual(['Tetap: 5 menit lagi']);
    expect(removed).not.toBe(kept);
  });

  it('a subscription the push service calls gone (410) is removed; bad subscriptions and events are refused', async () => {
    const ana = await registeredClient(stack, 'Ana Gone');
    const ben = await registeredClient(stack, 'Ben Gone');
    await befriend(ana, ben);
    const gone = push.device({ answer: 410 });
    await subscribe(ben, gone, 'id');
    const has = async () =>
      (
        (await (
          await ben.request(
            'GET',
            `/api/push/subscriptions?endpoint=${encodeURIComponent(gone.endpoint)}`,
          )
        ).json()) as { subscribed: boolean }
      ).subscribed;
    expect(await has()).toBe(true);
    const roomId = await createRoom(ana, 'Ruang Hilang');
    const invitePage = await (await ana.request('GET', `/rooms/${roomId}/invite`)).text();
    const benId = /name="friend" value="([^"]+)"/.exec(invitePage)![1]!;
    await ana.request('POST', `/rooms/${roomId}/invite`, { form: { friend: benId } });
    await expect.poll(has, { timeout: 20_000 }).toBe(false);
    expect(await unread(ben)).toBe(1); // the in-app list keeps it

    // not a push service (no requests into the private network), malformed keys, no session
    const bad = (json: unknown, c: WebClient = ben) =>
      c.request('POST', '/api/push/subscriptions', { json });
    expect(
      (await bad({ endpoint: 'http://10.0.0.1/x', keys: gone.subscription.keys })).status,
    ).toBe(400);
    expect(
      (await bad({ endpoint: gone.endpoint, keys: { p256dh: 'AAAA', auth: 'x' } })).status,
    ).toBe(400);
    expect((await bad('nope')).status).toBe(400);
    const anonymous = await fetch(`${stack.webUrl}/api/push/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(gone.subscription),
    });
    expect(anonymous.status).toBe(401);
    // settlement's endpoint: a service token for every room, a list of events
    const post = (auth: string | null, body: unknown) =>
      fetch(`${stack.webUrl}/internal/settlement-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify(body),
      });
    expect((await post(null, { events: [] })).status).toBe(401);
    const member = await signToken(
      { sub: 'x', name: 'x', role: 'member', room: roomId },
      stack.secret,
    );
    expect((await post(`Bearer ${member}`, { events: [] })).status).toBe(403);
    expect((await post(`Bearer ${await service()}`, { events: 'no' })).status).toBe(400);
  });
});
