/**
 * The real entry point as `npm start` runs it (bin/start.mjs → src/main.ts) in a child
 * process: SIGTERM flushes what just arrived before the process exits.
 */
import { expect, test } from 'vitest';
import { addComment } from '@patungan/model';
import { client, sleep, tempDir, token } from './helpers.ts';
import { freePort, startChild } from './edge-helpers.ts';

const start = (dataDir: string, port: number) => startChild({ LOG_LEVEL: 'warn' }, dataDir, port);

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
