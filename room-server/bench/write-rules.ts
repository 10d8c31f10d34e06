/**
 * Micro-benchmark of the write-rule check (not a test): the cost per update of the room core
 * applying a member's update with and without the rules, of a refused update (apply + revert
 * + one merged broadcast), and — for comparison — of checking by cloning the document.
 * The core runs in-process with transports that drop what they are sent; no sockets.
 *
 *   npm run bench -w room-server -- rules [--updates 20000] [--lines 50]
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { pino } from 'pino';
import { addComment, addLine, initRoom, membersMap } from '@patungan/model';
import { LocalBus } from '../src/bus.ts';
import { Connection } from '../src/connection.ts';
import { Stats } from '../src/metrics.ts';
import { Room } from '../src/room.ts';
import { MemoryStorage } from '../src/storage/memory.ts';
import type { Principal } from '../src/write-rules.ts';

function frameOf(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

function makeRoom(lines: number): Room {
  const room = new Room('bench', {
    log: pino({ level: 'silent' }),
    stats: new Stats(),
    extensions: [],
    storage: new MemoryStorage(),
    bus: new LocalBus(),
    limits: { messagesPerSecond: 1e9, messageBurst: 1e9, compactBytes: 1 << 30 },
    idle: () => {},
    observePersist: () => {},
  });
  initRoom(room.doc, { name: 'Bench', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
  for (let i = 0; i < lines; i++) addLine(room.doc, { sku: `sku${i}`, qty: 1, addedBy: 'org' });
  for (let i = 0; i < 5; i++) membersMap(room.doc).set(`m${i}`, { name: `m${i}`, joinedAt: i });
  addComment(room.doc, { by: 'org', text: 'welcome' });
  room.state = 'ready';
  return room;
}

/** `n` updates of one client, each setting its own vote (or a refused settlement key). */
function updates(n: number, write: (doc: Y.Doc, i: number) => void): Uint8Array[] {
  const doc = new Y.Doc();
  const out: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => out.push(frameOf(u)));
  for (let i = 0; i < n; i++) write(doc, i);
  return out;
}

function run(label: string, room: Room, who: Principal, frames: Uint8Array[], peers = 4): number {
  const sink = { send() {}, close() {} };
  for (let i = 0; i < peers; i++)
    room.connect(new Connection('bench', { id: `p${i}`, role: 'member', name: 'p' }, sink, 1e9));
  const conn = new Connection('bench', who, sink, 1e9);
  room.connect(conn);
  const t0 = performance.now();
  for (const f of frames) room.receive(conn, f);
  const us = ((performance.now() - t0) * 1000) / frames.length;
  console.log(`| ${label} | ${us.toFixed(1)} µs |`);
  room.destroy();
  return us;
}

/**
 * Refusals measured one per room (many rooms): a refused write and its revert stay in the
 * key's item list, so thousands of refusals on one key would measure that list's growth.
 */
function runRefusals(
  label: string,
  rooms: number,
  lines: number,
  locked: boolean,
  write: (doc: Y.Doc, i: number) => void,
): void {
  const sink = { send() {}, close() {} };
  const who: Principal = { id: 'm1', role: 'member', name: 'm1' };
  const cases = Array.from({ length: rooms }, (_, i) => {
    const room = makeRoom(lines);
    if (locked) room.doc.getMap('meta').set('status', 'locked');
    for (let p = 0; p < 4; p++)
      room.connect(new Connection('bench', { id: `p${p}`, role: 'member', name: 'p' }, sink, 1e9));
    const conn = new Connection('bench', who, sink, 1e9);
    room.connect(conn);
    // the member's document starts from the room's state, like a synced client
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(room.doc));
    let frame: Uint8Array | null = null;
    doc.on('update', (u: Uint8Array) => (frame ??= frameOf(u)));
    write(doc, i);
    return { room, conn, frame: frame! };
  });
  const t0 = performance.now();
  for (const c of cases) c.room.receive(c.conn, c.frame);
  const us = ((performance.now() - t0) * 1000) / rooms;
  console.log(`| ${label} | ${us.toFixed(1)} µs |`);
  for (const c of cases) c.room.destroy();
}

export async function rulesBench(args: (name: string, def: string) => string): Promise<void> {
  const n = Number(args('updates', '20000'));
  const lines = Number(args('lines', '50'));
  const member: Principal = { id: 'm1', role: 'member', name: 'm1' };
  const service: Principal = { id: 'svc', role: 'service', name: 'svc' };
  const votes = (doc: Y.Doc, i: number) =>
    doc.getMap('votes').set(`sku${i % 8}:m1`, i % 2 ? 1 : -1);
  console.log(
    `updates: ${n}, document: ${lines} lines, 5 members; 4 other connections in the room\n`,
  );
  console.log('| what | time per update (apply, check, broadcast, store) |\n| --- | --- |');
  // warm up the JIT
  run('warm-up', makeRoom(lines), member, updates(2000, votes));
  run('member vote, write rules checked', makeRoom(lines), member, updates(n, votes));
  run('same update as service (no check)', makeRoom(lines), service, updates(n, votes));
  const refusals = Number(args('refusals', '2000'));
  runRefusals('warm-up', 500, lines, false, (doc) =>
    doc.getMap('settlement').set('status', 'paid'),
  );
  runRefusals(
    'member write to settlement: refused, written back, one merged broadcast',
    refusals,
    lines,
    false,
    (doc) => doc.getMap('settlement').set('status', 'paid'),
  );
  runRefusals(
    'member adds a line in a locked room: refused, key deleted again',
    refusals,
    lines,
    true,
    (doc, i) =>
      doc.getMap('lines').set(
        `x${i}`,
        new Y.Map([
          ['sku', 'a'],
          ['qty', 1],
        ]),
      ),
  );
  runRefusals(
    'member deletes a comment: refused, restored by an UndoManager',
    refusals,
    lines,
    false,
    (doc) => {
      doc.getArray('comments').delete(0, 1);
    },
  );
  runRefusals(
    'member changes a qty in a locked room: refused, undone by an UndoManager',
    refusals,
    lines,
    true,
    (doc) => {
      const first = [...doc.getMap<Y.Map<unknown>>('lines').values()][0]!;
      first.set('qty', 7);
    },
  );
  // the alternative: check each update on a clone of the document
  const room = makeRoom(lines);
  const frames = updates(Math.min(n, 2000), votes);
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i++) {
    const clone = new Y.Doc();
    Y.applyUpdate(clone, Y.encodeStateAsUpdate(room.doc));
    clone.destroy();
  }
  room.destroy();
  console.log(
    `| clone the document per update (for comparison, clone only) | ${(((performance.now() - t0) * 1000) / frames.length).toFixed(1)} µs |`,
  );
}
