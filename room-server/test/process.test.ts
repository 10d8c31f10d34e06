/**
 * The real entry point as `npm start` runs it (bin/start.mjs → src/main.ts) in a child
 * process: SIGTERM flushes what just arrived before the process exits.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished, test } from 'vitest';
import { addComment } from '@patungan/model';
import { client, sleep, tempDir, token, waitFor } from './helpers.ts';
import { SECRET } from './helpers.ts';
import type { RoomServer } from '../src/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function start(
  dataDir: string,
  port: number,
): Promise<{ child: ChildProcess; server: RoomServer }> {
  const child = spawn(process.execPath, ['bin/start.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      ROOM_TOKEN_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    },
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
  // the parts of RoomServer the client helper needs
  const server = { url: `ws://127.0.0.1:${port}`, httpUrl, port } as RoomServer;
  return { child, server };
}

test(
  'SIGTERM flushes every room before the process exits; the next start has the data',
  { timeout: 60_000 },
  async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    const first = await start(dataDir, port);
    const a = await client(first.server, 'sig', await token('sig', 'alice'));
    a.provider.shouldReconnect = () => false;
    addComment(a.doc, { by: 'alice', text: 'said just before the signal' });
    await sleep(5); // reaches the server, well inside the 20 ms flush window
    const exited = new Promise<number | null>((r) => first.child.once('exit', (code) => r(code)));
    first.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    a.provider.destroy();

    const second = await start(dataDir, port);
    const b = await client(second.server, 'sig', await token('sig', 'bob'));
    expect(b.doc.getArray('comments').toJSON()).toMatchObject([
      { text: 'said just before the signal' },
    ]);
    second.child.kill('SIGTERM');
  },
);
