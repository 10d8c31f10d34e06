/**
 * The thin shell around the room core: a Node http server with the `ws` adapter, token checks
 * at the upgrade, the HTTP routes (healthz, metrics, finalise, settlement), liveness pings,
 * backpressure and graceful shutdown.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { TokenError, isRoomId, verifyRoomToken } from '@patungan/model';
import { Connection } from './connection.ts';
import { HttpError } from './errors.ts';
import type { RoomExtension } from './hooks.ts';
import { Stats, createMetrics } from './metrics.ts';
import { CLOSE } from './protocol.ts';
import type { Room, RoomLimits } from './room.ts';
import { Rooms } from './rooms.ts';
import { SettlementPutSchema, applySettlementPut, finalise } from './settlement.ts';
import type { SettlementClientOptions } from './settlement.ts';
import { FileStorage } from './storage/file.ts';
import { MemoryStorage } from './storage/memory.ts';
import type { RoomStorage } from './storage/types.ts';
import type { Principal } from './write-rules.ts';
import { acceptWebSocket } from './websocket.ts';
import type { WsConnection, WsEvents, WsOptions } from './websocket.ts';

export interface ServerLimits extends RoomLimits {
  /** Largest WebSocket message accepted; larger ones close the connection with 1009. */
  maxMessageBytes: number;
  /** A connection whose unsent data passes this is closed with 1013 (it reconnects and resyncs). */
  maxBufferedBytes: number;
  /** Largest HTTP request body. */
  maxBodyBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxMessageBytes: 2 * 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxBodyBytes: 256 * 1024,
  messagesPerSecond: 50,
  messageBurst: 200,
  compactBytes: 512 * 1024,
};

export interface RoomServerOptions {
  /** TCP port; 0 picks a free one (default 1234). */
  port?: number;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** ROOM_TOKEN_SECRET: HS256 secret of join tokens. */
  secret: string;
  /** Embedded storage under `<dataDir>/rooms` (ignored when `storage` is given). */
  dataDir?: string;
  /** Where rooms are stored (default: files under dataDir, else in memory). */
  storage?: RoomStorage;
  /** Settlement API base URL (default http://127.0.0.1:4000). */
  settlementUrl?: string;
  settlement?: Partial<Omit<SettlementClientOptions, 'url' | 'secret' | 'log'>>;
  extensions?: RoomExtension[];
  limits?: Partial<ServerLimits>;
  /** How long a room without clients stays in memory (default 30 s). */
  unloadDelayMs?: number;
  /** Ping period; a peer that missed one pong by the next ping is dropped (default 30 s). */
  pingIntervalMs?: number;
  /** How long a closing connection may take before it is cut (default 5 s). */
  closeTimeoutMs?: number;
  /** Flush period of the embedded file storage (default 20 ms). */
  flushIntervalMs?: number;
  /** Room logs the embedded file storage keeps open (default 1024). */
  maxOpenFiles?: number;
  logLevel?: string;
  logger?: Logger;
}

export interface RoomServer {
  /** `ws://host:port` — pass to `new WebsocketProvider(url, roomId, doc, { params: { token } })`. */
  url: string;
  /** `http://host:port` */
  httpUrl: string;
  port: number;
  rooms: Rooms;
  /** Stops accepting, closes every socket with 1001, flushes every room. */
  close(): Promise<void>;
}

// Not a closure on purpose: a listener created inside the upgrade handler would keep that
// handler's whole scope (the request, its headers, the head buffer) alive as long as the
// socket lives — about 1.5 KB per connection.
function destroyOnError(this: Duplex): void {
  this.destroy();
}

const ROOM_PATH = /^\/([^/?]+)$/;

