/** Keys and wire frames of the scaled mode: builders and their inverses agree. */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { decodeMessage, encodePresence, encodeQuery, encodeUpdate } from '../src/scale/messages.ts';
import { RedisRoomStore, nextStreamId, parseRoomKey, scaleKeys } from '../src/scale/index.ts';
import { REDIS_URL, dropPrefix, uniquePrefix } from './scale-helpers.ts';

describe('scale keys', () => {
  it('parses back every room key it builds, and nothing else', () => {
    const k = scaleKeys('p:');
    for (const kind of ['log', 'snap', 'seq', 'lock'] as const) {
      expect(parseRoomKey('p:', k[kind]('Room_1-x'))).toEqual({ roomId: 'Room_1-x', kind });
    }
    expect(parseRoomKey('p:', k.channel('r'))).toEqual({ roomId: 'r', kind: 'ch' });
    expect(parseRoomKey('p:', k.lease('i1'))).toBeNull();
    expect(parseRoomKey('q:', k.log('r'))).toBeNull();
    expect(parseRoomKey('p:', 'p:room:{bad room}:log')).toBeNull();
  });

  it('puts all of a room in one hash slot (Redis Cluster)', () => {
    const k = scaleKeys('p:');
    const tags = [k.log('r9'), k.snap('r9'), k.seq('r9'), k.lock('r9'), k.channel('r9')].map(
      (key) => /\{([^}]*)\}/.exec(key)?.[1],
    );
    expect(new Set(tags)).toEqual(new Set(['r9']));
  });

  it('computes the next stream id', () => {
    expect(nextStreamId('1700000000000-0')).toBe('1700000000000-1');
    expect(nextStreamId('5-18446744073709551614')).toBe('5-18446744073709551615');
    expect(() => nextStreamId('nonsense')).toThrow();
  });
});

describe('scale frames', () => {
  it('round-trip, and the Lua-built update frame is the one encodeUpdate builds', async () => {
    const doc = new Y.Doc();
    doc.getMap('m').set('k', 'v');
    const update = Y.encodeStateAsUpdate(doc);
    expect(decodeMessage(encodeUpdate('inst-1', 42, update))).toEqual({
      type: 0,
      from: 'inst-1',
      seq: 42,
      update,
    });
    expect(decodeMessage(encodeQuery('a'))).toEqual({ type: 2, from: 'a' });
    expect(decodeMessage(encodePresence('a', 'room', new Uint8Array([1, 2])))).toEqual({
      type: 3,
      from: 'a',
      roomId: 'room',
      update: new Uint8Array([1, 2]),
    });
    expect(() => decodeMessage(new Uint8Array([9, 0]))).toThrow();

    // What the append script publishes, byte for byte.
    const prefix = uniquePrefix('wire');
    const keys = scaleKeys(prefix);
    const redis = new Redis(REDIS_URL);
    const sub = new Redis(REDIS_URL);
    try {
      const got = new Promise<Buffer>((resolve) => sub.on('smessageBuffer', (_c, m) => resolve(m)));
      await sub.ssubscribe(keys.channel('w'));
      const store = new RedisRoomStore({ redis, keys, instanceId: 'inst-1' });
      const { seq } = await store.append('w', update);
      expect(new Uint8Array(await got)).toEqual(encodeUpdate('inst-1', seq, update));
    } finally {
      sub.disconnect();
      redis.disconnect();
      await dropPrefix(REDIS_URL, prefix);
    }
  });
});

describe('compaction', () => {
  it('refuses to store a document whose deletes reference inserts it does not have', async () => {
    const prefix = uniquePrefix('compact');
    const keys = scaleKeys(prefix);
    const redis = new Redis(REDIS_URL);
    try {
      const store = new RedisRoomStore({ redis, keys, instanceId: 'c1' });
      const doc = new Y.Doc();
      const updates: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => updates.push(u));
      doc.getText('t').insert(0, 'hello');
      doc.getText('t').delete(0, 5);
      // Only the delete reaches the stream: its insert is missing.
      await store.append('r', updates[1]!);
      expect(await store.compact('r')).toBe('incomplete');
      expect(await redis.exists(keys.snap('r'))).toBe(0);
      expect(await redis.xlen(keys.log('r'))).toBe(1);
      // Once the insert is there too, the same log compacts into a complete snapshot.
      await store.append('r', updates[0]!);
      expect(await store.compact('r')).toBe('compacted');
      expect(await redis.xlen(keys.log('r'))).toBe(0);
      const loaded = new Y.Doc();
      for (const u of (await store.load('r')).updates) Y.applyUpdate(loaded, u);
      expect(loaded.store.pendingStructs).toBeNull();
      expect(loaded.store.pendingDs).toBeNull();
      expect(loaded.getText('t').toString()).toBe('');
    } finally {
      redis.disconnect();
      await dropPrefix(REDIS_URL, prefix);
    }
  });
});
