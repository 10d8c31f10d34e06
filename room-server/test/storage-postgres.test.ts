/**
 * The PostgreSQL room storage (`ROOM_STORAGE_URL`): the one storage contract over it, each
 * test in a database of its own on the local PostgreSQL (dropped afterwards), what its tables
 * hold after a compaction, and the real entry point (bin/start.mjs) storing a WebSocket
 * client's edit in PostgreSQL across a restart.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, onTestFinished, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, readComments } from '@patungan/model';
import { openDb } from '@patungan/db';
import { createPgDatabase } from '@patungan/db/testing';
import { openPostgresStorage } from '../src/storage/postgres.ts';
import type { RoomServer } from '../src/index.ts';
import { SECRET, client, sleep, startServer, tempDir, token, waitFor } from './helpers.ts';
import { storageContract } from './storage-contract.ts';

/** A fresh database, dropped when the test finishes. */
async function database(): Promise<string> {
  const pg = await createPgDatabase('room_storage');
  onTestFinished(() => pg.drop());
  return pg.url;
}

storageContract('postgres', async () => {
  const databaseUrl = await database();
  return {
    storage: await openPostgresStorage({ databaseUrl }),
    reopen: async () => openPostgresStorage({ databaseUrl }),
  };
});

describe('postgres storage specifics', () => {
  test('the appends of one turn are one insert, in order; compaction leaves one snapshot row and no updates', async () => {
    const databaseUrl = await database();
    const storage = await openPostgresStorage({ databaseUrl });
    const doc = new Y.Doc();
    const appended: Promise<void>[] = [];
    doc.on('update', (u: Uint8Array) => appended.push(storage.append('grow', u)));
    for (let i = 0; i < 30; i++) doc.getMap('lines').set(`l${i}`, i);
    expect(new Set(appended).size).toBe(1); // one batch: one promise for all 30
    await Promise.all(appended);
    const db = await openDb({ databaseUrl });
    onTestFinished(() => db.close());
    const count = async (table: string) =>
      (await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n;
    expect(await count('room_updates')).toBe(30);
    await storage.compact('grow', Y.encodeStateAsUpdate(doc));
    expect(await count('room_updates')).toBe(0);
    expect(await count('room_snapshots')).toBe(1);
    doc.getMap('lines').set('after', 'kept');
    await storage.flush('grow');
    expect(await count('room_updates')).toBe(1);
    await storage.close();
  });

  test('a second process migrating the same database finds everything applied', async () => {
    const databaseUrl = await database();
    const [a, b] = await Promise.all([
      openPostgresStorage({ databaseUrl }),
      openPostgresStorage({ databaseUrl }),
    ]);
    await a.close();
    await b.close();
  });

  test('a failed insert rejects its appends and the next flush, stores nothing, and the storage carries on', async () => {
    const databaseUrl = await database();
    const storage = await openPostgresStorage({ databaseUrl });
    const db = await openDb({ databaseUrl });
    onTestFinished(() => db.close());
    const doc = new Y.Doc();
    doc.getMap('meta').set('name', 'before');
    await storage.append('fail', Y.encodeStateAsUpdate(doc));
    // a constraint every insert of this room breaks, as a full disk or a lost table would
    await db.exec(
      "ALTER TABLE room_updates ADD CONSTRAINT no_fail CHECK (room_id <> 'fail') NOT VALID",
    );
    const before = Y.encodeStateVector(doc);
    doc.getMap('meta').set('name', 'refused');
    const refused = storage.append('fail', Y.encodeStateAsUpdate(doc, before));
    await expect(refused).rejects.toThrow(/no_fail/);
    await expect(storage.flush('fail')).rejects.toThrow(/no_fail/);
    await expect(storage.flush('fail')).resolves.toBeUndefined(); // reported once
    await db.exec('ALTER TABLE room_updates DROP CONSTRAINT no_fail');
    const loaded = new Y.Doc();
    for (const u of (await storage.load('fail')).updates) Y.applyUpdate(loaded, u);
    expect(loaded.getMap('meta').get('name')).toBe('before');
    await storage.append('fail', Y.encodeStateAsUpdate(doc));
    await storage.close();
  });

  test('another client receives an edit only once its insert committed', async () => {
    const databaseUrl = await database();
    const storage = await openPostgresStorage({ databaseUrl });
    const server = await startServer({ storage });
    const alice = await client(server, 'order', await token('order', 'alice'));
    const bob = await client(server, 'order', await token('order', 'bob'));
    // another connection holds the table: the server's inserts wait for it
    const locker = await openDb({ databaseUrl });
    onTestFinished(() => locker.close());
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const lock = locker.transaction(async (tx) => {
      await tx.query('LOCK TABLE room_updates IN EXCLUSIVE MODE');
      locked();
      await held;
    });
    await isLocked;
    let releasing = false;
    let seenBeforeCommit = false;
    bob.doc.getArray('comments').observe(() => {
      if (!releasing) seenBeforeCommit = true;
    });
    for (let i = 0; i < 3; i++) addComment(alice.doc, { by: 'alice', text: `edit ${i}` });
    await sleep(300);
    expect(readComments(bob.doc)).toEqual([]);
    releasing = true;
    release();
    await lock;
    await waitFor(() => readComments(bob.doc).length === 3, 'bob saw every edit');
    expect(seenBeforeCommit).toBe(false);
  });

  test('an unreachable database is refused with a clear error', async () => {
    await expect(
      openPostgresStorage({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' }),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

const root = fileURLToPath(new URL('..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** `npm start` with ROOM_STORAGE_URL (and a DATA_DIR of its own, to show nothing goes there). */
async function start(
  databaseUrl: string,
  dataDir: string,
  port: number,
): Promise<{ child: ChildProcess; server: RoomServer }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DATA_DIR: dataDir,
    ROOM_STORAGE_URL: databaseUrl,
    ROOM_TOKEN_SECRET: SECRET,
    LOG_LEVEL: 'warn',
  };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ['bin/start.mjs'], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      try {
        return (await fetch(`${httpUrl}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    'server up',
    20_000,
  );
  return { child, server: { url: `ws://127.0.0.1:${port}`, httpUrl, port } as RoomServer };
}

test(
  'a room-server with ROOM_STORAGE_URL keeps a client edit in PostgreSQL across a restart',
  { timeout: 60_000 },
  async () => {
    const databaseUrl = await database();
    const dataDir = await tempDir();
    const port = await freePort();
    const first = await start(databaseUrl, dataDir, port);
    const a = await client(first.server, 'pgroom', await token('pgroom', 'alice'));
    a.provider.shouldReconnect = () => false;
    addComment(a.doc, { by: 'alice', text: 'stored in postgres' });
    const db = await openDb({ databaseUrl });
    onTestFinished(() => db.close());
    // durable before broadcast: the row is there while the server still runs
    await waitFor(
      async () =>
        (
          await db.query<{ n: number }>(
            "SELECT count(*) AS n FROM room_updates WHERE room_id = 'pgroom'",
          )
        )[0]?.n !== 0,
      'update row',
      5000,
    );
    const exited = new Promise<number | null>((r) => first.child.once('exit', (code) => r(code)));
    first.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    a.provider.destroy();

    const second = await start(databaseUrl, await tempDir(), port);
    const b = await client(second.server, 'pgroom', await token('pgroom', 'bob'));
    expect(b.doc.getArray('comments').toJSON()).toMatchObject([{ text: 'stored in postgres' }]);
    b.provider.destroy();
    const stopped = new Promise<number | null>((r) => second.child.once('exit', (code) => r(code)));
    second.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
  },
);
