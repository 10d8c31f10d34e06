/**
 * The scaled mode on a Redis Cluster (REDIS_CLUSTER_NODES, decision 0016): a private cluster of
 * 3 primaries + 3 replicas (scripts/redis-cluster.ts: child processes on free ports, killed by
 * PID in afterAll), room-servers and settlement as real child processes (scripts/cluster.ts),
 * stock y-websocket clients.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import {
  addComment,
  addLine,
  commentsArray,
  initRoom,
  joinMember,
  linesMap,
  setMeta,
  signToken,
} from '@patungan/model';
import { startCluster, type Cluster as Processes } from '../../scripts/cluster.ts';
import { RedisRoomStore, keySlot, scaleClients, scaleKeys } from '../src/scale/index.ts';
import { startRedisCluster, type RedisClusterHandle } from '../../scripts/redis-cluster.ts';
import {
  memberToken,
  roomJson,
  stockClient,
  uniquePrefix,
  waitFor,
  whenSynced,
  type StockClient,
} from './scale-helpers.ts';

const SECRET = 'redis-cluster-secret-0123456789abcdef';
process.setMaxListeners(100);

let rc: RedisClusterHandle | null = null;
beforeAll(async () => {
  rc = await startRedisCluster({ nodeTimeoutMs: 1000 });
}, 60_000);
afterAll(async () => {
  await rc?.stop();
});

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // keep going: stopping the processes matters more
    }
  }
});

async function processes(n: number, settlement = false): Promise<Processes> {
  const prefix = uniquePrefix('rcluster');
  const dataDir = join(tmpdir(), `patungan-rcluster-${prefix.slice(0, -1)}`);
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const c = await startCluster({
    instances: n,
    basePort: 0,
    settlement,
    lbPort: settlement ? 0 : null,
    redisClusterNodes: rc!.nodes,
    redisPrefix: prefix,
    secret: SECRET,
    dataDir,
    output: process.env.LOG_LEVEL ? 'prefix' : 'ignore',
    env: {
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      PING_INTERVAL_MS: '2000',
      SETTLEMENT_WORKER_POLL_MS: '100',
    },
  });
  cleanups.push(() => c.stop());
  return c;
}

async function connect(
  url: string,
  room: string,
  sub: string,
  role: 'member' | 'organiser' = 'member',
): Promise<StockClient> {
  const client = stockClient(url, room, await memberToken(SECRET, room, sub, role));
  cleanups.push(() => client.destroy());
  await whenSynced(client.provider, 15_000);
  return client;
}

/** Room ids whose keys (hash tag `{<id>}`) live on different primaries, one per primary. */
async function roomsOnEveryShard(): Promise<Map<number, string>> {
  const byPrimary = new Map<number, string>();
  for (let i = 0; byPrimary.size < 3 && i < 200; i++) {
    const id = `rc${i}`;
    const primary = await rc!.primaryOf(`{${id}}`);
    if (!byPrimary.has(primary)) byPrimary.set(primary, id);
  }
  expect(byPrimary.size).toBe(3);
  return byPrimary;
}

const ids = (doc: Y.Doc) =>
  new Set(
    commentsArray(doc)
      .toArray()
      .map((c) => c.id),
  );
const same = (clients: StockClient[]) =>
  clients.every((c) => roomJson(c.doc) === roomJson(clients[0]!.doc));