export async function startRoomServer(opts: RoomServerOptions): Promise<RoomServer> {
  const log =
    opts.logger ?? pino({ level: opts.logLevel ?? 'info', base: { service: 'room-server' } });
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const stats = new Stats();
  const metrics = createMetrics(stats);
  const extensions = opts.extensions ?? [];
  for (const ext of extensions) ext.registerMetrics?.(metrics.registry);
  const storage =
    opts.storage ??
    (opts.dataDir
      ? new FileStorage({
          dir: join(opts.dataDir, 'rooms'),
          flushIntervalMs: opts.flushIntervalMs ?? 20,
          maxOpenFiles: opts.maxOpenFiles ?? 1024,
          onError: (err, roomId) => log.error({ err, roomId }, 'storage write failed'),
        })
      : new MemoryStorage());
  const persist = !extensions.some((e) => e.persistsUpdates);
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
  const rooms = new Rooms(
    {
      log,
      stats,
      extensions,
      storage,
      persist,
      limits,
      observePersist: (op, s) => metrics.persistSeconds.observe({ op }, s),
    },
    { unloadDelayMs: opts.unloadDelayMs ?? 30_000 },
  );
  const settlementOpts: SettlementClientOptions = {
    url: opts.settlementUrl ?? 'http://127.0.0.1:4000',
    secret: opts.secret,
    retries: 3,
    retryDelayMs: 200,
    timeoutMs: 10_000,
    ...opts.settlement,
    log,
  };
  const authenticate =
    extensions
      .find((e) => e.authenticate)
      ?.authenticate?.bind(extensions.find((e) => e.authenticate)) ??
    (async ({ roomId, token }: { roomId: string; token: string | null }): Promise<Principal> => {
      const c = await verifyRoomToken(token, opts.secret, roomId);
      return { id: c.sub, role: c.role, name: c.name };
    });

  const sockets = new Set<WsConnection>();
  let closing = false;

  // Shared handlers for every connection (no closures per socket).
  const events: WsEvents = {
    message(c, data) {
      if (c.room) c.room.receive(c.conn!, data);
      else (c.early ??= []).push(data);
    },
    text(c) {
      stats.countClose(CLOSE.unsupportedData);
      c.conn?.close(CLOSE.unsupportedData, 'binary frames only');
    },
    protocolError(c, code, reason) {
      if (c.conn) c.conn.closed = true;
      stats.countClose(code);
      log.warn(
        { roomId: c.conn?.roomId, memberId: c.conn?.principal.id, code, err: reason },
        'bad frame, connection closed',
      );
    },
    slow(c, buffered) {
      // A slow consumer: close it rather than buffer without bound. It reconnects and
      // resyncs; the others are not held back.
      if (c.conn) c.conn.closed = true;
      stats.countClose(CLOSE.tryAgainLater);
      log.warn(
        { roomId: c.conn?.roomId, memberId: c.conn?.principal.id, buffered },
        'closing a slow connection',
      );
    },
    closed(c) {
      if (!sockets.delete(c)) return;
      stats.connections--;
      const conn = c.conn;
      if (!conn) return;
      if (c.room) c.room.disconnect(conn);
      else conn.closed = true;
      c.room = null;
      c.early = null;
    },
  };
  const wsOptions: WsOptions = {
    maxPayload: limits.maxMessageBytes,
    maxBufferedBytes: limits.maxBufferedBytes,
    closeTimeoutMs,
    events,
  };

  function accept(ws: WsConnection, roomId: string, who: Principal): void {
    sockets.add(ws);
    stats.connections++;
    const conn = new Connection(roomId, who, ws, limits.messageBurst);
    ws.conn = conn;
    rooms.acquire(roomId).then(
      (room) => {
        if (conn.closed) return; // gone while the room loaded; it unloads in due course
        ws.room = room;
        room.connect(conn);
        const early = ws.early;
        ws.early = null;
        if (early) for (const d of early) room.receive(conn, d);
      },
      (err: unknown) => {
        log.error({ roomId, err }, 'room could not be loaded');
        stats.countClose(CLOSE.tryAgainLater);
        conn.close(CLOSE.tryAgainLater, 'room not available, try again');
      },
    );
  }

  function refuseUpgrade(socket: Duplex, status: number, message: string): void {
    const body = JSON.stringify({
      error: { code: status === 401 ? 'unauthorized' : 'forbidden', message },
    });
    const text =
      status === 401
        ? 'Unauthorized'
        : status === 403
          ? 'Forbidden'
          : status === 503
            ? 'Service Unavailable'
            : status === 404
              ? 'Not Found'
              : 'Bad Request';
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  const http = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      const e =
        err instanceof HttpError
          ? err
          : err instanceof TokenError
            ? new HttpError(err.status, err.code, err.message)
            : null;
      if (!e) log.error({ err, url: req.url }, 'request failed');
      sendJson(
        res,
        e?.status ?? 500,
        e ?? { error: { code: 'internal', message: 'Internal Error' } },
      );
    });
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    const url = new URL(req.url ?? '/', 'http://x');
    const m = ROOM_PATH.exec(url.pathname);
    const roomId = m ? decodeURIComponent(m[1]!) : '';
    if (closing) return refuseUpgrade(socket, 503, 'server shutting down');
    if (!isRoomId(roomId)) return refuseUpgrade(socket, 404, 'no such room path');
    authenticate({ roomId, token: url.searchParams.get('token'), headers: req.headers }).then(
      (who) => {
        if (closing) return refuseUpgrade(socket, 503, 'server shutting down');
        if (socket.destroyed) return;
        // the connection's own listeners take over: one listener less per socket
        socket.off('error', destroyOnError);
        const ws = acceptWebSocket(req, socket, head, wsOptions);
        if (ws) accept(ws, roomId, who);
      },
      (err: unknown) => {
        const status = err instanceof TokenError ? err.status : 401;
        log.info({ roomId, reason: (err as Error).message }, 'upgrade refused');
        refuseUpgrade(socket, status, (err as Error).message);
      },
    );
  });

  async function bearer(req: IncomingMessage, roomId: string): Promise<Principal> {
    const h = req.headers.authorization;
    const token = h?.startsWith('Bearer ') ? h.slice(7) : null;
    const c = await verifyRoomToken(token, opts.secret, roomId);
    return { id: c.sub, role: c.role, name: c.name };
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).byteLength;
      if (size > limits.maxBodyBytes)
        throw new HttpError(413, 'too_large', 'request body too large');
      chunks.push(chunk as Buffer);
    }
    if (size === 0) return {};
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
    }
  }

  /** Runs `fn` on a loaded room, keeping it loaded meanwhile. */
  async function withRoom<T>(roomId: string, fn: (room: Room) => Promise<T>): Promise<T> {
    let room: Room;
    try {
      room = await rooms.acquire(roomId);
    } catch (err) {
      log.error({ roomId, err }, 'room could not be loaded');
      throw new HttpError(
        503,
        'room_unavailable',
        'the room cannot be loaded right now, try again',
      );
    }
    room.hold();
    try {
      return await fn(room);
    } finally {
      room.release();
    }
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/healthz') {
      let status: 'ok' | 'degraded' = closing ? 'degraded' : 'ok';
      const extra: Record<string, unknown> = {};
      for (const ext of extensions) {
        const h = ext.health?.();
        if (!h) continue;
        if (h.status === 'degraded') status = 'degraded';
        extra[ext.name ?? 'extension'] = h;
      }
      return sendJson(res, 200, {
        status,
        rooms: rooms.size,
        connections: stats.connections,
        ...extra,
      });
    }
    if (req.method === 'GET' && path === '/metrics') {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(body);
      return;
    }
    const m = /^\/rooms\/([^/]+)\/(finalise|settlement)$/.exec(path);
    if (m) {
      const roomId = decodeURIComponent(m[1]!);
      if (!isRoomId(roomId)) throw new HttpError(404, 'not_found', 'no such room');
      if (closing) throw new HttpError(503, 'shutting_down', 'server shutting down, try again');
      if (m[2] === 'finalise' && req.method === 'POST') {
        const who = await bearer(req, roomId);
        if (who.role !== 'organiser' && who.role !== 'service') {
          throw new HttpError(403, 'forbidden', "only the room's organiser can finalise it");
        }
        const body = (await readJson(req)) as { storeId?: unknown };
        if (body.storeId !== undefined && (typeof body.storeId !== 'string' || !body.storeId)) {
          throw new HttpError(422, 'invalid', 'storeId must be a non-empty string');
        }
        const input = typeof body.storeId === 'string' ? { storeId: body.storeId } : {};
        const r = await withRoom(roomId, (room) => finalise(room, who, input, settlementOpts));
        return sendJson(res, r.status, r.body);
      }
      if (m[2] === 'settlement' && req.method === 'PUT') {
        const who = await bearer(req, roomId);
        if (who.role !== 'service') throw new HttpError(403, 'forbidden', 'service token required');
        const parsed = SettlementPutSchema.safeParse(await readJson(req));
        if (!parsed.success) {
          throw new HttpError(422, 'invalid', 'invalid settlement body', parsed.error.issues);
        }
        const r = await withRoom(roomId, (room) => applySettlementPut(room, parsed.data));
        log.info({ roomId, settlementId: parsed.data.settlement.id, ...r }, 'settlement status');
        return sendJson(res, 200, r);
      }
      throw new HttpError(405, 'method_not_allowed', 'method not allowed');
    }
    throw new HttpError(404, 'not_found', 'not found');
  }

  const pingTimer = setInterval(() => {
    for (const ws of sockets) {
      if (!ws.alive) {
        stats.countClose(1006);
        ws.terminate();
        continue;
      }
      ws.alive = false;
      ws.ping();
    }
  }, opts.pingIntervalMs ?? 30_000);
  pingTimer.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 1234, opts.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 1234);
  const host = opts.host ?? '127.0.0.1';
  const hostForUrl = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  log.info({ port, host }, 'room-server listening');

  let closed: Promise<void> | null = null;
  async function close(): Promise<void> {
    closing = true;
    clearInterval(pingTimer);
    const stopped = new Promise<void>((r) => http.close(() => r()));
    // Close every socket with 1001 and wait for them (bounded): updates still arriving during
    // the close handshake are applied and stored before the flush below.
    await Promise.all(
      [...sockets].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.socket.destroyed) return resolve();
            ws.socket.once('close', () => resolve());
            if (ws.conn) ws.conn.closed = true;
            ws.close(CLOSE.goingAway, 'server shutting down');
          }),
      ),
    );
    await rooms.closeAll();
    await storage.close();
    for (const ext of extensions) await ext.close?.();
    http.closeAllConnections();
    await stopped;
    metrics.close();
    log.info('room-server stopped');
  }

  return {
    url: `ws://${hostForUrl}:${port}`,
    httpUrl: `http://${hostForUrl}:${port}`,
    port,
    rooms,
    close: () => (closed ??= close()),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
