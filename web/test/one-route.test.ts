/**
 * One route from the browser to the back end (issue 12 item 6, decision 0007), over HTTP
 * through the real stack (built web, room-server, settlement): a member's cover and retry go
 * through web with the session, settlement still decides who may do what (403 passes through),
 * someone who is not a member is refused by web before settlement hears of it, finalise is
 * refused to a member by the room-server's one organiser check, and the live stock stream
 * passes through web — events flow, and settlement's stream ends when the browser leaves.
 */
import { signToken } from '@patungan/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.ts';
import { memberIdIn, registeredClient, webClient, type WebClient } from './helpers/web-client.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 240_000);
afterAll(async () => {
  await stack?.close();
}, 60_000);

// a browser over HTTP (helpers/web-client.ts)
type Client = WebClient;
const client = (): Client => webClient(stack);
const request = (c: Client, ...args: Parameters<Client['request']>) => c.request(...args);
const registered = (name: string) => registeredClient(stack, name);
const memberId = memberIdIn;

const STORE = 'jkt-menteng';
const SKU = 'MIN-0001';

/** What the room-server does at finalise: a settlement for this room, straight at settlement. */
async function settle(roomId: string, members: { id: string; name: string }[]) {
  const token = await signToken(
    { sub: 'room-server', name: 'room-server', role: 'service', room: roomId },
    stack.secret,
  );
  const res = await fetch(`${stack.settlementUrl}/settlements`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': `${roomId}:v1`,
    },
    body: JSON.stringify({
      roomId,
      cartVersion: 'v1',
      currency: 'IDR',
      storeId: STORE,
      organiser: members[0]!.id,
      split: { mode: 'equal' },
      members: members.map((m) => ({ ...m, method: 'local' })),
      lines: [{ id: 'l1', sku: SKU, qty: 2, addedBy: members[0]!.id }],
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

async function settlementView(id: string) {
  const token = await signToken(
    { sub: 'web-test', name: 'web-test', role: 'service', room: '*' },
    stack.secret,
  );
  const res = await fetch(`${stack.settlementUrl}/settlements/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await res.json()) as {
    payments: { memberId: string; status: string; method: string; coveredBy?: string }[];
  };
}

async function setOnHand(storeId: string, sku: string, onHand: number): Promise<void> {
  const token = await signToken(
    { sub: 'staff-test', name: 'staff', role: 'staff', store: storeId },
    stack.secret,
  );
  const res = await fetch(`${stack.settlementUrl}/stores/${storeId}/stock/${sku}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ onHand }),
  });
  expect(res.status).toBe(200);
}

