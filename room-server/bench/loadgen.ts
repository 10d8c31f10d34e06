/**
 * Load generator worker (a child process of bench/run.ts, pinned to its own core). It holds
 * raw `ws` clients that speak the y-websocket protocol like the stock client does on connect
 * (sync step 1, answer the server's step 1, one awareness state) and, in edit mode, writes
 * votes through a Y.Doc of its own per client (only its own keys, so it never needs to apply
 * what others send). Propagation latency: the sender notes the send time under its
 * (client id, clock); every receiver reads those two numbers from the broadcast's header.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { signToken } from '@patungan/model';

interface ConnectCmd {
  type: 'connect';
  url: string;
  /** Several instances of one scaled deployment: member m of every room connects to urls[m % n]. */
  urls?: string[];
  secret: string;
  rooms: string[];
  members: number;
  localAddress: string;
  awareness: boolean;
}
interface EditCmd {
  type: 'edit';
  ratePerRoom: number;
  durationMs: number;
}
type Cmd = ConnectCmd | EditCmd | { type: 'check' } | { type: 'close' };

interface Client {
  ws: WebSocket;
  doc: Y.Doc | null;
  member: string;
  roomIndex: number;
  /** Index of the instance (urls) it is connected to. */
  instance: number;
  /** While checking convergence: the room's full state as this client's server sends it. */
  check: { doc: Y.Doc; done: () => void } | null;
}

const clients: Client[] = [];
const rooms: Client[][] = [];
/** `${client}:${clock}` → send time; the sender's instance in `sentFrom`. */
const sent = new Map<string, number>();
const sentFrom = new Map<string, number>();
let measuring = false;
let latencies: number[] = [];
/** With several instances: latencies from a sender on another instance / the same one. */
let cross: number[] = [];
let same: number[] = [];

