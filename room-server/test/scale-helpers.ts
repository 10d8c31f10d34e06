/**
 * Helpers for the scaled-mode tests: an isolated key prefix on the machine's Redis, a private
 * redis-server (for tests that stop Redis), polling until a condition holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import * as decoding from 'lib0/decoding';
import WebSocket from 'ws';
import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { canonicalJson, signToken, type Role } from '@patungan/model';

// The stock client adds a process 'exit' listener per provider (removed on destroy); these
// tests run dozens of stock clients in one process.
process.setMaxListeners(Math.max(process.getMaxListeners(), 100));

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/11';

export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under a prefix (SCAN, not KEYS). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true });
  await r.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own on a free port, without persistence; stop/start by PID. */
export class PrivateRedis {
  #child: ChildProcess | null = null;
  constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.#child = child;
    await waitFor(async () => {
      const r = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    }, 10_000);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`timeout reached while waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Deterministic PRNG (mulberry32) for seeded random edits. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stock y-websocket client (the package unmodified) over the `ws` package. */
export interface StockClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  url: string;
  /** Reconnects the same document through another server (what a balancer does). */
  moveTo(url: string): void;
  destroy(): void;
}

export function stockClient(
  url: string,
  roomId: string,
  token: string,
  opts: { doc?: Y.Doc; awareness?: Record<string, unknown> } = {},
): StockClient {
  const doc = opts.doc ?? new Y.Doc();
  const make = (u: string) => {
    const p = new WebsocketProvider(u, roomId, doc, {
      params: { token },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      maxBackoffTime: 250,
    });
    if (opts.awareness) p.awareness.setLocalState(opts.awareness);
    return p;
  };
  const c: StockClient = {
    doc,
    url,
    provider: make(url),
    moveTo(u) {
      const state = c.provider.awareness.getLocalState();
      c.provider.destroy();
      c.url = u;
      c.provider = make(u);
      if (state) c.provider.awareness.setLocalState(state);
    },
    destroy() {
      c.provider.destroy();
      doc.destroy();
    },
  };
  return c;
}

export function whenSynced(p: WebsocketProvider, timeoutMs = 10_000): Promise<void> {
  if (p.synced) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error('timeout reached while waiting for sync')),
      timeoutMs,
    );
    const on = (s: boolean) => {
      if (!s) return;
      clearTimeout(t);
      p.off('sync', on);
      resolve();
    };
    p.on('sync', on);
  });
}

/** The room document as canonical JSON (key order differs between replicas of a Y.Map). */
export function roomJson(doc: Y.Doc): string {
  return canonicalJson({
    meta: doc.getMap('meta').toJSON(),
    members: doc.getMap('members').toJSON(),
    lines: doc.getMap('lines').toJSON(),
    votes: doc.getMap('votes').toJSON(),
    comments: doc.getArray('comments').toJSON(),
    settlement: doc.getMap('settlement').toJSON(),
  });
}

export function memberToken(
  secret: string,
  roomId: string,
  sub: string,
  role: Role = 'member',
): Promise<string> {
  return signToken({ sub, room: roomId, name: sub, role }, secret);
}

/**
 * A raw protocol client that only listens: it tracks the presence (awareness) a server
 * reports for a room, exactly as the server holds it, and never sends any awareness itself.
 */
export interface PresenceWatcher {
  has(clientId: number): boolean;
  close(): void;
}

export async function presenceWatcher(
  url: string,
  roomId: string,
  token: string,
): Promise<PresenceWatcher> {
  const awareness = new Awareness(new Y.Doc());
  awareness.setLocalState(null);
  const ws = new WebSocket(`${url}/${roomId}?token=${encodeURIComponent(token)}`);
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: Buffer) => {
    const d = decoding.createDecoder(new Uint8Array(data));
    if (decoding.readVarUint(d) !== 1) return; // awareness only
    applyAwarenessUpdate(awareness, decoding.readVarUint8Array(d), 'server');
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    has: (id) => awareness.getStates().has(id),
    close() {
      ws.terminate();
      awareness.destroy();
    },
  };
}
