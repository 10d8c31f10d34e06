/**
 * Helpers of the leaving / removal and deadline tests: several room-servers on the machine's
 * Redis under one isolated prefix, a settlement stand-in that counts `POST /settlements`, and
 * raw WebSocket probes that report a close code or an upgrade refusal.
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startRoomServer, type RoomServer } from '../src/index.ts';
import { RedisScale } from '../src/scale/index.ts';
import { REDIS_URL, dropPrefix, uniquePrefix } from './scale-helpers.ts';

export interface Node {
  server: RoomServer;
  scale: RedisScale;
}

/** `n` instances on Redis (one prefix); `cleanup` receives what to undo, in order. */
export async function redisInstances(
  n: number,
  secret: string,
  cleanup: (fn: () => Promise<unknown>) => void,
  extra: { settlementUrl?: string; deadlineScanMs?: number } = {},
): Promise<Node[]> {
  const prefix = uniquePrefix('lifecycle');
  cleanup(() => dropPrefix(REDIS_URL, prefix));
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const o = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    const scale = new RedisScale({
      redis: new Redis(REDIS_URL, o),
      subscriber: new Redis(REDIS_URL, o),
      prefix,
      instanceId: `n${i}`,
      seqCheckMs: 200,
      ownsClients: true,
      logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    });
    if (!(await scale.ready())) throw new Error('redis not ready');
    const server = await startRoomServer({
      port: 0,
      secret,
      logLevel: process.env.LOG_LEVEL ?? 'silent',
      unloadDelayMs: 300,
      storage: scale.storage,
      bus: scale,
      settlement: { retryDelayMs: 10, timeoutMs: 2000 },
      ...extra,
    });
    cleanup(() => server.close());
    nodes.push({ server, scale });
  }
  return nodes;
}

/** A settlement stand-in answering `POST /settlements` like the contract; counts the calls. */
export async function settlementStandIn(
  cleanup: (fn: () => Promise<unknown>) => void,
  /** Rooms whose cart it refuses as settlement does when a store is short (409). */
  short: ReadonlySet<string> = new Set(),
): Promise<{ url: string; posts: { key: string; roomId: string }[] }> {
  const posts: { key: string; roomId: string }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || req.url !== '/settlements') {
        res.writeHead(404).end(JSON.stringify({ error: { code: 'not_found', message: 'no' } }));
        return;
      }
      const body = JSON.parse(raw) as {
        roomId: string;
        currency: string;
        members: { id: string; method: string }[];
      };
      const key = String(req.headers['idempotency-key']);
      posts.push({ key, roomId: body.roomId });
      if (short.has(body.roomId)) {
        res.writeHead(409).end(
          JSON.stringify({
            error: {
              code: 'insufficient_stock',
              message: 'short',
              details: {
                storeId: 'toko-bdg',
                storeName: 'Toko Bandung',
                short: [{ sku: 'teh-botol', name: 'Teh Botol', wanted: 1, available: 0 }],
              },
            },
          }),
        );
        return;
      }
      res.writeHead(201).end(
        JSON.stringify({
          id: `s_${posts.length}`,
          status: 'awaiting_payment',
          holdExpiresAt: new Date(Date.now() + 900_000).toISOString(),
          total: 1000 * body.members.length,
          payments: body.members.map((m, i) => ({
            memberId: m.id,
            paymentId: `p_${posts.length}_${i}`,
            amount: 1000,
            currency: body.currency,
            method: m.method,
            status: 'pending',
          })),
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, posts };
}

/** A raw connection; `closed` resolves with the close code the server sent. */
export async function rawConnection(
  url: string,
  roomId: string,
  token: string,
): Promise<{ closed: Promise<number>; ws: WebSocket }> {
  const ws = new WebSocket(`${url}/${roomId}?token=${encodeURIComponent(token)}`);
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { closed, ws };
}

/** The HTTP status of a refused upgrade, or 101 when a WebSocket opened (then closed). */
export function upgradeStatus(url: string, roomId: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/${roomId}?token=${encodeURIComponent(token)}`);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', () => {});
  });
}
