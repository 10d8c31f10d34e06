/**
 * Durable before broadcast (decision 0005), checked in-process and without timing: whenever
 * another client receives an edit, the edit is already in the room's files on disk. The file
 * storage is given a long commit window so that "buffered, not written yet" lasts long enough
 * to be seen if the server broadcast before writing.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, readComments } from '@patungan/model';
import { FileStorage } from '../src/index.ts';
import { client, startServer, tempDir, token, waitFor } from './helpers.ts';

/** The comments in a room's snapshot + log on disk, read synchronously. */
function storedComments(dir: string, roomId: string): string[] {
  const doc = new Y.Doc();
  const snapshot = join(dir, `${roomId}.snapshot`);
  if (existsSync(snapshot)) Y.applyUpdate(doc, readFileSync(snapshot));
  const logPath = join(dir, `${roomId}.log`);
  const log = existsSync(logPath) ? readFileSync(logPath) : Buffer.alloc(0);
  for (let off = 0; off + 4 <= log.byteLength;) {
    const len = log.readUInt32LE(off);
    if (off + 4 + len > log.byteLength) break;
    Y.applyUpdate(doc, log.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  const texts = readComments(doc).map((c) => c.text);
  doc.destroy();
  return texts;
}

test('another client receives an edit only once it is in the room log on disk', async () => {
  const dir = await tempDir();
  // 200 ms of collecting appends before they are written
  const storage = new FileStorage({ dir, commitWindowMs: 200 });
  const server = await startServer({ storage });
  const alice = await client(server, 'order', await token('order', 'alice'));
  const bob = await client(server, 'order', await token('order', 'bob'));
  const notStoredWhenSeen: string[] = [];
  bob.doc.getArray('comments').observe(() => {
    const stored = new Set(storedComments(dir, 'order'));
    for (const c of readComments(bob.doc)) if (!stored.has(c.text)) notStoredWhenSeen.push(c.text);
  });
  for (let i = 0; i < 10; i++) addComment(alice.doc, { by: 'alice', text: `edit ${i}` });
  await waitFor(() => readComments(bob.doc).length === 10, 'bob saw every edit');
  expect(notStoredWhenSeen).toEqual([]);
  // the sender's own document and the others' agree
  expect(readComments(bob.doc).map((c) => c.text)).toEqual(
    readComments(alice.doc).map((c) => c.text),
  );
});

test('a client joining while edits wait to be written gets them only once they are written', async () => {
  const dir = await tempDir();
  const storage = new FileStorage({ dir, commitWindowMs: 300 });
  const server = await startServer({ storage });
  const alice = await client(server, 'join', await token('join', 'alice'));
  addComment(alice.doc, { by: 'alice', text: 'first' });
  // carol connects now: her sync step 2 is computed from a document holding 'first'
  const carol = await client(server, 'join', await token('join', 'carol'), { sync: false });
  let unstored: string[] | null = null;
  carol.doc.getArray('comments').observe(() => {
    const stored = new Set(storedComments(dir, 'join'));
    unstored = readComments(carol.doc)
      .map((c) => c.text)
      .filter((t) => !stored.has(t));
  });
  await waitFor(() => readComments(carol.doc).length === 1, 'carol has the comment');
  expect(unstored).toEqual([]);
});