function frame(type: number, sub: number | null, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  if (sub !== null) encoding.writeVarUint(e, sub);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

function awarenessUpdate(clientId: number, name: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint(e, clientId);
  encoding.writeVarUint(e, 1);
  encoding.writeVarString(e, JSON.stringify({ user: { name } }));
  return encoding.toUint8Array(e);
}

function onMessage(c: Client, data: Buffer): void {
  if (data[0] !== 0) return;
  if (data[1] === 1 && c.check) {
    // sync step 2 answering our empty step 1: the server's whole document
    const d = decoding.createDecoder(data);
    decoding.readVarUint(d);
    decoding.readVarUint(d);
    Y.applyUpdate(c.check.doc, decoding.readVarUint8Array(d));
    c.check.done();
    return;
  }
  if (data[1] === 0) {
    // server's sync step 1: answer with what we have that it lacks (like the stock client)
    const d = decoding.createDecoder(data);
    decoding.readVarUint(d);
    decoding.readVarUint(d);
    const sv = decoding.readVarUint8Array(d);
    const update = c.doc ? Y.encodeStateAsUpdate(c.doc, sv) : new Uint8Array([0, 0]);
    c.ws.send(frame(0, 1, update));
    return;
  }
  if (data[1] !== 2 || !measuring) return;
  const d = decoding.createDecoder(data);
  decoding.readVarUint(d);
  decoding.readVarUint(d);
  decoding.readVarUint(d); // payload length
  if (decoding.readVarUint(d) < 1) return; // client blocks
  decoding.readVarUint(d); // structs
  const client = decoding.readVarUint(d);
  const clock = decoding.readVarUint(d);
  const key = `${client}:${clock}`;
  const t = sent.get(key);
  if (t === undefined) return;
  const ms = performance.now() - t;
  latencies.push(ms);
  (sentFrom.get(key) === c.instance ? same : cross).push(ms);
}

async function connect(cmd: ConnectCmd): Promise<void> {
  const jobs: (() => Promise<void>)[] = [];
  for (const roomId of cmd.rooms) {
    const members: Client[] = [];
    rooms.push(members);
    const roomIndex = rooms.length - 1;
    for (let m = 0; m < cmd.members; m++) {
      jobs.push(async () => {
        const member = `m${m}`;
        const token = await signToken(
          { sub: member, room: roomId, name: member, role: 'member' },
          cmd.secret,
          { ttlSeconds: 3600 },
        );
        const instance = cmd.urls ? m % cmd.urls.length : 0;
        const url = cmd.urls ? cmd.urls[instance]! : cmd.url;
        await new Promise<void>((resolve) => {
          const ws = new WebSocket(`${url}/${roomId}?token=${token}`, {
            perMessageDeflate: false,
            localAddress: cmd.localAddress,
          });
          const c: Client = { ws, doc: null, member, roomIndex, instance, check: null };
          ws.on('message', (d: Buffer) => onMessage(c, d));
          ws.on('error', () => resolve());
          ws.on('close', () => resolve());
          ws.on('open', () => {
            clients.push(c);
            members.push(c);
            ws.send(frame(0, 0, new Uint8Array([0])));
            if (cmd.awareness)
              ws.send(
                frame(1, null, awarenessUpdate(1 + Math.floor(Math.random() * 2 ** 30), member)),
              );
            resolve();
          });
        });
      });
    }
  }
  // bounded concurrency while connecting
  let next = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

async function edit(cmd: EditCmd): Promise<{
  latencies: number[];
  cross: number[];
  same: number[];
  edits: number;
  cpuMs: number;
}> {
  for (const c of clients) {
    if (c.doc) continue;
    const doc = new Y.Doc();
    doc.on(
      'update',
      (u: Uint8Array) => c.ws.readyState === WebSocket.OPEN && c.ws.send(frame(0, 2, u)),
    );
    c.doc = doc;
  }
  latencies = [];
  cross = [];
  same = [];
  sent.clear();
  sentFrom.clear();
  measuring = true;
  const cpu0 = process.cpuUsage();
  let edits = 0;
  const perMs = (rooms.length * cmd.ratePerRoom) / 1000;
  const skus = ['kopi', 'teh', 'roti', 'susu', 'gula', 'indomie', 'aqua', 'beras'];
  await new Promise<void>((resolve) => {
    const started = performance.now();
    const timer = setInterval(() => {
      if (performance.now() - started >= cmd.durationMs) {
        clearInterval(timer);
        return resolve();
      }
      // as many edits as the schedule says by now, even if a tick came late
      const due = Math.floor((performance.now() - started) * perMs) - edits;
      for (let k = 0; k < due; k++) {
        const room = rooms[Math.floor(Math.random() * rooms.length)]!;
        const c = room[Math.floor(Math.random() * room.length)];
        if (!c?.doc || c.ws.readyState !== WebSocket.OPEN) continue;
        const vote = `${skus[Math.floor(Math.random() * skus.length)]}:${c.member}`;
        const key = `${c.doc.clientID}:${Y.getState(c.doc.store, c.doc.clientID)}`;
        sent.set(key, performance.now());
        sentFrom.set(key, c.instance);
        c.doc.getMap('votes').set(vote, Math.random() < 0.5 ? 1 : -1);
        edits++;
      }
    }, 10);
  });
  await new Promise((r) => setTimeout(r, 500)); // let the last broadcasts arrive
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  return { latencies, cross, same, edits, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * Convergence: every open client asks its server for the whole document (sync step 1 with an
 * empty state vector); a room has converged when all its members' servers answer the same
 * state. Rooms with fewer than two answering members are not counted.
 */
async function check(): Promise<{ rooms: number; checked: number; converged: number }> {
  let checked = 0;
  let converged = 0;
  for (const members of rooms) {
    const open = members.filter((c) => c.ws.readyState === WebSocket.OPEN);
    const answers = await Promise.all(
      open.map(
        (c) =>
          new Promise<Y.Doc | null>((resolve) => {
            const doc = new Y.Doc();
            const t = setTimeout(() => {
              c.check = null;
              resolve(null);
            }, 5000);
            c.check = {
              doc,
              done: () => {
                clearTimeout(t);
                c.check = null;
                resolve(doc);
              },
            };
            c.ws.send(frame(0, 0, new Uint8Array([0])));
          }),
      ),
    );
    const docs = answers.filter((d): d is Y.Doc => d !== null);
    if (docs.length < 2) continue;
    checked++;
    const states = docs.map((d) => Buffer.from(Y.encodeStateVector(d)).toString('hex'));
    const votes = docs.map((d) => JSON.stringify(d.getMap('votes').toJSON()));
    if (states.every((x) => x === states[0]) && votes.every((x) => x === votes[0])) converged++;
  }
  return { rooms: rooms.length, checked, converged };
}

process.on('message', (cmd: Cmd) => {
  void (async () => {
    if (cmd.type === 'connect') {
      await connect(cmd);
      process.send!({
        type: 'connected',
        open: clients.filter((c) => c.ws.readyState === WebSocket.OPEN).length,
      });
    } else if (cmd.type === 'edit') {
      process.send!({ type: 'edited', ...(await edit(cmd)) });
    } else if (cmd.type === 'check') {
      process.send!({ type: 'checked', ...(await check()) });
    } else {
      for (const c of clients) c.ws.terminate();
      process.send!({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
    }
  })();
});
