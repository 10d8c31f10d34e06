/**
 * The scale layer on its own over the machine's real Redis: several RedisScale instances in
 * one process, each with plain Y.Docs standing in for the room core's rooms (the bus and the
 * storage are called exactly as the core calls them: join around the one load, one append per
 * local update, awareness published). The end-to-end tests with real servers, stock clients
 * and child processes are in scale-cluster.test.ts.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness';
import { isDurableOrigin, type RoomHandle } from '../src/index.ts';
import { RedisScale } from '../src/scale/index.ts';
import {
  PrivateRedis,
  REDIS_URL,
  dropPrefix,
  prng,
  uniquePrefix,
  waitFor,
} from './scale-helpers.ts';

const CONN = Object.freeze({ kind: 'connection' });
const STORED = Object.freeze({ kind: 'storage' });

/** The parts of the core's Room the scale layer uses, over a plain Y.Doc. */
type HostRoom = RoomHandle;

/** One instance: a RedisScale plus the rooms it has loaded, wired like the core wires them. */
class Instance {
  readonly rooms = new Map<string, HostRoom>();
  readonly redis: Redis;
  readonly sub: Redis;
  readonly scale: RedisScale;

  constructor(url: string, prefix: string, id: string, opts: { leaseMs?: number } = {}) {
    const o = { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 };
    this.redis = new Redis(url, o);
    this.sub = new Redis(url, o);
    this.redis.on('error', () => {});
    this.sub.on('error', () => {});
    this.scale = new RedisScale({
      redis: this.redis,
      subscriber: this.sub,
      prefix,
      instanceId: id,
      leaseMs: opts.leaseMs ?? 1000,
      presenceCheckMs: 200,
      seqCheckMs: 200,
      compactAfter: 20,
      logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    });
  }

  async open(roomId: string): Promise<HostRoom> {
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    awareness.setLocalState(null);
    // Like Room.publish: every local update is appended once; a failed append the bus takes over.
    doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (isDurableOrigin(origin)) return;
      this.scale.storage.append(roomId, u).catch((err: unknown) => {
        this.scale.takeOverFailedAppend(roomId, err);
      });
    });
    awareness.on(
      'update',
      (c: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        if (isDurableOrigin(origin)) return;
        this.scale.publishAwareness(roomId, [...c.added, ...c.updated, ...c.removed], origin);
      },
    );
    const room: HostRoom = {
      id: roomId,
      doc,
      awareness,
      applyRemoteUpdate: (u, origin) => Y.applyUpdate(doc, u, origin),
      applyRemoteAwareness: (u, origin) => applyAwarenessUpdate(awareness, u, origin),
      removeRemoteAwareness: (ids, origin) => {
        removeAwarenessStates(awareness, ids, origin);
        for (const id of ids) awareness.meta.delete(id);
      },
    };
    // Like Rooms.load: the one storage load, inside the bus's join (subscribe first).
    await this.scale.join(room, async () => {
      const stored = await this.scale.storage.load(roomId);
      if (stored.updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(stored.updates), STORED);
      return stored;
    });
    this.rooms.set(roomId, room);
    return room;
  }

  room(id: string): HostRoom {
    const r = this.rooms.get(id);
    if (!r) throw new Error(`room ${id} not open`);
    return r;
  }

  /** A clean stop (lease released). */
  async close(): Promise<void> {
    await this.scale.close();
    this.teardown();
  }

  /** A crash: no lease release, connections just vanish. */
  crash(): void {
    this.sub.disconnect();
    this.redis.disconnect();
    void this.scale.close();
    this.teardown();
  }

  teardown(): void {
    this.sub.disconnect();
    this.redis.disconnect();
    for (const r of this.rooms.values()) {
      r.awareness.destroy();
      r.doc.destroy();
    }
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(n: number, url = REDIS_URL, leaseMs?: number) {
  const prefix = uniquePrefix('sync');
  const nodes = Array.from(
    { length: n },
    (_, i) => new Instance(url, prefix, `i${i}`, leaseMs ? { leaseMs } : {}),
  );
  cleanups.push(async () => {
    for (const node of nodes) await node.close().catch(() => {});
    await dropPrefix(url, prefix).catch(() => {});
  });
  for (const node of nodes) expect(await node.scale.ready()).toBe(true);
  return { prefix, nodes };
}

const text = (r: HostRoom) => r.doc.getText('t').toString();
/** The map as JSON with sorted keys (Y.Map iteration order differs between replicas). */
const state = (r: HostRoom): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(r.doc.getMap('m').toJSON()).sort(([x], [y]) => (x < y ? -1 : 1)),
  );

