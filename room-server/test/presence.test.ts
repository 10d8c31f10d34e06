import { describe, expect, test } from 'vitest';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { pino } from 'pino';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { LocalBus } from '../src/bus.ts';
import { Connection } from '../src/connection.ts';
import { Stats } from '../src/metrics.ts';
import { Room } from '../src/room.ts';
import { MemoryStorage } from '../src/storage/memory.ts';

const MESSAGE_AWARENESS = 1;

function makeRoom(): Room {
  const room = new Room('presence', {
    log: pino({ level: 'silent' }),
    stats: new Stats(),
    extensions: [],
    storage: new MemoryStorage(),
    bus: new LocalBus(),
    limits: { messagesPerSecond: 1000, messageBurst: 1000, compactBytes: 1 << 20 },
    idle: () => {},
    observePersist: () => {},
  });
  room.state = 'ready';
  return room;
}

/** A member connection whose received frames land in a client-side Awareness. */
function member(room: Room, id: string) {
  const seen = new Awareness(new Y.Doc());
  seen.setLocalState(null);
  const conn = new Connection(
    room.id,
    { id, role: 'member', name: id },
    {
      send(message) {
        const d = decoding.createDecoder(message);
        if (decoding.readVarUint(d) === MESSAGE_AWARENESS) {
          applyAwarenessUpdate(seen, decoding.readVarUint8Array(d), 'server');
        }
      },
      close() {},
    },
    1000,
  );
  room.connect(conn);
  return { conn, seen };
}

function announce(room: Room, conn: Connection, name: string): number {
  const own = new Awareness(new Y.Doc());
  own.setLocalState({ user: { name } });
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(e, encodeAwarenessUpdate(own, [own.clientID]));
  room.receive(conn, encoding.toUint8Array(e));
  own.destroy();
  return own.clientID;
}

describe('presence expiry (one sweep for every room)', () => {
  test('a member who stops renewing presence disappears for the others after 30 s, not before', () => {
    const room = makeRoom();
    const a = member(room, 'a');
    const b = member(room, 'b');
    const id = announce(room, a.conn, 'Ana');
    expect(b.seen.getStates().get(id)).toEqual({ user: { name: 'Ana' } });

    room.expirePresence(Date.now() + 29_000);
    expect(room.awareness.getStates().has(id)).toBe(true);
    expect(b.seen.getStates().has(id)).toBe(true);

    room.expirePresence(Date.now() + 31_000);
    expect(room.awareness.getStates().has(id)).toBe(false);
    expect(b.seen.getStates().has(id)).toBe(false);
    room.destroy();
  });
});

describe('the presence store speaks the awareness protocol', () => {
  test("updates, renewals, a late joiner's snapshot and removals reach y-protocols clients as they sent them", () => {
    const room = makeRoom();
    const a = member(room, 'a');
    const b = member(room, 'b');
    const own = new Awareness(new Y.Doc());
    const send = () => {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MESSAGE_AWARENESS);
      encoding.writeVarUint8Array(e, encodeAwarenessUpdate(own, [own.clientID]));
      room.receive(a.conn, encoding.toUint8Array(e));
    };
    own.setLocalState({ user: { name: 'Ana', colour: '#f00' }, cursor: [1, 2] });
    send();
    expect(b.seen.getStates().get(own.clientID)).toEqual(own.getLocalState());
    // an older clock (a stale echo) changes nothing; a newer one does
    const stale = encodeAwarenessUpdate(own, [own.clientID]);
    own.setLocalStateField('cursor', [3, 4]);
    send();
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, stale);
    room.receive(a.conn, encoding.toUint8Array(e));
    expect(b.seen.getStates().get(own.clientID)).toEqual({
      user: { name: 'Ana', colour: '#f00' },
      cursor: [3, 4],
    });
    // a late joiner gets everybody's state with its clock
    const c = member(room, 'c');
    expect(c.seen.getStates().get(own.clientID)).toEqual(own.getLocalState());
    expect(c.seen.meta.get(own.clientID)?.clock).toBe(own.meta.get(own.clientID)?.clock);
    // the stock client's goodbye (a null state) removes it for everybody
    own.setLocalState(null);
    send();
    expect(b.seen.getStates().has(own.clientID)).toBe(false);
    expect(c.seen.getStates().has(own.clientID)).toBe(false);
    expect(room.awareness.getStates().has(own.clientID)).toBe(false);
    // y-protocols' own functions work on the store (the scaled mode's sync uses them)
    own.setLocalState({ user: { name: 'Ana' } });
    applyAwarenessUpdate(room.awareness, encodeAwarenessUpdate(own, [own.clientID]), 'remote');
    expect(c.seen.getStates().get(own.clientID)).toEqual({ user: { name: 'Ana' } });
    const back = new Awareness(new Y.Doc());
    applyAwarenessUpdate(back, encodeAwarenessUpdate(room.awareness, [own.clientID]), null);
    expect(back.getStates().get(own.clientID)).toEqual({ user: { name: 'Ana' } });
    own.destroy();
    back.destroy();
    room.destroy();
  });

  test('a state that is not JSON closes the sender and reaches nobody', () => {
    const room = makeRoom();
    const a = member(room, 'a');
    const b = member(room, 'b');
    const u = encoding.createEncoder();
    encoding.writeVarUint(u, 1);
    encoding.writeVarUint(u, 4242);
    encoding.writeVarUint(u, 1);
    encoding.writeVarString(u, '{"user":');
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(u));
    room.receive(a.conn, encoding.toUint8Array(e));
    expect(a.conn.closed).toBe(true);
    expect(b.seen.getStates().has(4242)).toBe(false);
    expect(room.awareness.getStates().has(4242)).toBe(false);
    room.destroy();
  });
});
