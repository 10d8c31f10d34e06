/**
 * Helpers of the edge tests: the real entry point (`bin/start.mjs`, as `npm start` runs it) in a
 * child process whose JSON log lines are collected, and raw HTTP over a net socket (bytes the
 * `fetch` and `ws` clients would refuse to send).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { SECRET, tempDir, waitFor } from './helpers.ts';
import type { RoomServer } from '../src/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface ChildServer {
  child: ChildProcess;
  /** The parts of RoomServer the client helpers need. */
  server: RoomServer;
  port: number;
  /** Parsed JSON log lines written so far. */
  logs: Record<string, unknown>[];
  /** Whether the process is still running. */
  alive(): boolean;
}

/**
 * Starts `node bin/start.mjs` on `port` (a free one unless given, e.g. to restart where a killed
 * one ran) with its own DATA_DIR unless given; `env` overrides the rest. Killed when the test ends.
 */
export async function startChild(
  env: Record<string, string> = {},
  dataDir?: string,
  port?: number,
): Promise<ChildServer> {
  port ??= await freePort();
  const child = spawn(process.execPath, ['bin/start.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir ?? (await tempDir()),
      ROOM_TOKEN_SECRET: SECRET,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs: Record<string, unknown>[] = [];
  let rest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    rest += s;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ text: line });
      }
    }
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const httpUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (!alive()) throw new Error('room-server exited during start');
      try {
        return (await fetch(`${httpUrl}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    'server up',
    45_000,
  );
  const server = { url: `ws://127.0.0.1:${port}`, httpUrl, port } as RoomServer;
  return { child, server, port, logs, alive };
}

export interface RawAnswer {
  /** Status of the first response line, or null when the server closed without answering. */
  status: number | null;
  text: string;
}

/**
 * Sends `bytes` on a fresh TCP connection, half-closes it (unless `halfClose` is false: a
 * server may drop an upgrade whose client has already closed its side) and collects what
 * comes back until the server closes (or `timeoutMs`, then the socket is destroyed).
 */
export function rawRequest(
  port: number,
  bytes: string | Uint8Array,
  timeoutMs = 2000,
  halfClose = true,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect({ port, host: '127.0.0.1' });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text });
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      // an accepted WebSocket stays open: the status line is all we need
      if (/^HTTP\/1\.1 101 /.test(text)) return finish();
      // a whole response with a body length (the connection may be kept alive)
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(text.slice(0, end + 2));
      if (end >= 0 && length && text.length - end - 4 >= Number(length[1])) finish();
    });
    s.on('error', finish);
    s.on('close', finish);
    s.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, () => {
      if (halfClose) s.end();
    });
  });
}

/** A syntactically valid WebSocket upgrade request for `target`. */
export function upgradeRequest(target: string, extra = ''): string {
  return (
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

export { root as roomServerRoot };
