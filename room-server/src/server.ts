/**
 * The thin shell around the room core: a Node http server with the `ws` adapter, token checks
 * at the upgrade, the HTTP routes (healthz, metrics, finalise, settlement), liveness pings,
 * backpressure and graceful shutdown.
 */
import { STATUS_CODES, createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { TokenError, isRoomId, verifyRoomToken } from '@patungan/model';
import { Connection, ConnectionCaps, clientAddress, trustedProxies } from './connection.ts';
import type { Transport } from './connection.ts';
import { HttpError } from './errors.ts';
import type { RoomExtension } from './hooks.ts';
import { Stats, createMetrics, metricsAccess } from './metrics.ts';
import { CLOSE } from './protocol.ts';
import type { Room, RoomLimits } from './room.ts';
import { Rooms } from './rooms.ts';
import { finalise } from './settlement/finalise.ts';
import { SettlementPutSchema, applySettlementPut } from './settlement/status.ts';
import type { SettlementClientOptions } from './settlement/finalise.ts';
import { FileStorage } from './storage/file.ts';
import { MemoryStorage } from './storage/memory.ts';
import type { RoomStorage } from './storage/types.ts';
import type { Principal } from './write-rules.ts';

export interface ServerLimits extends RoomLimits {
  /** Largest WebSocket message accepted; larger ones close the connection with 1009. */
  maxMessageBytes: number;
  /** A connection whose unsent data passes this is closed with 1013 (it reconnects and resyncs). */
  maxBufferedBytes: number;
  /** Largest HTTP request body. */
  maxBodyBytes: number;
  /** Live connections per member per room; the next upgrade gets 429 (0 = no cap). */
  maxConnectionsPerMember: number;
  /** Live connections (and pending upgrades) per client address; the next gets 429 (0 = no cap). */
  maxConnectionsPerIp: number;
  /**
   * Whether loopback clients count per address. Off by default: behind a reverse proxy on the
   * same host every client is 127.0.0.1, and the benchmarks connect from there.
   */
  countLoopbackPerIp: boolean;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxMessageBytes: 2 * 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxBodyBytes: 256 * 1024,
  messagesPerSecond: 50,
  messageBurst: 200,
  compactBytes: 512 * 1024,
  maxConnectionsPerMember: 8,
  maxConnectionsPerIp: 1000,
  countLoopbackPerIp: false,
};

/** Retry-After (seconds) of a 429 at the upgrade. */
const CAP_RETRY_AFTER_S = 10;

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
  /**
   * Ignored since decision 0005: the embedded file storage writes the appends of each
   * event-loop turn at its end, before they are broadcast (was: a 20 ms flush period).
   */
  flushIntervalMs?: number;
  /** Room logs the embedded file storage keeps open (default 1024). */
  maxOpenFiles?: number;
  /**
   * METRICS_TOKEN: when set, `/metrics` needs `Authorization: Bearer <metricsToken>` from any
   * client; unset, `/metrics` is served to loopback clients only.
   */
  metricsToken?: string;
  /**
   * TRUSTED_PROXIES: addresses / subnets of reverse proxies in front of this server; for an
   * upgrade through one of them the client address (the per-address cap) is taken from
   * `X-Forwarded-For`. Unset: the socket's peer address.
   */
  trustedProxies?: string[];
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

/** Options of every send: binary, one frame, never compressed (no per-call defaults). */
const SEND_OPTIONS = { binary: true, compress: false, fin: true } as const;

/**
 * What the `ws` library object carries for us, and the core's `Transport` for its
 * connection: one object per socket on top of what `ws` keeps (a server holds ~20k).
 */
class RoomSocket extends WebSocket implements Transport {
  conn: Connection | null = null;
  room: Room | null = null;
  early: Buffer[] | null = null;
  alive = true;
  shell: Shell | null = null;
  /** The client-address key this socket holds a slot under (null: not counted). */
  address: string | null = null;

  override send(message: Uint8Array): void {
    const shell = this.shell!;
    if (this.readyState !== WebSocket.OPEN) return;
    if (this.bufferedAmount > shell.limits.maxBufferedBytes) {
      // A slow consumer: close it rather than buffer without bound. It reconnects and
      // resyncs; the others are not held back.
      shell.stats.countClose(CLOSE.tryAgainLater);
      shell.log.warn(
        {
          roomId: this.conn?.roomId,
          memberId: this.conn?.principal.id,
          buffered: this.bufferedAmount,
        },
        'closing a slow connection',
      );
      if (this.conn) this.conn.closed = true;
      this.close(CLOSE.tryAgainLater, 'too slow, reconnect');
      return;
    }
    super.send(message, SEND_OPTIONS);
  }

  /** Closes with a close frame, and without waiting more than `closeTimeoutMs` for the peer. */
  override close(code?: number, reason?: string | Buffer): void {
    super.close(code, reason);
    setTimeout(terminate, this.shell?.closeTimeoutMs ?? 5000, this).unref();
  }
}

function terminate(ws: WebSocket): void {
  ws.terminate();
}

interface Shell {
  limits: ServerLimits;
  stats: Stats;
  log: Logger;
  closeTimeoutMs: number;
}

// Shared listeners (`this` is the socket): no closures per connection.
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const ws = this as RoomSocket;
  ws.alive = true;
  if (!isBinary) {
    ws.shell?.stats.countClose(CLOSE.unsupportedData);
    ws.conn?.close(CLOSE.unsupportedData, 'binary frames only');
    return;
  }
  if (ws.room) ws.room.receive(ws.conn!, data);
  else (ws.early ??= []).push(data);
}

