import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { FileStorage, MemoryStorage } from '../src/index.ts';
import { tempDir } from './helpers.ts';
import { storageContract } from './storage-contract.ts';

storageContract('memory', async () => {
  const storage = new MemoryStorage();
  return { storage, reopen: async () => storage };
});

storageContract('file', async () => {
  const dir = await tempDir();
  return {
    storage: new FileStorage({ dir, commitWindowMs: 5 }),
    reopen: async () => new FileStorage({ dir, commitWindowMs: 5 }),
  };
});

describe('file storage specifics', () => {
  test('a record cut short by a crash is ignored, the rest loads', async () => {
    const dir = await tempDir();
    const storage = new FileStorage({ dir });
    const doc = new Y.Doc();
    doc.on('update', (u: Uint8Array) => storage.append('cut', u));
    doc.getMap('meta').set('name', 'before the crash');
    await storage.close();
    // half a record: a length header promising more bytes than follow
    await appendFile(join(dir, 'cut.log'), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    const again = new FileStorage({ dir });
    const { updates } = await again.load('cut');
    const loaded = new Y.Doc();
    for (const u of updates) Y.applyUpdate(loaded, u);
    expect(loaded.getMap('meta').get('name')).toBe('before the crash');
    await again.close();
  });

  test('compaction keeps the files bounded', async () => {
    const dir = await tempDir();
    const storage = new FileStorage({ dir, commitWindowMs: 1 });
    const doc = new Y.Doc();
    doc.on('update', (u: Uint8Array) => storage.append('grow', u));
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 500; i++) doc.getMap('lines').set('l', `${round}-${i}-${'x'.repeat(50)}`);
      await storage.compact('grow', Y.encodeStateAsUpdate(doc));
    }
    await storage.flush();
    const snapshot = await readFile(join(dir, 'grow.snapshot'));
    const log = await readFile(join(dir, 'grow.log'));
    expect(log.byteLength).toBe(0);
    expect(snapshot.byteLength).toBeLessThan(2000); // one value, not 2,500 of them
    await storage.close();
  });

  test('more rooms than open files: least recently written logs are closed and nothing is lost', async () => {
    const dir = await tempDir();
    const storage = new FileStorage({ dir, commitWindowMs: 1, maxOpenFiles: 2 });
    const docs = Array.from({ length: 6 }, (_, i) => {
      const doc = new Y.Doc();
      doc.on('update', (u: Uint8Array) => storage.append(`room${i}`, u));
      return doc;
    });
    for (let round = 0; round < 4; round++) {
      docs.forEach((d, i) => d.getMap('votes').set(`k:${round}`, i));
      await storage.flush();
    }
    await storage.close();
    const again = new FileStorage({ dir });
    for (const [i, d] of docs.entries()) {
      const loaded = new Y.Doc();
      for (const u of (await again.load(`room${i}`)).updates) Y.applyUpdate(loaded, u);
      expect(loaded.getMap('votes').toJSON()).toEqual(d.getMap('votes').toJSON());
    }
    await again.close();
  });

  test('room ids that are not safe file names are refused', async () => {
    const storage = new FileStorage({ dir: await tempDir() });
    await expect(storage.load('../etc/passwd')).rejects.toThrow(/invalid room id/);
    await storage.close();
  });
});