describe('scaled rooms over Redis', () => {
  it('delivers updates across instances both ways and gives a late instance the state', async () => {
    const { nodes } = await cluster(3);
    const [a, b, c] = nodes as [Instance, Instance, Instance];
    const ra = await a.open('r1');
    const rb = await b.open('r1');
    ra.doc.transact(() => ra.doc.getMap('m').set('from-a', 1), CONN);
    rb.doc.transact(() => rb.doc.getMap('m').set('from-b', 2), CONN);
    await waitFor(() => Object.keys(state(ra)).length === 2 && Object.keys(state(rb)).length === 2);
    expect(state(ra)).toEqual({ 'from-a': 1, 'from-b': 2 });
    const rc = await c.open('r1');
    expect(state(rc)).toEqual({ 'from-a': 1, 'from-b': 2 });
    // Remote updates are not echoed back into Redis: exactly two appends happened.
    expect(await a.redis.xlen(a.scale.keys.log('r1'))).toBe(2);
  });

  it('seeded random edits on 3 instances converge', async () => {
    const { nodes } = await cluster(3);
    const rooms = await Promise.all(nodes.map((n) => n.open('rnd')));
    const rand = prng(42);
    for (let i = 0; i < 300; i++) {
      const r = rooms[Math.floor(rand() * rooms.length)]!;
      const t = r.doc.getText('t');
      r.doc.transact(() => {
        if (rand() < 0.7 || t.length === 0) t.insert(Math.floor(rand() * (t.length + 1)), 'x' + i);
        else t.delete(Math.floor(rand() * t.length), 1);
      }, CONN);
      if (i % 25 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    await waitFor(() => rooms.every((r) => text(r) === text(rooms[0]!)), 10_000, 'convergence');
    expect(text(rooms[0]!).length).toBeGreaterThan(0);
  });

  it('20 rooms on 3 instances with random edits and random pub/sub loss all converge', async () => {
    const { nodes } = await cluster(3);
    const ids = Array.from({ length: 20 }, (_, i) => `loss${i}`);
    const rooms = await Promise.all(nodes.map((n) => Promise.all(ids.map((id) => n.open(id)))));
    const rand = prng(11);
    for (let n = 0; n < 1500; n++) {
      const i = Math.floor(rand() * ids.length);
      const node = Math.floor(rand() * nodes.length);
      if (rand() < 0.03)
        nodes[Math.floor(rand() * 3)]!.scale.testing.dropIncomingUpdates(ids[i]!, 2);
      const r = rooms[node]![i]!;
      const t = r.doc.getText('t');
      r.doc.transact(() => {
        if (rand() < 0.6 || t.length < 3) t.insert(Math.floor(rand() * (t.length + 1)), `x${n}`);
        else t.delete(Math.floor(rand() * (t.length - 1)), 2);
        r.doc.getMap('m').set(`k${n % 7}`, n);
      }, CONN);
      if (n % 50 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    const view = (r: HostRoom) => `${text(r)}|${JSON.stringify(state(r))}`;
    await waitFor(
      () => ids.every((_, i) => rooms.every((rs) => view(rs[i]!) === view(rooms[0]![i]!))),
      15_000,
      'every room to converge',
    );
    const gaps = await Promise.all(
      nodes.map(async (n) => (await n.scale.metrics.gaps.get()).values[0]?.value ?? 0),
    );
    expect(gaps.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('an instance that missed messages converges without any new edit', async () => {
    const { nodes } = await cluster(2);
    const [a, b] = nodes as [Instance, Instance];
    const ra = await a.open('gap');
    const rb = await b.open('gap');
    // The last messages are lost: nothing after them would reveal a gap.
    b.scale.testing.dropIncomingUpdates('gap', 3);
    const t = ra.doc.getText('t');
    ra.doc.transact(() => t.insert(0, 'hello'), CONN);
    ra.doc.transact(() => t.insert(5, ' world'), CONN);
    ra.doc.transact(() => t.delete(0, 6), CONN);
    await waitFor(() => text(rb) === 'world', 10_000, 'b to resync');
    const resyncs = (await b.scale.metrics.resyncs.get()).values;
    expect(resyncs.find((v) => v.labels.reason === 'check')?.value).toBeGreaterThanOrEqual(1);
    // A lost message in the middle is a gap, found by the next message.
    b.scale.testing.dropIncomingUpdates('gap', 1);
    ra.doc.transact(() => t.insert(0, 'a'), CONN);
    ra.doc.transact(() => t.insert(0, 'b'), CONN);
    await waitFor(() => text(rb) === 'baworld', 10_000, 'gap resync');
    expect((await b.scale.metrics.gaps.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('never stores a document with deletes but no inserts, and compaction keeps the state', async () => {
    const { nodes } = await cluster(2);
    const [a, b] = nodes as [Instance, Instance];
    const ra = await a.open('cmp');
    const rb = await b.open('cmp');
    b.scale.testing.dropIncomingUpdates('cmp', 5);
    const t = ra.doc.getText('t');
    for (let i = 0; i < 5; i++) ra.doc.transact(() => t.insert(0, `i${i}`), CONN);
    // b deletes what it has (maybe nothing yet) and inserts; a deletes some of its inserts.
    rb.doc.transact(() => rb.doc.getText('t').insert(0, 'B'), CONN);
    ra.doc.transact(() => t.delete(0, 4), CONN);
    for (let i = 0; i < 40; i++) rb.doc.transact(() => rb.doc.getMap('m').set(`k${i}`, i), CONN);
    await waitFor(() => text(ra) === text(rb) && Object.keys(state(ra)).length === 40);
    await waitFor(async () => (await a.redis.exists(a.scale.keys.snap('cmp'))) === 1, 10_000);
    const loaded = await a.scale.store.load('cmp');
    const fresh = new Y.Doc();
    for (const u of loaded.updates) Y.applyUpdate(fresh, u);
    expect(fresh.store.pendingStructs).toBeNull();
    expect(fresh.store.pendingDs).toBeNull();
    expect(fresh.getText('t').toString()).toBe(text(ra));
    expect(fresh.getMap('m').toJSON()).toEqual(state(ra));
    // One compactor at a time: a second one while the lock is held is turned away.
    await a.redis.set(a.scale.keys.lock('cmp'), 'someone-else', 'PX', 5000);
    expect(await b.scale.store.compact('cmp')).toBe('busy');
    await a.redis.del(a.scale.keys.lock('cmp'));
  });

  it('a dead instance’s presence disappears from the others within 5 s', async () => {
    const { nodes } = await cluster(2, REDIS_URL, 1000);
    const [a, b] = nodes as [Instance, Instance];
    const ra = await a.open('pres');
    const rb = await b.open('pres');
    const client = new Awareness(new Y.Doc());
    client.setLocalState({ name: 'Ani' });
    applyAwarenessUpdate(ra.awareness, encodeAwarenessUpdate(client, [client.clientID]), CONN);
    await waitFor(() => rb.awareness.getStates().has(client.clientID), 5000, 'presence on b');
    // A late instance asks for presence and gets it on its inbox.
    const c = new Instance(REDIS_URL, a.scale.keys.prefix, 'late');
    cleanups.push(() => c.close());
    expect(await c.scale.ready()).toBe(true);
    const rc = await c.open('pres');
    await waitFor(() => rc.awareness.getStates().has(client.clientID), 5000, 'presence on c');
    a.crash();
    const crashedAt = Date.now();
    await waitFor(() => !rb.awareness.getStates().has(client.clientID), 5000, 'presence removal');
    await waitFor(() => !rc.awareness.getStates().has(client.clientID), 5000, 'presence removal');
    expect(Date.now() - crashedAt).toBeLessThan(5000);
    // The client reconnects to b with its same clock: it is accepted again.
    applyAwarenessUpdate(rb.awareness, encodeAwarenessUpdate(client, [client.clientID]), CONN);
    await waitFor(() => rc.awareness.getStates().has(client.clientID), 5000, 'presence via b');
    // Its removal on b (connection closed) reaches c.
    removeAwarenessStates(rb.awareness, [client.clientID], CONN);
    await waitFor(() => !rc.awareness.getStates().has(client.clientID), 5000, 'removal via b');
    client.destroy();
  });

  it('keeps serving while Redis is down, then converges; /healthz degraded meanwhile', async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.stop());
    const { nodes } = await cluster(2, redis.url);
    const [a, b] = nodes as [Instance, Instance];
    const ra = await a.open('down');
    const rb = await b.open('down');
    ra.doc.transact(() => ra.doc.getMap('m').set('before', 1), CONN);
    await waitFor(() => state(rb).before === 1);
    await redis.stop();
    await waitFor(() => a.scale.health().status === 'degraded', 5000, 'degraded');
    ra.doc.transact(() => ra.doc.getMap('m').set('while-a', 1), CONN);
    rb.doc.transact(() => rb.doc.getMap('m').set('while-b', 1), CONN);
    expect(state(ra)['while-b']).toBeUndefined();
    await redis.start(); // empty: no persistence, every key is gone
    await waitFor(() => a.scale.health().status === 'ok' && b.scale.health().status === 'ok');
    rb.doc.transact(() => rb.doc.getMap('m').set('after', 1), CONN);
    const want = { before: 1, 'while-a': 1, 'while-b': 1, after: 1 };
    await waitFor(() => JSON.stringify(state(ra)) === JSON.stringify(state(rb)), 10_000);
    expect(state(ra)).toEqual(want);
    expect(state(rb)).toEqual(want);
    expect((await a.scale.metrics.redisUnavailable.get()).values[0]?.value).toBeGreaterThanOrEqual(
      1,
    );
    // The durable state has everything again (both instances pushed what Redis lacked).
    const fresh = new Y.Doc();
    for (const u of (await a.scale.store.load('down')).updates) Y.applyUpdate(fresh, u);
    expect(fresh.getMap('m').toJSON()).toEqual(want);
  });
});
