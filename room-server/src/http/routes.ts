/**
 * The room-server's HTTP API on the WebSocket port: `GET /healthz`, `GET /metrics`,
 * `POST /rooms/<id>/finalise`, `PUT /rooms/<id>/settlement`, `GET /rooms/<id>/status`, and
 * "Patungan lagi"'s `GET /rooms/<id>/cart` and `PUT /rooms/<id>/seed` (docs/room-server.md
 * "HTTP on the same port"), plus the answers to requests Node's parser
 * refuses. Service routes load the room like a connection would (`Rooms.acquire`) and keep it
 * loaded while they run; none of them opens a Yjs sync.
 */
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import {
  TokenError,
  isRoomId,
  membersMap,
  metaMap,
  settlementMap,
  verifyRoomToken,
} from '@patungan/model';
import type { RoomBus } from '../bus.ts';
import { HttpError } from '../errors.ts';
import type { RoomExtension } from '../hooks.ts';
import { metricsAccess } from '../metrics.ts';
import type { Metrics, Stats } from '../metrics.ts';
import type { Room } from '../room.ts';
import type { Rooms } from '../rooms.ts';
import { finalise } from '../settlement/finalise.ts';
import type { SettlementClientOptions } from '../settlement/finalise.ts';
import { SettlementPutSchema, applySettlementPut } from '../settlement/status.ts';
import { RoomSeedSchema } from '@patungan/model/contracts';
import { roomCart, seedRoom, seededFrom } from '../again.ts';
import type { Principal } from '../write-rules.ts';
import {
  decodeSegment,
  destroyOnError,
  lastResort,
  parseTarget,
  rawResponse,
  sendJson,
} from './respond.ts';

export interface HttpDeps {
  log: Logger;
  /** ROOM_TOKEN_SECRET: bearer tokens of the room routes are join tokens of that room. */
  secret: string;
  /** Largest request body. */
  maxBodyBytes: number;
  /** METRICS_TOKEN (see `metricsAccess`). */
  metricsToken?: string | undefined;
  rooms: Rooms;
  stats: Stats;
  metrics: Metrics;
  extensions: readonly RoomExtension[];
  bus: RoomBus;
  settlement: SettlementClientOptions;
  /** Whether the server is shutting down (room routes answer 503 then, healthz `degraded`). */
  closing(): boolean;
}

/** `GET /rooms/<id>/status`: what the room's document says, without a Yjs sync. */
export interface RoomStatusAnswer {
  roomId: string;
  /** `meta.status` as stored (`open`, `locked`, `settling`, `completed`). */
  status: string;
  /** The room's `settlement` map as plain JSON, or null while it has none. */
  settlement: Record<string, unknown> | null;
  /** Current members (entries of `members` without `removedAt`). */
  members: number;
  /**
   * `meta.deadline` as stored (ISO), or null when the room has none. The organiser may move or
   * remove it while the room is open; web re-reads it before sending a deadline reminder.
   */
  deadline: string | null;
}

/** The status answer of a loaded room; null when the room was never created (no `meta.status`). */
export function roomStatusAnswer(room: Room): RoomStatusAnswer | null {
  const status = metaMap(room.doc).get('status');
  if (typeof status !== 'string') return null;
  const settlement = settlementMap(room.doc);
  const deadline = metaMap(room.doc).get('deadline');
  let members = 0;
  for (const m of membersMap(room.doc).values()) {
    if (typeof m === 'object' && m !== null && !m.removedAt) members++;
  }
  return {
    roomId: room.id,
    status,
    settlement: settlement.size > 0 ? (settlement.toJSON() as Record<string, unknown>) : null,
    members,
    deadline: typeof deadline === 'string' && deadline !== '' ? deadline : null,
  };
}

const ROOM_ROUTE = /^\/rooms\/([^/]+)\/(finalise|settlement|status|cart|seed)$/;

