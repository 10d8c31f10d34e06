/**
 * docs/contracts.md "Invariants": an update that any client has seen is never lost, not by a killed
 * instance. The real entry point (bin/start.mjs) runs in a child process; it is killed with
 * SIGKILL the moment another client has seen the last of a burst of edits, and restarted on the
 * same DATA_DIR (embedded mode) or the same Redis key prefix (scaled mode).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect, onTestFinished, test } from 'vitest';
import { addComment, readComments } from '@patungan/model';
import { client, tempDir, token, waitFor } from './helpers.ts';
import { startChild } from './edge-helpers.ts';
import type { RoomServer } from '../src/index.ts';

// the child's log level as before: warnings only
const start = (env: { DATA_DIR: string } & Record<string, string>) =>
  startChild({ LOG_LEVEL: 'warn', ...env }, env.DATA_DIR);
const EDITS = 40;

const exited = (child: ChildProcess) =>
  new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()),
  );

/**
 * Alice writes EDITS comments in one burst on `writeTo`; Bob (on `watchOn`) watches; the
 * moment Bob's document holds the last one, `victim` is killed with SIGKILL — synchronously,
 * inside Bob's observer, before anything else runs in this process.
 */
async function burstThenKill(
  writeTo: RoomServer,
  watchOn: RoomServer,
  victim: ChildProcess,
  roomId: string,
): Promise<void> {
  const alice = await client(writeTo, roomId, await token(roomId, 'alice'));
  const bob = await client(watchOn, roomId, await token(roomId, 'bob'));
  // neither may bring anything back after the kill: the server alone must have kept it
  alice.provider.shouldReconnect = () => false;
  bob.provider.shouldReconnect = () => false;
  const seen = bob.doc.getArray('comments');
  let killed = false;
  const dead = exited(victim);
  seen.observe(() => {
    if (!killed && seen.length >= EDITS) {
      killed = true;
      victim.kill('SIGKILL');
    }
  });
  for (let i = 0; i < EDITS; i++) addComment(alice.doc, { by: 'alice', text: `edit ${i}` });
  await waitFor(() => killed, 'bob saw every edit', 10_000);
  await dead;
  alice.provider.destroy();
  bob.provider.destroy();
  expect(seen.length).toBe(EDITS);
}

async function freshComments(server: RoomServer, roomId: string): Promise<string[]> {
  const carol = await client(server, roomId, await token(roomId, 'carol'));
  const texts = readComments(carol.doc).map((c) => c.text);
  carol.provider.destroy();
  return texts;
}

const expected = Array.from({ length: EDITS }, (_, i) => `edit ${i}`);

test(
  'embedded: edits another client has seen survive kill -9 of the room-server',
  { timeout: 60_000 },
  async () => {
    const dataDir = await tempDir();
    const first = await start({ DATA_DIR: dataDir });
    await burstThenKill(first.server, first.server, first.child, 'killed');
    const second = await start({ DATA_DIR: dataDir });
    expect((await freshComments(second.server, 'killed')).sort()).toEqual(expected.sort());
    second.child.kill('SIGTERM');
    await exited(second.child);
  },
);

test(
  'scaled: edits another client of the same instance has seen survive kill -9 of that instance',
  { timeout: 90_000 },
  async () => {
    const prefix = `durability-${randomUUID()}:`;
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await redis.connect();
    onTestFinished(async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    });
    const env = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: prefix };
    const a = await start({ ...env, DATA_DIR: await tempDir() });
    const b = await start({ ...env, DATA_DIR: await tempDir() });
    // Bob on the writer's instance: he is sent Alice's edits by that instance itself, not
    // through Redis (an instance on the far side only ever hears of what Redis already holds)
    await burstThenKill(a.server, a.server, a.child, 'killed');
    expect((await freshComments(b.server, 'killed')).sort()).toEqual(expected.sort());
    const again = await start({ ...env, DATA_DIR: await tempDir() });
    expect((await freshComments(again.server, 'killed')).sort()).toEqual(expected.sort());
    for (const p of [b, again]) {
      p.child.kill('SIGTERM');
      await exited(p.child);
    }
  },
);
