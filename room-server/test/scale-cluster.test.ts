/**
 * Acceptance of the scaled mode with real processes: room-servers started by
 * `startCluster()` (scripts/cluster.ts, what `npm run cluster` runs) as child processes, stock
 * y-websocket clients, the machine's Redis under a unique prefix (or a private redis-server
 * for the Redis-restart case, so the shared one on 6379 is never touched).
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addComment,
  addLine,
  commentsArray,
  initRoom,
  joinMember,
  linesMap,
  removeLine,
  setLineQty,
  setMeta,
  signToken,
  vote,
} from '@patungan/model';
import { startCluster, type Cluster } from '../../scripts/cluster.ts';
import { RedisRoomStore, scaleKeys } from '../src/scale/index.ts';
import {
  PrivateRedis,
  REDIS_URL,
  dropPrefix,
  memberToken,
  presenceWatcher,
  prng,
  roomJson,
  stockClient,
  uniquePrefix,
  waitFor,
  whenSynced,
  type StockClient,
} from './scale-helpers.ts';

const SECRET = 'scale-cluster-secret-0123456789abcdef';
// Every y-websocket provider adds a process 'exit' listener; these tests run 30 at once.
process.setMaxListeners(100);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // keep going: the remaining cleanups (stopping processes) matter more
    }
  }
});

/** Starting real processes (settlement seeds its catalogue) is slow on a busy machine. */
const SLOW = 120_000;

async function cluster(
  n: number,
  redisUrl = REDIS_URL,
  extra: { settlement?: boolean; lbPort?: number } = {},
): Promise<{ c: Cluster; prefix: string }> {
  const prefix = uniquePrefix('cluster');
  cleanups.push(() => dropPrefix(redisUrl, prefix).catch(() => {}));
  const c = await startCluster({
    instances: n,
    basePort: 0,
    settlement: extra.settlement ?? false,
    lbPort: extra.lbPort ?? null,
    redisUrl,
    redisPrefix: prefix,
    secret: SECRET,
    dataDir: join(tmpdir(), `patungan-scale-${prefix.slice(0, -1)}`),
    output: process.env.LOG_LEVEL ? 'prefix' : 'ignore',
    env: {
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      PING_INTERVAL_MS: '2000',
      SETTLEMENT_WORKER_POLL_MS: '100',
    },
  });
  cleanups.push(() =>
    rm(join(tmpdir(), `patungan-scale-${prefix.slice(0, -1)}`), { recursive: true, force: true }),
  );
  cleanups.push(() => c.stop());
  return { c, prefix };
}

async function connect(
  url: string,
  room: string,
  sub: string,
  role: 'member' | 'organiser' = 'member',
): Promise<StockClient> {
  const client = stockClient(url, room, await memberToken(SECRET, room, sub, role), {
    awareness: { name: sub },
  });
  cleanups.push(() => client.destroy());
  return client;
}

/** One seeded random edit by member `me`: cart lines, quantities, votes, comments. */
function randomEdit(doc: Y.Doc, me: string, rand: () => number, n: number): void {
  const r = rand();
  const lines = [...linesMap(doc).keys()];
  if (r < 0.3 || lines.length === 0) {
    addLine(doc, {
      sku: `sku-${Math.floor(rand() * 20)}`,
      qty: 1 + Math.floor(rand() * 3),
      addedBy: me,
    });
  } else if (r < 0.5) {
    setLineQty(doc, lines[Math.floor(rand() * lines.length)]!, 1 + Math.floor(rand() * 9));
  } else if (r < 0.6) {
    removeLine(doc, lines[Math.floor(rand() * lines.length)]!);
  } else if (r < 0.8) {
    vote(doc, `sku-${Math.floor(rand() * 20)}`, me, rand() < 0.5 ? 1 : -1);
  } else {
    addComment(doc, { by: me, text: `${me} #${n}`, id: `c-${me}-${n}` });
  }
}

const allSame = (clients: StockClient[]) => {
  const first = roomJson(clients[0]!.doc);
  return clients.every((c) => roomJson(c.doc) === first);
};

const commentIds = (doc: Y.Doc) =>
  new Set(
    commentsArray(doc)
      .toArray()
      .map((c) => c.id),
  );

