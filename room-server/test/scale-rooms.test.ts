/**
 * Scaled mode inside one process: real room-servers (the core + the RedisScale extension)
 * on real ports, stock y-websocket clients, the machine's Redis under a unique prefix. Here
 * the test can reach into an instance (drop its pub/sub messages on purpose); the crash,
 * restart and Redis-restart cases with real child processes are in scale-cluster.test.ts.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addComment,
  addLine,
  initRoom,
  joinMember,
  signToken,
  vote,
  votesMap,
} from '@patungan/model';
import { startRoomServer, type RoomServer } from '../src/index.ts';
import { RedisScale } from '../src/scale/index.ts';
import {
  REDIS_URL,
  dropPrefix,
  memberToken,
  roomJson,
  stockClient,
  uniquePrefix,
  waitFor,
  whenSynced,
  type StockClient,
} from './scale-helpers.ts';

const SECRET = 'scale-rooms-secret';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Instance {
  server: RoomServer;
  scale: RedisScale;
}

async function instances(
  n: number,
  seqCheckMs = 200,
): Promise<{ prefix: string; nodes: Instance[] }> {
  const prefix = uniquePrefix('rooms');
  cleanups.push(() => dropPrefix(REDIS_URL, prefix));
  const nodes: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const o = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    const scale = new RedisScale({
      redis: new Redis(REDIS_URL, o),
      subscriber: new Redis(REDIS_URL, o),
      prefix,
      instanceId: `n${i}`,
      seqCheckMs,
      presenceCheckMs: 250,
      ownsClients: true,
      logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    });
    expect(await scale.ready()).toBe(true);
    const server = await startRoomServer({
      port: 0,
      secret: SECRET,
      logLevel: process.env.LOG_LEVEL ?? 'silent',
      unloadDelayMs: 500,
      storage: scale.storage,
      bus: scale,
    });
    cleanups.push(() => server.close());
    nodes.push({ server, scale });
  }
  return { prefix, nodes };
}

function client(url: string, roomId: string, token: string): StockClient {
  const c = stockClient(url, roomId, token);
  cleanups.push(() => c.destroy());
  return c;
}

describe('scaled rooms with the real room core', () => {
  it('an instance that missed messages converges without any new edit', async () => {
    const { nodes } = await instances(2);
    const [a, b] = nodes as [Instance, Instance];
    const room = 'missed';
    const org = client(a.server.url, room, await memberToken(SECRET, room, 'org', 'organiser'));
    await whenSynced(org.provider);
    initRoom(org.doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    const onA = client(a.server.url, room, await memberToken(SECRET, room, 'ani'));
    const onB = client(b.server.url, room, await memberToken(SECRET, room, 'budi'));
    await Promise.all([whenSynced(onA.provider), whenSynced(onB.provider)]);
    await waitFor(() => roomJson(onB.doc) === roomJson(org.doc), 10_000, 'initial sync');
    // b loses the next four messages of the room: the LAST edits, so no later message
    // reveals the gap; only the periodic sequence check can.
    b.scale.testing.dropIncomingUpdates(room, 4);
    const l1 = addLine(onA.doc, { sku: 'teh-botol', qty: 2, addedBy: 'ani' });
    addLine(onA.doc, { sku: 'indomie', qty: 5, addedBy: 'ani' });
    addComment(onA.doc, { by: 'ani', text: 'extra pedas' });
    onA.doc.getMap('lines').delete(l1);
    await waitFor(() => roomJson(onB.doc) === roomJson(onA.doc), 10_000, 'b to catch up');
    expect(onB.doc.getMap('lines').size).toBe(1);
    // What is stored is complete: no deletes whose inserts are missing.
    const stored = new Y.Doc();
    for (const u of (await a.scale.store.load(room)).updates) Y.applyUpdate(stored, u);
    expect(stored.store.pendingStructs).toBeNull();
    expect(stored.store.pendingDs).toBeNull();
    expect(roomJson(stored)).toBe(roomJson(onA.doc));
    const resyncs = (await b.scale.metrics.resyncs.get()).values;
    expect(resyncs.some((v) => v.labels.reason === 'check' && v.value >= 1)).toBe(true);
  });

  it('settlement status PUT on one instance reaches the clients of another, durably', async () => {
    const { nodes } = await instances(2);
    const [a, b] = nodes as [Instance, Instance];
    const room = 'settle';
    const org = client(a.server.url, room, await memberToken(SECRET, room, 'org', 'organiser'));
    await whenSynced(org.provider);
    initRoom(org.doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    await waitFor(
      async () => {
        const stored = new Y.Doc();
        for (const u of (await a.scale.store.load(room)).updates) Y.applyUpdate(stored, u);
        return stored.getMap('meta').get('status') === 'open';
      },
      10_000,
      'meta stored',
    );
    const service = await signToken(
      { sub: 'settlement', room: '*', name: 'settlement', role: 'service' },
      SECRET,
    );
    // b has no client in this room: it loads it from Redis to apply the write.
    const res = await fetch(`${b.server.httpUrl}/rooms/${room}/settlement`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        seq: 1,
        settlement: {
          id: 'st_1',
          status: 'paid',
          holdExpiresAt: new Date().toISOString(),
          payments: {},
        },
      }),
    });
    expect(res.status).toBe(200);
    // 200 means durable: it is in Redis now, before any client saw it.
    const stored = new Y.Doc();
    for (const u of (await b.scale.store.load(room)).updates) Y.applyUpdate(stored, u);
    expect(stored.getMap('settlement').get('status')).toBe('paid');
    await waitFor(
      () => org.doc.getMap('settlement').get('status') === 'paid',
      10_000,
      'status on a',
    );
    expect(org.doc.getMap('meta').get('status')).toBe('settling');
    // The status read answers the same on either instance, from the shared room.
    for (const node of [a, b]) {
      const r = await fetch(`${node.server.httpUrl}/rooms/${room}/status`, {
        headers: { authorization: `Bearer ${service}` },
      });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({
        roomId: room,
        status: org.doc.getMap('meta').get('status'),
        settlement: org.doc.getMap('settlement').toJSON(),
        members: 1,
        deadline: null,
      });
    }
  });

  it('/healthz and /metrics carry the scaled mode', async () => {
    const { nodes } = await instances(1);
    const a = nodes[0]!;
    const health = (await (await fetch(`${a.server.httpUrl}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    expect(health.status).toBe('ok');
    expect(health['redis-scale']).toMatchObject({ status: 'ok', redis: 'up', instanceId: 'n0' });
    const metrics = await (await fetch(`${a.server.httpUrl}/metrics`)).text();
    expect(metrics).toContain('patungan_scale_redis_unavailable_total');
    expect(metrics).toContain('patungan_scale_redis_up 1');
  });

  it('a client that moves instances and relays another member’s unseen edit does not get it reverted', async () => {
    // Sequence checks effectively off: only the relay path can save the vote here.
    const { nodes } = await instances(2, 60_000);
    const [a, b] = nodes as [Instance, Instance];
    const room = 'relay';
    const org = client(a.server.url, room, await memberToken(SECRET, room, 'org', 'organiser'));
    await whenSynced(org.provider);
    initRoom(org.doc, { name: 'Jajan', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    const xavi = client(a.server.url, room, await memberToken(SECRET, room, 'xavi'));
    const yuni = stockClient(a.server.url, room, await memberToken(SECRET, room, 'yuni'), {
      awareness: { name: 'yuni' },
    });
    cleanups.push(() => yuni.destroy());
    const onB = client(b.server.url, room, await memberToken(SECRET, room, 'zaki'));
    await Promise.all([xavi, yuni, onB].map((c) => whenSynced(c.provider)));
    joinMember(yuni.doc, 'yuni', 'Yuni');
    await waitFor(
      () =>
        [org, xavi, onB].every((c) => c.doc.getMap('members').has('yuni')) &&
        roomJson(onB.doc) === roomJson(org.doc),
      10_000,
      'initial sync',
    );

    // b loses xavi's vote; yuni (on a) sees it, then her connection moves to b.
    b.scale.testing.dropIncomingUpdates(room, 1);
    vote(xavi.doc, 'teh-botol', 'xavi', 1);
    await waitFor(() => votesMap(yuni.doc).get('teh-botol:xavi') === 1, 10_000, 'yuni sees it');
    yuni.moveTo(b.server.url);
    await whenSynced(yuni.provider);
    // Only xavi may write a vote ending in ":xavi": judged as yuni's write, it would be reverted
    // for everyone. Caught up from Redis first, it is simply known.
    await waitFor(() => votesMap(onB.doc).get('teh-botol:xavi') === 1, 10_000, 'b has the vote');
    await new Promise((r) => setTimeout(r, 300));
    for (const c of [org, xavi, yuni, onB]) expect(votesMap(c.doc).get('teh-botol:xavi')).toBe(1);
    const resyncs = (await b.scale.metrics.resyncs.get()).values;
    expect(resyncs.some((v) => v.labels.reason === 'relay' && v.value >= 1)).toBe(true);
  });
});
