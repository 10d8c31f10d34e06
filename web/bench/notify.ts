/**
 * The notification path on this machine: from a trigger to the push endpoint, p50 / p95 / max
 * in ms. Starts the real stack (test/helpers/stack.ts) and a local push service that decrypts
 * each message (test/helpers/push-service.ts), then, N times each, sequentially:
 * - invite: Ana's invite form (POST /rooms/<id>/invite) → Ben's device has the push;
 * - share due: a settlement created at settlement (what the room-server's finalise does) →
 *   outbox → web's /internal/settlement-events → job → Ben's device has the push (each
 *   settlement is then cancelled, which releases its stock).
 * Bounded: N ≤ 500, 127.0.0.1 only.
 *
 *   npx tsx web/bench/notify.ts [N=50]
 */
import { signToken } from '@patungan/model';
import { startStack } from '../test/helpers/stack.ts';
import { startPushService } from '../test/helpers/push-service.ts';
import { memberIdIn, registeredClient, type WebClient } from '../test/helpers/web-client.ts';

const N = Math.min(Number(process.argv[2] ?? 50), 500);
const push = await startPushService();
const stack = await startStack({ webEnv: { PUSH_EXTRA_ORIGINS: push.url } });

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const report = (label: string, xs: number[]) =>
  console.log(
    `${label.padEnd(44)} p50 ${pct(xs, 50).toFixed(1).padStart(7)}  p95 ${pct(xs, 95)
      .toFixed(1)
      .padStart(7)}  max ${Math.max(...xs)
      .toFixed(1)
      .padStart(7)}  (n=${xs.length})`,
  );

async function friendId(c: WebClient): Promise<string> {
  const html = await (await c.request('GET', '/friends')).text();
  return /data-testid="friend-id"[^>]*>([^<]+)</.exec(html)![1]!.trim();
}

try {
  const ana = await registeredClient(stack, 'Ana Bench');
  const ben = await registeredClient(stack, 'Ben Bench');
  await ana.request('POST', '/friends?/add', { form: { friendId: await friendId(ben) } });
  await ben.request('POST', '/friends?/add', { form: { friendId: await friendId(ana) } });
  const device = push.device();
  await ben.request('POST', '/api/push/subscriptions', { json: device.subscription });
  const created = await ana.request('POST', '/?/create', {
    form: { name: 'Bench room', currency: 'IDR' },
  });
  const roomId = /\/rooms\/([\w-]+)/.exec(created.headers.get('location')!)![1]!;
  const html = await (await ana.request('GET', `/rooms/${roomId}/invite`)).text();
  const benId = /name="friend" value="([^"]+)"/.exec(html)![1]!;

  // invite → push
  const invite: number[] = [];
  for (let i = 0; i < N + 5; i++) {
    const at0 = Date.now();
    await ana.request('POST', `/rooms/${roomId}/invite`, { form: { friend: benId } });
    const m = await push.waitFor((x) => x.device === device.id && x.at >= at0);
    if (i >= 5) invite.push(m.at - at0);
  }

  // share due: settlement created → push (Ben joins the room first)
  const code = /data-testid="room-code"[^>]*>([^<]+)</.exec(html)![1]!;
  await ben.request('POST', `/join/${code}`, { form: {} });
  const members = [
    { id: await memberIdIn(ana, roomId), name: 'Ana Bench', method: 'local' },
    { id: await memberIdIn(ben, roomId), name: 'Ben Bench', method: 'local' },
  ];
  const token = await signToken(
    { sub: 'room-server', name: 'room-server', role: 'service', room: roomId },
    stack.secret,
  );
  const share: number[] = [];
  for (let i = 0; i < N + 5; i++) {
    const at0 = Date.now();
    const res = await fetch(`${stack.settlementUrl}/settlements`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': `${roomId}:bench${i}`,
      },
      body: JSON.stringify({
        roomId,
        cartVersion: `bench${i}`,
        currency: 'IDR',
        storeId: 'jkt-menteng',
        organiser: members[0]!.id,
        split: { mode: 'equal' },
        members,
        lines: [{ id: 'l1', sku: 'MIN-0001', qty: 1, addedBy: members[0]!.id }],
      }),
    });
    if (res.status !== 201) throw new Error(`settlement: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const m = await push.waitFor(
      (x) => x.device === device.id && x.payload.kind === 'share_due' && x.at >= at0,
    );
    if (i >= 5) share.push(m.at - at0);
    await fetch(`${stack.settlementUrl}/settlements/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    // the cancellation's own push, so the next round starts clean
    await push.waitFor(
      (x) =>
        x.device === device.id &&
        x.payload.tag !== m.payload.tag &&
        x.payload.kind === 'cancelled' &&
        x.at >= m.at,
    );
  }
  console.log(`${N} sequential triggers each (after 5 warm-up), trigger → push endpoint, ms`);
  report('invite (POST invite form → push)', invite);
  report('share due (POST /settlements → push)', share);
} finally {
  await stack.close();
  await push.close();
}