/** Serves the HTTP API on `server` (its 'request', 'clientError' and 'connect' events). */
export function serveHttp(server: Server, deps: HttpDeps): void {
  const { log, rooms } = deps;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      const e = httpError(err);
      if (!e) return lastResort(log, 'request', err, req, req.socket);
      try {
        sendJson(res, e.status, e);
      } catch (err2) {
        lastResort(log, 'request', err2, req, req.socket);
      }
    });
  });

  // Requests Node's parser refuses (bad request line, header, size, timeout): answered here
  // as Node does by default, plus a log line and a JSON body.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
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
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', destroyOnError);
    socket.end(rawResponse(405, 'CONNECT is not supported', { Allow: 'GET, POST, PUT' }));
  });

  function httpError(err: unknown): HttpError | null {
    return err instanceof HttpError
      ? err
      : err instanceof TokenError
        ? new HttpError(err.status, err.code, err.message)
        : null;
  }

  async function bearer(req: IncomingMessage, roomId: string): Promise<Principal> {
    const h = req.headers.authorization;
    const token = h?.startsWith('Bearer ') ? h.slice(7) : null;
    const c = await verifyRoomToken(token, deps.secret, roomId);
    return { id: c.sub, role: c.role, name: c.name };
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).byteLength;
      if (size > deps.maxBodyBytes) throw new HttpError(413, 'too_large', 'request body too large');
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

  function healthz(res: ServerResponse): void {
    let status: 'ok' | 'degraded' = deps.closing() ? 'degraded' : 'ok';
    const extra: Record<string, unknown> = {};
    const named: { name?: string | undefined; health?: RoomBus['health'] }[] = [
      deps.bus,
      ...deps.extensions,
    ];
    for (const part of named) {
      const h = part.health?.();
      if (!h) continue;
      if (h.status === 'degraded') status = 'degraded';
      extra[part.name ?? 'extension'] = h;
    }
    // storage writes failing (full disk): edits are refused, so 503 (decision 0005)
    const stored = rooms.health();
    if (stored.status === 'degraded') status = 'degraded';
    sendJson(res, stored.status === 'degraded' ? 503 : 200, {
      status,
      ...(stored.status === 'degraded' ? { reason: stored.reason, storage: stored } : {}),
      rooms: rooms.size,
      connections: deps.stats.connections,
      ...extra,
    });
  }

  async function metrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const access = metricsAccess(
      req.socket.remoteAddress,
      req.headers.authorization,
      deps.metricsToken,
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
    const body = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = parseTarget(req.url);
    if (!target) throw new HttpError(400, 'bad_request', 'the request target cannot be parsed');
    const path = target.path;
    if (req.method === 'GET' && path === '/healthz') return healthz(res);
    if (req.method === 'GET' && path === '/metrics') return metrics(req, res);
    const m = ROOM_ROUTE.exec(path);
    if (!m) throw new HttpError(404, 'not_found', 'not found');
    const roomId = decodeSegment(m[1]!);
    if (roomId === null) throw new HttpError(400, 'bad_request', 'the room id cannot be parsed');
    if (!isRoomId(roomId)) throw new HttpError(404, 'not_found', 'no such room');
    if (deps.closing())
      throw new HttpError(503, 'shutting_down', 'server shutting down, try again');
    const route = m[2];
    if (route === 'finalise' && req.method === 'POST') {
      // Who may finalise is decided once, in finalise() against the document's organiser.
      const who = await bearer(req, roomId);
      const body = (await readJson(req)) as { storeId?: unknown };
      if (body.storeId !== undefined && (typeof body.storeId !== 'string' || !body.storeId)) {
        throw new HttpError(422, 'invalid', 'storeId must be a non-empty string');
      }
      const input = typeof body.storeId === 'string' ? { storeId: body.storeId } : {};
      const r = await withRoom(roomId, (room) => finalise(room, who, input, deps.settlement));
      return sendJson(res, r.status, r.body);
    }
    if (route === 'settlement' && req.method === 'PUT') {
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
    if (route === 'status' && req.method === 'GET') {
      const who = await bearer(req, roomId);
      if (who.role !== 'service') throw new HttpError(403, 'forbidden', 'service token required');
      const answer = await withRoom(roomId, async (room) => roomStatusAnswer(room));
      if (!answer) throw new HttpError(404, 'not_found', 'no such room');
      return sendJson(res, 200, answer);
    }
    if ((route === 'cart' && req.method === 'GET') || (route === 'seed' && req.method === 'PUT'))
      return again(req, res, roomId, route);
    throw new HttpError(405, 'method_not_allowed', 'method not allowed');
  }

  /** "Patungan lagi": read a room's cart, or seed a new room with a repeat of one (again.ts). */
  async function again(
    req: IncomingMessage,
    res: ServerResponse,
    roomId: string,
    route: 'cart' | 'seed',
  ): Promise<void> {
    const who = await bearer(req, roomId);
    if (who.role !== 'service') throw new HttpError(403, 'forbidden', 'service token required');
    if (route === 'cart') {
      const answer = await withRoom(roomId, async (room) => roomCart(room));
      if (!answer) throw new HttpError(404, 'not_found', 'no such room');
      return sendJson(res, 200, answer);
    }
    const parsed = RoomSeedSchema.safeParse(await readJson(req));
    if (!parsed.success) {
      throw new HttpError(422, 'invalid', 'invalid room seed', parsed.error.issues);
    }
    const seed = parsed.data;
    const r = await withRoom(roomId, async (room) =>
      (await seedRoom(room, seed)) ? 'seeded' : seededFrom(room, seed.again.from) ? 'again' : null,
    );
    if (!r) throw new HttpError(409, 'room_exists', 'this room already exists');
    log.info({ roomId, from: seed.again.from, lines: seed.lines.length }, 'room seeded');
    return sendJson(res, r === 'seeded' ? 201 : 200, { roomId });
  }
}