function onPong(this: WebSocket): void {
  (this as RoomSocket).alive = true;
}

// Not a closure on purpose: a listener created inside the upgrade handler would keep that
// handler's whole scope (the request, its headers, the head buffer) alive as long as the
// socket lives — about 1.5 KB per connection.
function destroyOnError(this: Duplex): void {
  this.destroy();
}

const ROOM_PATH = /^\/([^/?]+)$/;

/** Path and query of a request target, as the routes read them. */
export interface RequestTarget {
  path: string;
  query: URLSearchParams;
}

/**
 * Parses a request target (origin-form `/path?query`, absolute-form `http://host/path`, or
 * `*`) without throwing: null when it cannot be parsed — an absolute-form URL that is not one,
 * or a path with a percent-encoding that does not decode (answered with 400). A query with a
 * bad percent-encoding is read leniently (URLSearchParams), like browsers do.
 */
export function parseTarget(raw: string | undefined): RequestTarget | null {
  let path: string;
  let query: string;
  if (raw === undefined || raw === '' || raw === '*') {
    path = raw || '/';
    query = '';
  } else if (raw.startsWith('/')) {
    const q = raw.indexOf('?');
    path = q < 0 ? raw : raw.slice(0, q);
    query = q < 0 ? '' : raw.slice(q + 1);
  } else {
    // absolute-form, which a server must accept (RFC 9112 3.2.2)
    if (!URL.canParse(raw)) return null;
    const u = new URL(raw);
    if (!/^(https?|wss?):$/.test(u.protocol)) return null;
    path = u.pathname;
    query = u.search.slice(1);
  }
  if (path.includes('%') && decodeSegment(path) === null) return null;
  return { path, query: new URLSearchParams(query) };
}

/** `decodeURIComponent`, or null for a malformed percent-encoding. */
export function decodeSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  429: 'too_many_connections',
  500: 'internal',
  503: 'unavailable',
};

/**
 * A complete HTTP/1.1 error response written straight to a socket (upgrade refusals and
 * unparsable requests, where there is no ServerResponse).
 */
