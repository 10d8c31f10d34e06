/**
 * The one storage contract every `RoomStorage` must meet. Run it with
 * `storageContract('name', factory)` from a test file; the factory gives a fresh, isolated
 * storage — built as the server builds it in production — and a way to open it again as a
 * restarted process would. The last test drives the storage through the room core itself
 * (`Rooms` with the factory's bus): the one load, the one append per update and the
 * compaction at unload that the server makes.
 */
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { LocalBus, Rooms, serviceOrigin } from '../src/index.ts';
import type { RoomBus, RoomStorage, StoredRoom } from '../src/index.ts';
import { Stats } from '../src/metrics.ts';

export interface StorageUnderTest {
  storage: RoomStorage;
  /** The same stored data through a new instance (after `storage.close()`), as after a restart. */
  reopen(): Promise<RoomStorage>;
  /** The bus the server runs with this storage (default: the embedded `LocalBus`). */
  bus?: RoomBus;
}

/** The document's content as plain JSON (typed roots, so an untouched root reads as empty). */
function view(doc: Y.Doc): unknown {
  return {
    meta: doc.getMap('meta').toJSON(),
    lines: doc.getMap('lines').toJSON(),
    votes: doc.getMap('votes').toJSON(),
    comments: doc.getArray('comments').toJSON(),
  };
}

function rebuild(stored: StoredRoom): { toJSON(): unknown; getMap(n: string): Y.Map<unknown> } {
  const doc = new Y.Doc();
  for (const u of stored.updates) Y.applyUpdate(doc, u);
  return { toJSON: () => view(doc), getMap: (n) => doc.getMap(n) };
}

/** A document whose every change is appended to `storage` as it happens. */
function recorded(storage: RoomStorage, roomId: string): Y.Doc {
  const doc = new Y.Doc();
  doc.on('update', (u: Uint8Array) => storage.append(roomId, u));
  return doc;
}

export function storageContract(name: string, make: () => Promise<StorageUnderTest>): void {
  describe(`RoomStorage contract: ${name}`, () => {
    test('a room never written loads as nothing', async () => {
      const { storage } = await make();
      expect((await storage.load('nothing-here')).updates).toEqual([]);
      expect(storage.pendingBytes('nothing-here')).toBe(0);
      await storage.close();
    });

    test('appended updates load back in order and rebuild the document', async () => {
      const { storage } = await make();
      const doc = recorded(storage, 'r1');
      for (let i = 0; i < 50; i++) doc.getMap('votes').set(`sku${i % 7}:m`, i % 2 ? 1 : -1);
      doc.getArray('comments').push(['a', 'b']);
      await storage.flush('r1');
      expect(storage.pendingBytes('r1')).toBeGreaterThan(0);
      expect(rebuild(await storage.load('r1')).toJSON()).toEqual(view(doc));
      await storage.close();
    });

    test('compaction replaces the log, keeps later appends, and resets the pending size', async () => {
      const { storage } = await make();
      const doc = recorded(storage, 'r2');
      for (let i = 0; i < 40; i++) doc.getMap('lines').set('l1', i);
      await storage.compact('r2', Y.encodeStateAsUpdate(doc));
      expect(storage.pendingBytes('r2')).toBe(0);
      doc.getMap('lines').set('l2', 'after');
      await storage.flush('r2');
      const loaded = await storage.load('r2');
      expect(loaded.updates.length).toBeLessThanOrEqual(2);
      expect(rebuild(loaded).toJSON()).toEqual(view(doc));
      await storage.close();
    });

    test('appends racing a compaction lose nothing', async () => {
      const { storage } = await make();
      const doc = recorded(storage, 'r3');
      const compactions: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        doc.getMap('votes').set(`k${i % 13}:m`, i);
        if (i % 37 === 0) compactions.push(storage.compact('r3', Y.encodeStateAsUpdate(doc)));
      }
      await Promise.all(compactions);
      await storage.flush();
      expect(rebuild(await storage.load('r3')).toJSON()).toEqual(view(doc));
      await storage.close();
    });

    test('rooms are independent', async () => {
      const { storage } = await make();
      const a = recorded(storage, 'ra');
      const b = recorded(storage, 'rb');
      a.getMap('meta').set('name', 'A');
      b.getMap('meta').set('name', 'B');
      await storage.compact('ra', Y.encodeStateAsUpdate(a));
      await storage.flush();
      expect(
        rebuild(await storage.load('ra'))
          .getMap('meta')
          .get('name'),
      ).toBe('A');
      expect(
        rebuild(await storage.load('rb'))
          .getMap('meta')
          .get('name'),
      ).toBe('B');
      await storage.close();
    });

    test('what was flushed survives a restart', async () => {
      const { storage, reopen } = await make();
      const doc = recorded(storage, 'r4');
      doc.getMap('meta').set('name', 'kept');
      await storage.compact('r4', Y.encodeStateAsUpdate(doc));
      doc.getArray('comments').push(['after compaction']);
      await storage.close();
      const again = await reopen();
      expect(rebuild(await again.load('r4')).toJSON()).toEqual(view(doc));
      await again.close();
    });

    test('what the room core writes through it (service writes, unload) loads back after a restart', async () => {
      const { storage, reopen, bus = new LocalBus() } = await make();
      const rooms = new Rooms(
        {
          log: pino({ level: 'silent' }),
          stats: new Stats(),
          extensions: [],
          storage,
          bus,
          limits: { messagesPerSecond: 1000, messageBurst: 1000, compactBytes: 4096 },
          observePersist: () => {},
        },
        { unloadDelayMs: 60_000 },
      );
      const room = await rooms.acquire('core');
      // enough writes to pass `compactBytes` once: a compaction in the middle of the appends
      for (let i = 0; i < 60; i++) {
        await room.transact((doc) => {
          doc.getMap('lines').set(`l${i % 9}`, `${i}-${'x'.repeat(100)}`);
          if (i % 10 === 0) doc.getArray('comments').push([`c${i}`]);
        }, serviceOrigin('contract'));
      }
      const expected = view(room.doc);
      await rooms.unload(room);
      await rooms.closeAll();
      await storage.close();
      await bus.close();
      const again = await reopen();
      expect(rebuild(await again.load('core')).toJSON()).toEqual(expected);
      await again.close();
    });
  });
}