describe('scaled mode on a Redis Cluster', () => {
  it("an append is acknowledged only once the shard's replica has it", async () => {
    const nodes = rc!.nodes
      .split(',')
      .map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) }));
    const { redis, subscriber } = scaleClients({ clusterNodes: nodes });
    cleanups.push(() => {
      redis.disconnect();
      subscriber.disconnect();
    });
    await waitFor(() => redis.status === 'ready', 10_000, 'cluster client ready');
    const unreplicated: string[] = [];
    const keys = scaleKeys(uniquePrefix('wait'));
    const store = new RedisRoomStore({
      redis,
      keys,
      instanceId: 'wait-test',
      replicas: { timeoutMs: 5000, onUnreplicated: (p) => unreplicated.push(p) },
    });
    const room = 'waitroom';
    // Appends go to the primary of the slot keys.ts computes: the one Redis computes.
    for (const key of [keys.seq(room), keys.lease('i-1'), 'foo{}{bar}', 'foo{{bar}}zap', 'ärger']) {
      expect(keySlot(key), key).toBe(Number(await redis.cluster('KEYSLOT', key)));
    }
    const [replica] = await rc!.replicasOf(`{${room}}`);
    await store.append(room, new Uint8Array([0, 0])); // connection and script in place
    // The replica stops (as if it lagged): the primary has the write, the append must wait.
    rc!.signal(replica!, 'SIGSTOP');
    cleanups.push(() => rc!.signal(replica!, 'SIGCONT'));
    let acknowledged = false;
    const append = store.append(room, new Uint8Array([0, 0])).then((r) => {
      acknowledged = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(acknowledged).toBe(false);
    rc!.signal(replica!, 'SIGCONT');
    const { seq } = await append;
    expect(seq).toBe(2);
    expect(unreplicated).toEqual([]);
    // The replica has it: read the counter there.
    const onReplica = new Redis({ host: '127.0.0.1', port: replica! });
    cleanups.push(() => onReplica.disconnect());
    await onReplica.readonly();
    expect(await onReplica.get(keys.seq(room))).toBe('2');
  }, 30_000);

  it('two instances converge on rooms whose keys live on different shards', async () => {
    const c = await processes(2);
    const [a, b] = c.roomServers.map((r) => r.url);
    const rooms = [...(await roomsOnEveryShard()).values()];
    const pairs: [StockClient, StockClient][] = [];
    for (const room of rooms) {
      const org = await connect(a!, room, 'org', 'organiser');
      initRoom(org.doc, { name: room, currency: 'IDR', organiser: 'org', organiserName: 'Org' });
      pairs.push([org, await connect(b!, room, 'budi')]);
    }
    for (const [org, budi] of pairs) {
      for (let n = 0; n < 10; n++) {
        addComment(org.doc, { by: 'org', text: `a${n}`, id: `a${n}` });
        addComment(budi.doc, { by: 'budi', text: `b${n}`, id: `b${n}` });
      }
    }
    await waitFor(
      () => pairs.every(([x, y]) => same([x, y]) && ids(x.doc).size === 20),
      15_000,
      'every room converged across instances',
    );
    // Each room's state is on the shard its hash tag names (and only there).
    for (const room of rooms) {
      const owner = await rc!.primaryOf(`{${room}}`);
      for (const port of await rc!.primaryPorts()) {
        const node = new Redis({ host: '127.0.0.1', port });
        cleanups.push(() => node.disconnect());
        const keys = await node.keys(`*room:{${room}}:seq`);
        expect(keys.length).toBe(port === owner ? 1 : 0);
      }
    }
  }, 90_000);

  it('a primary killed mid-edit: its replica takes over, no acknowledged update is lost, clients converge', async () => {
    const c = await processes(2);
    const [a, b] = c.roomServers.map((r) => r.url);
    const [primary, room] = [...(await roomsOnEveryShard()).entries()][0]!;
    const writer = await connect(a!, room!, 'org', 'organiser');
    initRoom(writer.doc, {
      name: 'Gagal',
      currency: 'IDR',
      organiser: 'org',
      organiserName: 'Org',
    });
    const observer = await connect(a!, room!, 'obs'); // same instance: sees only appended updates
    const remote = await connect(b!, room!, 'rem');
    let n = 0;
    let writing = true;
    const loop = (async () => {
      while (writing) {
        addComment(writer.doc, { by: 'org', text: `c${n}`, id: `c${n}` });
        n++;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await waitFor(() => ids(observer.doc).size >= 30, 15_000, '30 acknowledged edits');
    // What the observer has is what Redis acknowledged (the core broadcasts after the append,
    // which on a cluster waits for a replica).
    const acknowledged = ids(observer.doc);
    await rc!.kill(primary!, 'SIGKILL');
    await rc!.waitHealthy(30_000); // the replica is promoted
    await new Promise((r) => setTimeout(r, 500)); // some editing on the new primary
    writing = false;
    await loop;
    const written = n;
    const have = () => [writer, observer, remote].map((x) => ids(x.doc).size).join('/');
    await waitFor(
      () =>
        [writer, observer, remote].every((x) => ids(x.doc).size === written) &&
        same([writer, observer, remote]),
      20_000,
      'every client converged after the failover',
    ).catch((err: Error) => {
      throw new Error(`${err.message} (written ${written}, writer/observer/remote have ${have()})`);
    });
    // Nothing held only in the instances' memory: kill both, start again, load from the cluster.
    await Promise.all(c.roomServers.map((r) => r.kill('SIGKILL')));
    await Promise.all(c.roomServers.map((r) => r.start()));
    const late = await connect(b!, room!, 'late');
    const stored = ids(late.doc);
    expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);
    expect(stored.size).toBe(written);
  }, 90_000);

  it('settlement events reach the room and the stock stream over the cluster', async () => {
    const c = await processes(2, true);
    const [a, b] = c.roomServers.map((r) => r.url);
    const settlement = c.settlementUrl!;
    const { items: products } = (await (await fetch(`${settlement}/products?size=3`)).json()) as {
      items: { sku: string }[];
    };
    const sku = products[0]!.sku;
    const { items: stores } = (await (await fetch(`${settlement}/stores?skus=${sku}`)).json()) as {
      items: { id: string; canFulfil: boolean }[];
    };
    const store = stores.find((s) => s.canFulfil)!;
    // Settlement's own events (sharded pub/sub): its live stock stream for the store.
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const events: string[] = [];
    const stream = await fetch(`${settlement}/stores/${store.id}/stock/stream`, {
      signal: abort.signal,
    });
    expect(stream.status).toBe(200);
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream.body!) events.push(decoder.decode(chunk as Uint8Array));
    })().catch(() => {});
    await waitFor(() => events.join('').includes('snapshot'), 10_000, 'stock snapshot');

    const room = 'rcheckout';
    const org = await connect(a!, room, 'org', 'organiser');
    initRoom(org.doc, { name: 'Belanja', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setMeta(org.doc, 'storeId', store.id);
    const member = await connect(b!, room, 'budi');
    joinMember(member.doc, 'budi', 'Budi');
    addLine(member.doc, { sku, qty: 1, addedBy: 'budi' });
    await waitFor(() => same([org, member]) && linesMap(org.doc).size === 1, 10_000, 'cart');

    const orgToken = await signToken({ sub: 'org', room, name: 'Org', role: 'organiser' }, SECRET);
    const res = await fetch(`${c.roomServers[1]!.httpUrl}/rooms/${room}/finalise`, {
      method: 'POST',
      headers: { authorization: `Bearer ${orgToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ storeId: store.id }),
    });
    expect(res.status).toBe(202);
    const payments = await (async () => {
      await waitFor(
        () => org.doc.getMap('settlement').get('payments') !== undefined,
        15_000,
        'the settlement in the room',
      );
      return org.doc.getMap('settlement').get('payments') as Record<string, { payUrl?: string }>;
    })();
    for (const p of Object.values(payments)) {
      const paid = await fetch(p.payUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'authorize' }),
      });
      expect(paid.status).toBeLessThan(400);
    }
    await waitFor(
      () => [org, member].every((cl) => cl.doc.getMap('settlement').get('status') === 'paid'),
      20_000,
      'paid status on both instances',
    );
    // The hold on the store's stock went out on settlement's bus, through the cluster.
    await waitFor(() => /event: ?stock/.test(events.join('')), 10_000, 'a stock event');
  }, 120_000);
});
