/**
 * The Redis hop alone (not a test): two `RedisScale` instances in one process over a private
 * redis-server, 1,000 rooms loaded on both, edits made on one instance's room doc and timed
 * until the other instance has applied them. No WebSockets and no load generator: this is the
 * cost the scaled mode adds between two instances (append script + pub/sub + apply), in both
 * directions. Complements scale-bench.ts, whose numbers include clients and the generator.
 *
 *   npx tsx room-server/bench/scale-hop.ts [--rooms 1000] [--rates 1000,2000,4000] [--seconds 10]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import { isDurableOrigin, type RoomHandle } from '../src/index.ts';
import { RedisScale } from '../src/scale/index.ts';
import { PrivateRedis } from '../test/scale-helpers.ts';

const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '1000' },
    rates: { type: 'string', default: '1000,2000,4000' },
    seconds: { type: 'string', default: '10' },
  },
});
const ROOMS = Number(values.rooms);
const SECONDS = Number(values.seconds);
const LOCAL = Object.freeze({ kind: 'connection' });

interface Side {
  scale: RedisScale;
  rooms: RoomHandle[];
  clients: Redis[];
}

/** Latencies in ms of edits made on the other side, recorded when applied here. */
let samples: number[] = [];

async function side(url: string, id: string): Promise<Side> {
  const o = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
  const clients = [new Redis(url, o), new Redis(url, o)];
  const scale = new RedisScale({
    redis: clients[0]!,
    subscriber: clients[1]!,
    instanceId: id,
    prefix: 'hop:',
    logger: pino({ level: 'warn' }),
  });
  await scale.ready();
  const rooms: RoomHandle[] = [];
  for (let i = 0; i < ROOMS; i++) {
    const roomId = `r${i}`;
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    clearInterval(awareness._checkInterval as NodeJS.Timeout);
    // as the core does: one append per local update (the append script publishes it)
    doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (!isDurableOrigin(origin)) scale.storage.append(roomId, u).catch(() => {});
    });
    const host: RoomHandle = {
      id: roomId,
      doc,
      awareness,
      applyRemoteUpdate: (u, origin) => {
        Y.applyUpdate(doc, u, origin);
        const t = doc.getMap('m').get('t');
        if (typeof t === 'number') samples.push(performance.now() - t);
      },
      applyRemoteAwareness: (u, origin) => applyAwarenessUpdate(awareness, u, origin),
      removeRemoteAwareness: (ids, origin) => removeAwarenessStates(awareness, ids, origin),
    };
    await scale.join(host, () => scale.storage.load(roomId));
    rooms.push(host);
  }
  return { scale, rooms, clients };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const redis = await PrivateRedis.start();
  const a = await side(redis.url, 'a');
  const b = await side(redis.url, 'b');
  const info = new Redis(redis.url);
  const rows: string[] = [];
  try {
    for (const rate of values.rates!.split(',').map(Number)) {
      samples = [];
      const calls0 = await commandCalls(info);
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      let sent = 0;
      // Paced from the clock: every millisecond, send what is due; alternate directions.
      while (performance.now() - start < SECONDS * 1000) {
        const due = Math.floor(((performance.now() - start) / 1000) * rate);
        while (sent < due) {
          const from = sent % 2 === 0 ? a : b;
          const room = from.rooms[sent % ROOMS]!;
          room.doc.transact(() => {
            room.doc.getMap('m').set('t', performance.now());
            room.doc.getMap('m').set(`k${sent % 50}`, sent);
          }, LOCAL);
          sent++;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, 1000));
      const cpu = process.cpuUsage(cpu0);
      const calls = (await commandCalls(info)) - calls0;
      let converged = 0;
      for (let i = 0; i < ROOMS; i++) {
        const x = Y.encodeStateVector(a.rooms[i]!.doc);
        const y = Y.encodeStateVector(b.rooms[i]!.doc);
        if (Buffer.compare(Buffer.from(x), Buffer.from(y)) === 0) converged++;
      }
      const row = [
        rate,
        Math.round(sent / SECONDS),
        samples.length,
        pct(samples, 50).toFixed(2),
        pct(samples, 95).toFixed(2),
        pct(samples, 99).toFixed(2),
        Math.max(...samples).toFixed(1),
        (calls / sent).toFixed(2),
        (((cpu.user + cpu.system) / 1000 / sent) * 1000).toFixed(1),
        `${converged}/${ROOMS}`,
      ];
      rows.push(`| ${row.join(' | ')} |`);
      console.log(rows[rows.length - 1]);
    }
  } finally {
    for (const s of [a, b]) {
      await s.scale.close();
      for (const c of s.clients) c.disconnect();
    }
    info.disconnect();
    await redis.stop();
  }
  console.log(
    `\nload average: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '| target edits/s | sent/s | received | hop p50 ms | p95 | p99 | max | Redis cmds/edit | process CPU µs/edit (both instances) | rooms converged |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
}

async function commandCalls(r: Redis): Promise<number> {
  const text = await r.info('commandstats');
  let n = 0;
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') n += Number(m[2]);
  }
  return n;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
