/**
 * Micro-benchmark of the write path with file storage (not a test): what one member update
 * costs from the frame arriving to the broadcast leaving, in-process (no sockets), with the
 * embedded FileStorage in a temp dir. 1,000 rooms × 5 members; `--batch` frames arrive for
 * random rooms in one event-loop turn, `--rate` updates a second in all.
 * Prints process CPU per update and the delay from `receive` to the first peer's `send`
 * (durable before broadcast waits for the write at the end of the turn; decision 0005).
 * Compare trees by running the same command in each (docs/benchmarks.md).
 *
 *   npx tsx room-server/bench/durability.ts [--updates 20000] [--rate 1000] [--batch 10] [--sync write|fdatasync]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { pino } from 'pino';
import { LocalBus } from '../src/bus.ts';
import { Connection } from '../src/connection.ts';
import { Stats } from '../src/metrics.ts';
import { Room } from '../src/room.ts';
import { FileStorage } from '../src/storage/file.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const UPDATES = Number(opt('updates', '20000'));
const BATCH = Number(opt('batch', '10'));
/** Updates per second over all rooms (the edit benchmark's 1,000 rooms × 1 edit/s). */
const RATE = Number(opt('rate', '1000'));
const ROOMS = 1000;
const sync = opt('sync', 'write');

function frameOf(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

const dir = mkdtempSync(join(tmpdir(), 'durability-bench-'));
const storage = new FileStorage({ dir, sync: sync as 'write' } as ConstructorParameters<
  typeof FileStorage
>[0]);
const stats = new Stats();
const delays: number[] = [];
let pendingSince = new Map<number, number>(); // room index → receive time of the frame in flight

const rooms = Array.from({ length: ROOMS }, (_, r) => {
  const room = new Room(`room${r}`, {
    log: pino({ level: 'silent' }),
    stats,
    extensions: [],
    storage,
    bus: new LocalBus(),
    limits: { messagesPerSecond: 1e9, messageBurst: 1e9, compactBytes: 1 << 30 },
    idle: () => {},
    observePersist: () => {},
  });
  room.state = 'ready';
  const peerSink = {
    send() {
      const t = pendingSince.get(r);
      if (t !== undefined) {
        delays.push(performance.now() - t);
        pendingSince.delete(r);
      }
    },
    close() {},
  };
  const sink = { send() {}, close() {} };
  for (let i = 1; i < 5; i++)
    room.connect(
      new Connection(`room${r}`, { id: `m${i}`, role: 'member', name: 'm' }, peerSink, 1e9),
    );
  const writer = new Connection(`room${r}`, { id: 'm0', role: 'member', name: 'm' }, sink, 1e9);
  room.connect(writer);
  const doc = new Y.Doc();
  const frames: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => frames.push(frameOf(u)));
  return { room, writer, doc, frames };
});

const pause = (BATCH * 1000) / RATE;
const turn = () => new Promise<void>((r) => setTimeout(r, pause));
let sent = 0;
let cpu0: NodeJS.CpuUsage | null = null;
let t0 = 0;
const warmup = Math.min(5000, UPDATES / 5);
while (sent < UPDATES + warmup) {
  if (sent === warmup) {
    delays.length = 0;
    cpu0 = process.cpuUsage();
    t0 = performance.now();
  }
  for (let k = 0; k < BATCH; k++) {
    const r = Math.floor(Math.random() * ROOMS);
    const x = rooms[r]!;
    x.doc.getMap('votes').set(`sku${sent % 8}:m0`, sent % 2 ? 1 : -1);
    const f = x.frames.shift()!;
    if (!pendingSince.has(r)) pendingSince.set(r, performance.now());
    x.room.receive(x.writer, f);
    sent++;
  }
  await turn();
}
await storage.flush();
await new Promise((r) => setTimeout(r, 50)); // the last broadcasts
const cpu = process.cpuUsage(cpu0!);
const wall = performance.now() - t0;
delays.sort((a, b) => a - b);
const q = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))]!;
console.log(
  `${UPDATES} updates at ${RATE}/s, ${BATCH} per turn, sync ${sync}: CPU ${((cpu.user + cpu.system) / UPDATES) | 0} µs per update ` +
    `(user ${(cpu.user / UPDATES) | 0}, sys ${(cpu.system / UPDATES) | 0}), wall ${(wall / 1000).toFixed(1)} s; ` +
    `receive → broadcast p50 ${q(0.5).toFixed(3)} ms, p99 ${q(0.99).toFixed(3)} ms (${delays.length} measured)`,
);
await storage.close();
rmSync(dir, { recursive: true, force: true });
pendingSince = new Map();
process.exit(0);