function rawResponse(
  status: number,
  message: string,
  headers: Record<string, string | number> = {},
): string {
  const body = JSON.stringify({ error: { code: ERROR_CODES[status] ?? 'error', message } });
  let extra = '';
  for (const [k, v] of Object.entries(headers)) extra += `${k}: ${v}\r\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${extra}` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

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
          maxOpenFiles: opts.maxOpenFiles ?? 1024,
          onError: (err, roomId) => log.error({ err, roomId }, 'storage write failed'),
        })
      : new MemoryStorage());
  const persist = !extensions.some((e) => e.persistsUpdates);
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
  const shell: Shell = { limits, stats, log, closeTimeoutMs };
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

  const sockets = new Set<RoomSocket>();
  let closing = false;
  const proxies = opts.trustedProxies?.length ? trustedProxies(opts.trustedProxies) : null;
  const caps = new ConnectionCaps(
    limits.maxConnectionsPerMember,
    limits.maxConnectionsPerIp,
    limits.countLoopbackPerIp,
  );

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: limits.maxMessageBytes,
    skipUTF8Validation: true,
    WebSocket: RoomSocket,
  });

  function onClose(this: WebSocket): void {
    const ws = this as RoomSocket;
    sockets.delete(ws);
    stats.connections--;
    if (ws.address !== null) caps.releaseAddress(ws.address);
    ws.address = null;
    const conn = ws.conn;
    if (!conn) return;
    caps.releaseMember(conn.roomId, conn.principal.id);
    if (ws.room) ws.room.disconnect(conn);
    else conn.closed = true;
    ws.room = null;
    ws.early = null;
  }

  function onError(this: WebSocket, err: Error & { code?: string }): void {
    const ws = this as RoomSocket;
    // ws closes the socket itself (1002 / 1007 / 1009); just record it
    const code =
      err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? CLOSE.messageTooBig : CLOSE.protocolError;
    stats.countClose(code);
    log.warn(
      { roomId: ws.conn?.roomId, memberId: ws.conn?.principal.id, err: err.message },
      'bad frame, connection closed',
    );
  }

  function accept(ws: RoomSocket, roomId: string, who: Principal): void {
    sockets.add(ws);
    stats.connections++;
    ws.shell = shell;
    const conn = new Connection(roomId, who, ws, limits.messageBurst);
    ws.conn = conn;
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
    ws.on('error', onError);
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

  function refuseUpgrade(
    socket: Duplex,
    status: number,
    message: string,
    headers?: Record<string, string | number>,
  ): void {
    socket.end(rawResponse(status, message, headers));
  }

  /**
   * The last resort of the request and upgrade listeners: an exception that escaped them (a
   * bug, never bad input — that is answered with a 4xx before) is logged with its stack, the
   * client gets a 500 or a closed socket, and the server keeps serving everyone else.
   */
  function lastResort(what: string, err: unknown, req: IncomingMessage, socket: Duplex): void {
    try {
      log.error({ err, url: req.url, method: req.method }, `${what} failed`);
      const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
      if (res) {
        if (!res.headersSent)
          sendJson(res, 500, { error: { code: 'internal', message: 'Internal Error' } });
        else res.destroy();
      } else if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) {
        socket.end(rawResponse(500, 'Internal Error'));
      } else {
        socket.destroy();
      }
    } catch {
      socket.destroy();
    }
  }

  function httpError(err: unknown): HttpError | null {
    return err instanceof HttpError
      ? err
      : err instanceof TokenError
        ? new HttpError(err.status, err.code, err.message)
        : null;
  }

  const http = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      const e = httpError(err);
      if (!e) return lastResort('request', err, req, req.socket);
      try {
        sendJson(res, e.status, e);
      } catch (err2) {
        lastResort('request', err2, req, req.socket);
      }
    });
  });

  // Requests Node's parser refuses (bad request line, header, size, timeout): answered here
  // as Node does by default, plus a log line and a JSON body.
  http.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    try {
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? 431
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? 408
            : 400;
      log.info(
        {
          code: err.code,
          status,
          remoteAddress: (socket as { remoteAddress?: string }).remoteAddress,
        },
        'unparsable request refused',
      );
      if ((socket as { bytesWritten?: number }).bytesWritten === 0) {
        socket.write(rawResponse(status, STATUS_CODES[status] ?? 'Bad Request'));
      }
      socket.destroy();
    } catch {
      socket.destroy();
    }
  });

  // CONNECT (a proxy tunnel) is not served here; Node would close the connection silently.
  http.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', destroyOnError);
    socket.end(rawResponse(405, 'CONNECT is not supported', { Allow: 'GET, POST, PUT' }));
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      upgrade(req, socket, head);
    } catch (err) {
      lastResort('upgrade', err, req, socket);
    }
  });

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroyOnError);
    if (closing) return refuseUpgrade(socket, 503, 'server shutting down');
    const target = parseTarget(req.url);
    if (!target) return refuseUpgrade(socket, 400, 'the request target cannot be parsed');
    const m = ROOM_PATH.exec(target.path);
    if (!m) return refuseUpgrade(socket, 404, 'no such room path');
    const roomId = decodeSegment(m[1]!);
    if (roomId === null) return refuseUpgrade(socket, 400, 'the room path cannot be parsed');
    if (!isRoomId(roomId)) return refuseUpgrade(socket, 404, 'no such room path');
    // The address's slot is held from here (pending upgrades count: a flood of handshakes is
    // capped too) until the socket closes, or given back if no WebSocket comes of it.
    const remoteAddress = clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      proxies,
    );
    const address = caps.addressKey(remoteAddress);
    if (address !== null && !caps.takeAddress(address)) {
      log.info(
        { roomId, remoteAddress },
        'upgrade refused: too many connections from this address',
      );
      return refuseUpgrade(socket, 429, 'too many connections from this address', {
        'Retry-After': CAP_RETRY_AFTER_S,
      });
    }
    let handedOver = false;
    try {
      authenticate({ roomId, token: target.query.get('token'), headers: req.headers })
        .then(
          (who) => {
            if (closing) return refuseUpgrade(socket, 503, 'server shutting down');
            if (!caps.takeMember(roomId, who.id)) {
              log.info(
                { roomId, memberId: who.id },
                'upgrade refused: too many connections of this member',
              );
              return refuseUpgrade(
                socket,
                429,
                'too many connections of this member in this room',
                {
                  'Retry-After': CAP_RETRY_AFTER_S,
                },
              );
            }
            // handleUpgrade calls back synchronously, or not at all (a bad handshake it answers
            // itself, a socket already gone)
            wss.handleUpgrade(req, socket, head, (ws) => {
              handedOver = true;
              // ws handles socket errors from here on; one listener less per connection
              socket.off('error', destroyOnError);
              (ws as RoomSocket).address = address;
              accept(ws as RoomSocket, roomId, who);
            });
            if (!handedOver) caps.releaseMember(roomId, who.id);
          },
          (err: unknown) => {
            const status = err instanceof TokenError ? err.status : 401;
            log.info({ roomId, reason: (err as Error).message }, 'upgrade refused');
            refuseUpgrade(socket, status, (err as Error).message);
          },
        )
        .catch((err: unknown) => lastResort('upgrade', err, req, socket))
        .finally(() => {
          if (!handedOver && address !== null) caps.releaseAddress(address);
        });
    } catch (err) {
      if (address !== null) caps.releaseAddress(address);
      throw err;
    }
  }

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
    const target = parseTarget(req.url);
    if (!target) throw new HttpError(400, 'bad_request', 'the request target cannot be parsed');
    const path = target.path;
    if (req.method === 'GET' && path === '/healthz') {
      let status: 'ok' | 'degraded' = closing ? 'degraded' : 'ok';
      const extra: Record<string, unknown> = {};
      for (const ext of extensions) {
        const h = ext.health?.();
        if (!h) continue;
        if (h.status === 'degraded') status = 'degraded';
        extra[ext.name ?? 'extension'] = h;
      }
      // storage writes failing (full disk): edits are refused, so 503 (decision 0005)
      const stored = rooms.health();
      if (stored.status === 'degraded') status = 'degraded';
      return sendJson(res, stored.status === 'degraded' ? 503 : 200, {
        status,
        ...(stored.status === 'degraded' ? { reason: stored.reason, storage: stored } : {}),
        rooms: rooms.size,
        connections: stats.connections,
        ...extra,
      });
    }
    if (req.method === 'GET' && path === '/metrics') {
      const access = metricsAccess(
        req.socket.remoteAddress,
        req.headers.authorization,
        opts.metricsToken,
      );
      if (access === 403) {
        throw new HttpError(
          403,
          'forbidden',
          '/metrics is served to loopback clients only; set METRICS_TOKEN to scrape from elsewhere',
        );
      }
      if (access === 401) {
        res.setHeader('www-authenticate', 'Bearer realm="metrics"');
        throw new HttpError(
          401,
          'unauthorized',
          '/metrics needs Authorization: Bearer <METRICS_TOKEN>',
        );
      }
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(body);
      return;
    }
    const m = /^\/rooms\/([^/]+)\/(finalise|settlement)$/.exec(path);
    if (m) {
      const roomId = decodeSegment(m[1]!);
      if (roomId === null) throw new HttpError(400, 'bad_request', 'the room id cannot be parsed');
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
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            if (ws.conn) ws.conn.closed = true;
            ws.close(CLOSE.goingAway, 'server shutting down'); // terminates after closeTimeoutMs
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