describe('scaled mode with real processes', () => {
  it(
    '30 stock clients on 3 instances converge, and a restart of every instance keeps the room',
    async () => {
      const { c } = await cluster(3);
      const urls = c.roomServers.map((r) => r.url);
      const room = 'thirty';
      const clients: StockClient[] = [];
      clients.push(await connect(urls[0]!, room, 'org', 'organiser'));
      await whenSynced(clients[0]!.provider);
      initRoom(clients[0]!.doc, {
        name: 'Arisan',
        currency: 'IDR',
        organiser: 'org',
        organiserName: 'Org',
      });
      for (let i = 1; i < 30; i++) clients.push(await connect(urls[i % 3]!, room, `m${i}`));
      await Promise.all(clients.map((cl) => whenSynced(cl.provider)));
      await waitFor(() => allSame(clients), 15_000, 'initial convergence');

      // Cross-instance delivery, both ways.
      addComment(clients[3]!.doc, { by: 'm3', text: 'from instance 0', id: 'from-0' });
      addComment(clients[2]!.doc, { by: 'm2', text: 'from instance 2', id: 'from-2' });
      await waitFor(() => commentIds(clients[2]!.doc).has('from-0'), 10_000, '0 → 2');
      await waitFor(() => commentIds(clients[3]!.doc).has('from-2'), 10_000, '2 → 0');

      const rand = prng(20261122);
      for (let n = 0; n < 300; n++) {
        const i = Math.floor(rand() * 29) + 1;
        randomEdit(clients[i]!.doc, `m${i}`, rand, n);
        if (n % 10 === 0) await new Promise((r) => setTimeout(r, 10));
      }
      await waitFor(() => allSame(clients), 20_000, 'convergence after random edits');
      const before = roomJson(clients[0]!.doc);
      expect(JSON.parse(before).comments.length).toBeGreaterThan(2);

      // Every instance crashes at once and comes back: the room is intact.
      await Promise.all(c.roomServers.map((r) => r.kill('SIGKILL')));
      await Promise.all(c.roomServers.map((r) => r.start()));
      const late = await connect(urls[1]!, room, 'late');
      await whenSynced(late.provider);
      expect(roomJson(late.doc)).toBe(before);
      // The old clients reconnect by themselves (same ports) and are still in step.
      await waitFor(
        () => clients.every((cl) => cl.provider.synced && roomJson(cl.doc) === before),
        20_000,
        'clients back after restart',
      );
    },
    SLOW,
  );

  it(
    'kill -9 of an instance during editing: no seen update lost, its presence gone within 5 s',
    async () => {
      const { c } = await cluster(3);
      const urls = c.roomServers.map((r) => r.url);
      const room = 'crash';
      const org = await connect(urls[1]!, room, 'org', 'organiser');
      await whenSynced(org.provider);
      initRoom(org.doc, { name: 'Kopi', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
      const editors: StockClient[] = [org];
      for (let i = 1; i <= 12; i++) editors.push(await connect(urls[i % 3]!, room, `e${i}`));
      // Members who stay on the doomed instance and go dark with it (their phones are off).
      const dark = [await connect(urls[0]!, room, 'dark1'), await connect(urls[0]!, room, 'dark2')];
      await Promise.all([...editors, ...dark].map((cl) => whenSynced(cl.provider)));
      const darkIds = dark.map((d) => d.doc.clientID);
      // What the surviving instances tell their clients about presence.
      const watchers = [
        await presenceWatcher(urls[1]!, room, await memberToken(SECRET, room, 'w1')),
        await presenceWatcher(urls[2]!, room, await memberToken(SECRET, room, 'w2')),
      ];
      cleanups.push(() => watchers.forEach((w) => w.close()));
      const darkSeen = () => watchers.some((w) => darkIds.some((id) => w.has(id)));
      await waitFor(
        () => watchers.every((w) => darkIds.every((id) => w.has(id))),
        10_000,
        'the other instances to show the dark members',
      );

      const rand = prng(7);
      let n = 0;
      let editing = true;
      const loop = (async () => {
        while (editing) {
          const i = Math.floor(rand() * editors.length);
          const e = editors[i]!;
          // each in their own name (attribution is the writer's): editors[0] is the organiser
          const by = i === 0 ? 'org' : `e${i}`;
          if (e.provider.wsconnected) addComment(e.doc, { by, text: `n${n}`, id: `c${n}` });
          n++;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await new Promise((r) => setTimeout(r, 800));

      await c.roomServers[0]!.kill('SIGKILL');
      const killedAt = Date.now();
      for (const d of dark) d.provider.disconnect();
      // Everything any client had seen at the moment of the crash.
      const seen = new Set<string>();
      for (const cl of [...editors, ...dark]) for (const id of commentIds(cl.doc)) seen.add(id);
      // Its editors reconnect through the others (what the balancer does for them).
      editors.forEach((e, i) => {
        if (e.url === urls[0]) e.moveTo(urls[1 + (i % 2)]!);
      });

      await waitFor(
        () => !darkSeen(),
        5000,
        'presence of the dead instance’s members to disappear',
      );
      expect(Date.now() - killedAt).toBeLessThan(5000);

      await new Promise((r) => setTimeout(r, 800));
      editing = false;
      await loop;
      await waitFor(
        () => editors.every((e) => e.provider.synced) && allSame(editors),
        20_000,
        'convergence after the crash',
      );
      expect(darkSeen()).toBe(false); // and it stays gone
      const final = commentIds(editors[0]!.doc);
      const lost = [...seen].filter((id) => !final.has(id));
      expect(lost).toEqual([]);
      expect(final.size).toBeGreaterThan(seen.size);
    },
    SLOW,
  );

  it(
    'Redis stopped and restarted during editing: instances keep serving, then all converge',
    async () => {
      const redis = await PrivateRedis.start();
      cleanups.push(() => redis.stop());
      const { c, prefix } = await cluster(2, redis.url);
      const urls = c.roomServers.map((r) => r.url);
      const room = 'outage';
      const org = await connect(urls[0]!, room, 'org', 'organiser');
      await whenSynced(org.provider);
      initRoom(org.doc, { name: 'Bakso', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
      const clients = [org];
      for (let i = 1; i <= 5; i++) clients.push(await connect(urls[i % 2]!, room, `r${i}`));
      await Promise.all(clients.map((cl) => whenSynced(cl.provider)));
      await waitFor(() => allSame(clients), 10_000, 'initial convergence');

      const rand = prng(99);
      let n = 0;
      const edit = () => {
        const i = 1 + Math.floor(rand() * 5);
        randomEdit(clients[i]!.doc, `r${i}`, rand, n++);
      };
      for (let k = 0; k < 30; k++) edit();
      await redis.stop();
      await waitFor(
        async () => {
          const h = (await (await fetch(`${c.roomServers[0]!.httpUrl}/healthz`)).json()) as {
            status: string;
          };
          return h.status === 'degraded';
        },
        10_000,
        'degraded health',
      );
      // Local clients are still served: an edit reaches a client on the same instance.
      addComment(clients[1]!.doc, { by: 'r1', text: 'while Redis is down', id: 'during' });
      const sameInstance = clients.find((cl, i) => i !== 1 && cl.url === clients[1]!.url)!;
      await waitFor(() => commentIds(sameInstance.doc).has('during'), 10_000, 'local delivery');
      for (let k = 0; k < 30; k++) edit();
      await redis.start();
      for (let k = 0; k < 30; k++) {
        edit();
        await new Promise((r) => setTimeout(r, 10));
      }
      await waitFor(() => allSame(clients), 20_000, 'convergence after the outage');
      expect(commentIds(org.doc).has('during')).toBe(true);
      for (const r of c.roomServers) {
        const metrics = await (await fetch(`${r.httpUrl}/metrics`)).text();
        const m = /patungan_scale_redis_unavailable_total (\d+)/.exec(metrics);
        expect(Number(m?.[1])).toBeGreaterThanOrEqual(1);
      }
      // And Redis holds the whole room again (both instances pushed what it had lost).
      const r = new Redis(redis.url);
      cleanups.push(() => r.disconnect());
      const store = new RedisRoomStore({ redis: r, keys: scaleKeys(prefix), instanceId: 'check' });
      await waitFor(
        async () => {
          const stored = new Y.Doc();
          for (const u of (await store.load(room)).updates) Y.applyUpdate(stored, u);
          return roomJson(stored) === roomJson(org.doc);
        },
        10_000,
        'durable state to match',
      );
    },
    SLOW,
  );

  it(
    'finalise on one instance, payment status from settlement on any: every client follows',
    async () => {
      const { c } = await cluster(2, REDIS_URL, { settlement: true, lbPort: 0 });
      const urls = c.roomServers.map((r) => r.url);
      const settlement = c.settlementUrl!;
      const { items: products } = (await (await fetch(`${settlement}/products?size=3`)).json()) as {
        items: { sku: string }[];
      };
      const sku = products[0]!.sku;
      const { items: stores } = (await (
        await fetch(`${settlement}/stores?skus=${sku}`)
      ).json()) as {
        items: { id: string; canFulfil: boolean }[];
      };
      const store = stores.find((s) => s.canFulfil)!;
      const room = 'checkout';
      const org = await connect(urls[0]!, room, 'org', 'organiser');
      await whenSynced(org.provider);
      initRoom(org.doc, {
        name: 'Belanja',
        currency: 'IDR',
        organiser: 'org',
        organiserName: 'Org',
      });
      setMeta(org.doc, 'storeId', store.id);
      const member = await connect(urls[1]!, room, 'budi');
      await whenSynced(member.provider);
      joinMember(member.doc, 'budi', 'Budi');
      addLine(member.doc, { sku, qty: 1, addedBy: 'budi' });
      await waitFor(() => allSame([org, member]) && linesMap(org.doc).size === 1, 10_000, 'cart');

      // Finalise lands on the instance the organiser is NOT connected to.
      const orgToken = await signToken(
        { sub: 'org', room, name: 'Org', role: 'organiser' },
        SECRET,
      );
      const res = await fetch(`${c.roomServers[1]!.httpUrl}/rooms/${room}/finalise`, {
        method: 'POST',
        headers: { authorization: `Bearer ${orgToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ storeId: store.id }),
      });
      expect(res.status).toBe(202);
      const { settlementId } = (await res.json()) as { settlementId: string };
      await waitFor(
        () =>
          org.doc.getMap('settlement').get('id') === settlementId &&
          org.doc.getMap('meta').get('status') === 'settling',
        15_000,
        'the organiser (other instance) to see the settlement',
      );

      // Everyone pays on the local pay page; settlement's outbox reports through the balancer.
      const payments = org.doc.getMap('settlement').get('payments') as Record<
        string,
        { payUrl?: string }
      >;
      for (const p of Object.values(payments)) {
        expect(p.payUrl).toBeTruthy();
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
      expect(allSame([org, member])).toBe(true);
    },
    SLOW,
  );
});
