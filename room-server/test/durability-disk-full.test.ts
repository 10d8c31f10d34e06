/**
 * A storage that cannot write (a full disk): the room-server reports degraded (/healthz 503
 * with the reason), sends the writer away with 1013 instead of accepting and broadcasting what
 * it could not store, leaves no compaction temp file, and takes the writer's edits once space
 * is back; nothing any client was shown is missing after a restart.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { addComment, readComments } from '@patungan/model';
import { FileStorage } from '../src/index.ts';
import type { RoomServer, RoomStorage } from '../src/index.ts';
import * as Y from 'yjs';
import { client, startServer, tempDir, token, waitFor } from './helpers.ts';

/** The comments in a room's log on disk (no snapshot yet), read now. */
function loggedComments(dir: string, roomId: string): string[] {
  const doc = new Y.Doc();
  const log = readFileSync(join(dir, `${roomId}.log`));
  for (let off = 0; off + 4 <= log.byteLength;) {
    const len = log.readUInt32LE(off);
    if (off + 4 + len > log.byteLength) break;
    Y.applyUpdate(doc, log.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  const out = readComments(doc).map((c) => c.text);
  doc.destroy();
  return out;
}

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** File storage whose writes fail with ENOSPC while `full` is set. */
class FullDisk implements RoomStorage {
  full = false;
  constructor(readonly inner: FileStorage) {}
  load(roomId: string) {
    return this.inner.load(roomId);
  }
  append(roomId: string, update: Uint8Array) {
    if (!this.full) return this.inner.append(roomId, update);
    const p = Promise.reject(enospc());
    p.catch(() => {});
    return p;
  }
  async compact(roomId: string, state: Uint8Array) {
    if (this.full) throw enospc();
    return this.inner.compact(roomId, state);
  }
  flush(roomId?: string) {
    return this.inner.flush(roomId);
  }
  pendingBytes(roomId: string) {
    return this.inner.pendingBytes(roomId);
  }
  release(roomId: string) {
    return this.inner.release(roomId);
  }
  async probe() {
    if (this.full) throw enospc();
    await this.inner.probe();
  }
  close() {
    return this.inner.close();
  }
}

async function health(
  server: RoomServer,
): Promise<{ code: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.httpUrl}/healthz`);
  return { code: res.status, body: (await res.json()) as Record<string, unknown> };
}

const texts = (doc: Parameters<typeof readComments>[0]) => readComments(doc).map((c) => c.text);

test('injected ENOSPC: degraded with 503, the writer gets 1013 and nobody sees the edit; after space returns it converges and survives a restart', async () => {
  const dir = await tempDir();
  const disk = new FullDisk(new FileStorage({ dir }));
  const server = await startServer({ storage: disk });
  const alice = await client(server, 'full', await token('full', 'alice'));
  const bob = await client(server, 'full', await token('full', 'bob'));
  // everything Bob is ever shown must be there after the restart
  const shownToBob = new Set<string>();
  bob.doc.getArray('comments').observe(() => texts(bob.doc).forEach((t) => shownToBob.add(t)));

  addComment(alice.doc, { by: 'alice', text: 'stored' });
  await waitFor(() => texts(bob.doc).includes('stored'), 'bob sees the first comment');
  expect(await health(server)).toMatchObject({ code: 200, body: { status: 'ok' } });

  disk.full = true;
  addComment(alice.doc, { by: 'alice', text: 'written on a full disk' });
  await waitFor(() => alice.closes.includes(1013), 'alice is told to try again later');
  const h = await health(server);
  expect(h.code).toBe(503);
  expect(h.body).toMatchObject({ status: 'degraded' });
  expect(String(h.body.reason)).toContain('ENOSPC');
  // alice reconnects and resends through sync: refused again while the disk is full
  await waitFor(() => alice.closes.filter((c) => c === 1013).length >= 2, 'refused again');
  expect(shownToBob.has('written on a full disk')).toBe(false);
  expect(texts(alice.doc)).toContain('written on a full disk'); // kept for the resend

  disk.full = false;
  await waitFor(
    () => texts(bob.doc).includes('written on a full disk'),
    'bob gets the edit once it is stored',
    15_000,
  );
  await waitFor(async () => (await health(server)).code === 200, 'healthy again');
  expect(texts(bob.doc)).toEqual(texts(alice.doc));

  await server.close();
  const again = await startServer({ storage: new FileStorage({ dir }) });
  const carol = await client(again, 'full', await token('full', 'carol'));
  const after = new Set(texts(carol.doc));
  for (const t of shownToBob) expect(after.has(t)).toBe(true);
  expect([...after].sort()).toEqual(['stored', 'written on a full disk']);
});

test('temp files left by a crash are removed at start; room files are 0600 (old ones made so), the directory 0700', async () => {
  const dir = join(await tempDir(), 'rooms');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // left by a crash in the middle of a compaction
  await (await open(join(dir, 'crashed.tmp'), 'w')).close();
  // a log an older version created world-readable
  await (await open(join(dir, 'old.log'), 'w', 0o644)).close();
  await chmod(join(dir, 'old.log'), 0o644);
  const storage = new FileStorage({ dir });
  onTestFinished(() => storage.close());
  await storage.append('r1', new Uint8Array([0, 0]));
  expect((await readdir(dir)).sort()).toEqual(['old.log', 'r1.log']);
  expect((await stat(join(dir, 'old.log'))).mode & 0o777).toBe(0o600);
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
  expect((await stat(join(dir, 'r1.log'))).mode & 0o777).toBe(0o600);
  await storage.compact('r1', new Uint8Array([0, 0]));
  expect((await stat(join(dir, 'r1.snapshot'))).mode & 0o777).toBe(0o600);
  expect((await stat(join(dir, 'r1.log'))).mode & 0o777).toBe(0o600);
});

/** A 1 MB tmpfs (root only); null where mounting is not allowed. */
function smallTmpfs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('a real full disk (1 MB tmpfs): refused with 1013, no temp file left, converges once space returns, nothing shown is lost', async (ctx) => {
  const dataDir = await tempDir();
  if (!smallTmpfs(dataDir)) {
    ctx.skip(); // not root / no mount here: the injected-error test above still runs
    return;
  }
  onTestFinished(() => {
    execFileSync('umount', ['-l', dataDir], { stdio: 'ignore' });
  });
  const server = await startServer({ dataDir });
  onTestFinished(() => server.close());
  const alice = await client(server, 'tmpfs', await token('tmpfs', 'alice'));
  const bob = await client(server, 'tmpfs', await token('tmpfs', 'bob'));
  const shownToBob = new Set<string>();
  bob.doc.getArray('comments').observe(() => texts(bob.doc).forEach((t) => shownToBob.add(t)));
  addComment(alice.doc, { by: 'alice', text: 'before the disk filled' });
  await waitFor(() => texts(bob.doc).length === 1, 'first comment');

  // fill the disk
  const filler = join(dataDir, 'filler');
  const fh = await open(filler, 'w');
  try {
    for (;;) await fh.write(Buffer.alloc(4096, 1));
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await fh.close();
  }
  const big = 'x'.repeat(1900);
  for (let i = 0; i < 4; i++) addComment(alice.doc, { by: 'alice', text: `${i} ${big}` });
  await waitFor(() => alice.closes.includes(1013), 'alice is told to try again later');
  expect((await health(server)).code).toBe(503);
  // Bob was shown only what is in the log: an edit that still fitted into the log's last
  // page was written (and may be shown), the first that did not closed Alice with 1013
  const logged = new Set(loggedComments(join(dataDir, 'rooms'), 'tmpfs'));
  expect([...shownToBob].filter((t) => !logged.has(t))).toEqual([]);
  expect(texts(bob.doc).filter((t) => t.endsWith(big)).length).toBeLessThan(4);
  // a compaction on the full disk fails and takes its temp file with it
  const side = new FileStorage({ dir: join(dataDir, 'rooms') });
  await expect(side.compact('other', new Uint8Array(300_000).fill(7))).rejects.toThrow(/ENOSPC/);
  await side.close();
  expect((await readdir(join(dataDir, 'rooms'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);

  await rm(filler);
  await waitFor(() => texts(bob.doc).length === 5, 'bob converges once space is back', 15_000);
  await waitFor(async () => (await health(server)).code === 200, 'healthy again');
  expect(texts(bob.doc).sort()).toEqual(texts(alice.doc).sort());

  await server.close();
  const again = await startServer({ dataDir });
  onTestFinished(() => again.close());
  const carol = await client(again, 'tmpfs', await token('tmpfs', 'carol'));
  const after = new Set(texts(carol.doc));
  for (const t of shownToBob) expect(after.has(t)).toBe(true);
  expect(after.size).toBe(5);
  await again.close();
});