describe('a member acts on a share through web', () => {
  let ani: Client;
  let budi: Client;
  let citra: Client;
  let roomId: string;
  let ids: { ani: string; budi: string };
  let settlementId: string;
  const payments = (member: string, action: string, sid = settlementId, room = roomId) =>
    `/rooms/${room}/settlements/${sid}/payments/${member}/${action}`;

  beforeAll(async () => {
    ani = await registered('Ani');
    budi = await registered('Budi');
    citra = await registered('Citra');
    const created = await request(ani, 'POST', '/?/create', {
      form: { name: 'Kos Melati', currency: 'IDR' },
    });
    expect(created.status).toBe(303);
    roomId = created.headers.get('location')!.split('/').pop()!;
    const invite = await (await request(ani, 'GET', `/rooms/${roomId}/invite`)).text();
    const code = /\/join\/([A-Z0-9]{6})/.exec(invite)![1]!;
    expect((await request(budi, 'POST', `/join/${code}`, { form: {} })).status).toBe(303);
    ids = { ani: await memberId(ani, roomId), budi: await memberId(budi, roomId) };
    await setOnHand(STORE, SKU, 50);
    settlementId = (
      await settle(roomId, [
        { id: ids.ani, name: 'Ani' },
        { id: ids.budi, name: 'Budi' },
      ])
    ).id;
  }, 60_000);

  it('covers a friend’s share and pays one’s own another way, with the session only', async () => {
    const cover = await request(budi, 'POST', payments(ids.ani, 'cover'), { json: {} });
    expect(cover.status, await cover.clone().text()).toBe(200);
    expect(cover.headers.get('cache-control')).toBe('no-store');
    const retry = await request(budi, 'POST', payments(ids.budi, 'retry'), {
      json: { method: 'store' },
    });
    expect(retry.status, await retry.clone().text()).toBe(200);
    const view = await settlementView(settlementId);
    expect(view.payments.find((p) => p.memberId === ids.ani)).toMatchObject({
      status: 'covered',
      coveredBy: ids.budi,
    });
    expect(view.payments.find((p) => p.memberId === ids.budi)?.method).toBe('store');
  });

  it('refuses whoever is not allowed: 403 from web or from settlement, passed through', async () => {
    const before = JSON.stringify(await settlementView(settlementId));
    // a member retrying someone else's share: settlement's rule, its answer
    const other = await request(ani, 'POST', payments(ids.budi, 'retry'), {
      json: { method: 'local' },
    });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    // signed in, but not a member of this room: web refuses before settlement hears of it
    expect((await request(citra, 'POST', payments(ids.ani, 'cover'), { json: {} })).status).toBe(
      403,
    );
    // not signed in
    expect((await request(client(), 'POST', payments(ids.ani, 'cover'), { json: {} })).status).toBe(
      401,
    );
    // a settlement of another room, through this room's route: settlement refuses the token
    const elsewhere = await settle(`r_other${Date.now()}`, [{ id: ids.ani, name: 'Ani' }]);
    expect(
      (await request(ani, 'POST', payments(ids.ani, 'retry', elsewhere.id), { json: {} })).status,
    ).toBe(403);
    // JSON only; known actions only
    expect(
      (
        await request(budi, 'POST', payments(ids.ani, 'cover'), {
          json: {},
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415);
    expect(
      (
        await request(budi, 'POST', payments(ids.ani, 'cover'), {
          json: {},
          headers: { 'content-type': 'application/xml' },
        })
      ).status,
    ).toBe(415);
    expect((await request(budi, 'POST', payments(ids.ani, 'steal'), { json: {} })).status).toBe(
      404,
    );
    expect(JSON.stringify(await settlementView(settlementId))).toBe(before);
  });

  it('finalise: a member is refused by the room-server’s one organiser check', async () => {
    const res = await request(budi, 'POST', `/rooms/${roomId}/finalise`, { json: {} });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await request(citra, 'POST', `/rooms/${roomId}/finalise`, { json: {} })).status).toBe(
      403,
    );
  });
});

describe('the live stock stream through web', () => {
  /** Settlement's count of open stock streams (its /metrics). */
  const openStreams = async () =>
    Number(
      /^settlement_stock_streams (\d+)/m.exec(
        await fetch(`${stack.settlementUrl}/metrics`).then((r) => r.text()),
      )?.[1],
    );

  it('streams snapshots and changes of several stores, and ends upstream when the client leaves', async () => {
    const ac = new AbortController();
    const res = await fetch(`${stack.webUrl}/api/stock/stream?stores=${STORE},jkt-kemang`, {
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    const events: { event: string; data: { storeId?: string; sku?: string; onHand?: number } }[] =
      [];
    const next = async (event: string, match: (d: (typeof events)[0]['data']) => boolean) => {
      for (;;) {
        const i = events.findIndex((e) => e.event === event && match(e.data));
        if (i >= 0) return events.splice(i, 1)[0]!.data;
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += decoder.decode(value, { stream: true });
        for (let j = buf.indexOf('\n\n'); j >= 0; j = buf.indexOf('\n\n')) {
          const chunk = buf.slice(0, j);
          buf = buf.slice(j + 2);
          const ev = /^event: (.*)$/m.exec(chunk)?.[1];
          const data = /^data: (.*)$/m.exec(chunk)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) as never });
        }
      }
    };
    try {
      expect((await next('snapshot', (d) => d.storeId === STORE)).storeId).toBe(STORE);
      expect((await next('snapshot', (d) => d.storeId === 'jkt-kemang')).storeId).toBe(
        'jkt-kemang',
      );
      expect(await openStreams()).toBe(1);
      await setOnHand('jkt-kemang', 'MIN-0002', 33);
      expect(await next('stock', (d) => d.sku === 'MIN-0002')).toMatchObject({
        storeId: 'jkt-kemang',
        onHand: 33,
      });
    } finally {
      ac.abort();
      await reader.cancel().catch(() => undefined);
    }
    // the browser left: web ends its upstream request and settlement its stream
    const deadline = Date.now() + 5000;
    while ((await openStreams()) !== 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await openStreams()).toBe(0);
  });

  it('refuses a bad store list with 400, and an unknown store with settlement’s 404', async () => {
    for (const q of [
      '',
      '?stores=',
      '?stores=a,,b',
      `?stores=${Array.from({ length: 11 }, (_, i) => `s${i}`).join(',')}`,
    ]) {
      expect((await fetch(`${stack.webUrl}/api/stock/stream${q}`)).status, q).toBe(400);
    }
    expect((await fetch(`${stack.webUrl}/api/stock/stream?stores=nope`)).status).toBe(404);
  });
});
