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
