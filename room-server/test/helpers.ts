/**
 * Test helpers: a real room-server on port 0 (stopped when the test ends), join tokens, stock
 * y-websocket clients over the `ws` package, raw protocol clients, and polling.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { WebsocketProvider } from 'y-websocket';
import { readAuthMessage } from 'y-protocols/auth';
import { canonicalJson, signToken } from '@patungan/model';
import type { Role } from '@patungan/model';
import { startRoomServer } from '../src/index.ts';
import type { RoomServer, RoomServerOptions } from '../src/index.ts';

// The stock client adds a process 'exit' listener per provider (removed on destroy); these
// tests run dozens of stock clients in one process.
process.setMaxListeners(Math.max(process.getMaxListeners(), 100));

export const SECRET = 'test-secret-room-server-0123456789';

export async function startServer(opts: Partial<RoomServerOptions> = {}): Promise<RoomServer> {
  const server = await startRoomServer({
    port: 0,
    secret: SECRET,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    unloadDelayMs: 200,
    ...opts,
  });
  onTestFinished(() => server.close());
  return server;
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'room-server-test-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function token(
  roomId: string,
  sub: string,
  role: Role = 'member',
  extra: { exp?: number; secret?: string } = {},
): Promise<string> {
  return signToken(
    { sub, room: roomId, name: sub, role, ...(extra.exp ? { exp: extra.exp } : {}) },
    extra.secret ?? SECRET,
  );
}

export interface Client {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Reasons of permission-denied messages received. */
  denied: string[];
  /** Close codes the server sent. */
  closes: number[];
}

/** A stock y-websocket client (the package unmodified; we only listen to its auth messages). */
export async function client(
  server: RoomServer,
  roomId: string,
  tok: string,
  opts: { doc?: Y.Doc; connect?: boolean; sync?: boolean } = {},
): Promise<Client> {
  const doc = opts.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(server.url, roomId, doc, {
    params: { token: tok },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    connect: opts.connect ?? true,
    maxBackoffTime: 200,
  });
  const c: Client = { doc, provider, denied: [], closes: [] };
  provider.messageHandlers[2] = (_enc, dec) => {
    readAuthMessage(dec, doc, (_d, reason) => c.denied.push(reason));
  };
  provider.on('connection-close', (e) => {
    if (e) c.closes.push(e.code);
  });
  onTestFinished(() => {
    provider.destroy();
    doc.destroy();
  });
  if (opts.sync !== false && (opts.connect ?? true)) await synced(provider);
  return c;
}

export function synced(provider: WebsocketProvider, timeoutMs = 5000): Promise<void> {
  if (provider.synced) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('client did not sync')), timeoutMs);
    provider.once('sync', (s: boolean) => {
      if (s) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 5000,
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Raw protocol client: sends bytes, collects frames and the close code. */
export interface RawClient {
  ws: WebSocket;
  messages: Uint8Array[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
}

export function rawClient(server: RoomServer, roomId: string, tok: string | null): RawClient {
  const q = tok === null ? '' : `?token=${encodeURIComponent(tok)}`;
  const ws = new WebSocket(`${server.url}/${roomId}${q}`, { perMessageDeflate: false });
  const messages: Uint8Array[] = [];
  ws.on('message', (d: Buffer) => messages.push(new Uint8Array(d)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  onTestFinished(() => ws.terminate());
  return { ws, messages, closed, opened };
}

/** Answer of an upgrade attempt: the HTTP status, or 101 when a socket opened. */
export function upgradeStatus(server: RoomServer, path: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.url}${path}`);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

export function syncUpdateFrame(update: Uint8Array, sub = 2): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, sub);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

/** Applies every sync update / step 2 frame in `messages` to `doc`. */
export function applyFrames(doc: Y.Doc, messages: Uint8Array[]): void {
  for (const m of messages) {
    const d = decoding.createDecoder(m);
    if (decoding.readVarUint(d) !== 0) continue;
    const sub = decoding.readVarUint(d);
    if (sub === 1 || sub === 2) Y.applyUpdate(doc, decoding.readVarUint8Array(d));
  }
}

/** The room document as JSON with sorted keys: equal documents give equal strings. */
export const canonical = (doc: Y.Doc): string => canonicalJson(json(doc));

/** Waits until every client's document is the same as the first's. */
export async function settled(...clients: Client[]): Promise<void> {
  const [first, ...rest] = clients;
  await waitFor(() => rest.every((c) => canonical(c.doc) === canonical(first!.doc)), 'convergence');
}

export const json = (doc: Y.Doc) => ({
  meta: doc.getMap('meta').toJSON(),
  members: doc.getMap('members').toJSON(),
  lines: doc.getMap('lines').toJSON(),
  votes: doc.getMap('votes').toJSON(),
  comments: doc.getArray('comments').toJSON(),
  settlement: doc.getMap('settlement').toJSON(),
});
