/**
 * `startRoomServer`: the wiring and the shutdown of the room-server, and nothing else. It
 * picks the storage and the bus (the room core's two seams, docs/decisions/0006), builds the
 * rooms, and serves them on one Node http server: the WebSocket layer (websocket.ts) and the
 * HTTP API (http/routes.ts).
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { verifyRoomToken } from '@patungan/model';
import { LocalBus } from './bus.ts';
import type { RoomBus } from './bus.ts';
import type { AuthenticateContext, RoomExtension } from './hooks.ts';
import { Deadlines, LocalDeadlineIndex } from './deadlines.ts';
import { serveHttp } from './http/routes.ts';
import { startIdleGc } from './idle-gc.ts';
import type { IdleGcOptions } from './idle-gc.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { ServerLimits } from './limits.ts';
import { Stats, createMetrics } from './metrics.ts';
import { Rooms } from './rooms.ts';
import type { SettlementClientOptions } from './settlement/finalise.ts';
import { FileStorage } from './storage/file.ts';
import { MemoryStorage } from './storage/memory.ts';
import type { RoomStorage } from './storage/types.ts';
import { serveWebSockets } from './websocket.ts';
import type { Principal } from './write-rules.ts';

export { DEFAULT_LIMITS } from './limits.ts';
export type { ServerLimits } from './limits.ts';

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
  /**
   * Who else serves the same rooms (default: nobody, `LocalBus`). Scaled mode:
   * `{ storage: scale.storage, bus: scale }` with a `RedisScale` (docs/scaling.md).
   */
  bus?: RoomBus;
  /** Settlement API base URL (default http://127.0.0.1:4000). */
  settlementUrl?: string;
  settlement?: Partial<Omit<SettlementClientOptions, 'url' | 'secret' | 'log'>>;
  extensions?: RoomExtension[];
  limits?: Partial<ServerLimits>;
  /** How long a room without clients stays in memory (default 30 s). */
  unloadDelayMs?: number;
  /**
   * Liveness period (default 30 s): a socket nothing arrived from for a period is pinged, and
   * dropped if nothing arrives by the end of the next.
   */
  pingIntervalMs?: number;
  /**
   * A full garbage collection when the server goes idle (idle-gc.ts; only with `--expose-gc`,
   * which `npm start` passes). `false`: never.
   */
  idleGc?: IdleGcOptions | false;
  /** How long a closing connection may take before it is cut (default 5 s). */
  closeTimeoutMs?: number;
  /**
   * DEADLINE_SCAN_MS: how often pending room deadlines are looked for (default 1000). The
   * index is the bus's in scaled mode, else `<dataDir>/deadlines.json` (in memory without one).
   */
  deadlineScanMs?: number;
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

export async function startRoomServer(opts: RoomServerOptions): Promise<RoomServer> {
  const log =
    opts.logger ?? pino({ level: opts.logLevel ?? 'info', base: { service: 'room-server' } });
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const stats = new Stats();
  const metrics = createMetrics(stats);
  const extensions = [...(opts.extensions ?? [])];
  const bus: RoomBus = opts.bus ?? new LocalBus();
  bus.registerMetrics?.(metrics.registry);
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
  const rooms = new Rooms(
    {
      log,
      stats,
      extensions,
      storage,
      bus,
      limits,
      observePersist: (op, s) => metrics.persistSeconds.observe({ op }, s),
    },
    { unloadDelayMs: opts.unloadDelayMs ?? 30_000 },
  );
  const settlement: SettlementClientOptions = {
    url: opts.settlementUrl ?? 'http://127.0.0.1:4000',
    secret: opts.secret,
    retries: 3,
    retryDelayMs: 200,
    timeoutMs: 10_000,
    ...opts.settlement,
    log,
  };
  // Deadlines that act (docs/contracts.md "Deadline"): an extension, so it sees every room
  // load here; closed with the extensions, after the rooms.
  const deadlines = new Deadlines({
    index:
      bus.deadlines ??
      new LocalDeadlineIndex(opts.dataDir ? join(opts.dataDir, 'deadlines.json') : undefined),
    rooms,
    settlement,
    log,
    scanMs: opts.deadlineScanMs ?? 1000,
  });
  extensions.push(deadlines);
  const authenticator = extensions.find((e) => e.authenticate);
  const authenticate =
    authenticator?.authenticate?.bind(authenticator) ??
    (async ({ roomId, token }: AuthenticateContext): Promise<Principal> => {
      const c = await verifyRoomToken(token, opts.secret, roomId);
      return { id: c.sub, role: c.role, name: c.name };
    });

  let closing = false;
  const isClosing = () => closing;
  const http = createServer();
  const sockets = serveWebSockets(http, {
    log,
    stats,
    limits,
    rooms,
    authenticate,
    closeTimeoutMs: opts.closeTimeoutMs ?? 5000,
    pingIntervalMs: opts.pingIntervalMs ?? 30_000,
    trustedProxies: opts.trustedProxies,
    closing: isClosing,
  });
  serveHttp(http, {
    log,
    secret: opts.secret,
    maxBodyBytes: limits.maxBodyBytes,
    metricsToken: opts.metricsToken,
    rooms,
    stats,
    metrics,
    extensions,
    bus,
    settlement,
    closing: isClosing,
  });

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
  const idleGc =
    opts.idleGc === false
      ? null
      : startIdleGc({
          collected: (ms, before, after) =>
            log.debug(
              { ms: Math.round(ms), heapBefore: before, heapAfter: after },
              'idle: heap collected',
            ),
          ...opts.idleGc,
        });

  /**
   * Stop accepting; close every socket with 1001 (updates still arriving during the close
   * handshake are applied and stored); unload every room (compact, flush, leave the bus);
   * close storage, then the bus, then the extensions.
   */
  async function close(): Promise<void> {
    closing = true;
    idleGc?.stop();
    await deadlines.close(); // no deadline acts on a room being unloaded
    const stopped = new Promise<void>((r) => http.close(() => r()));
    await sockets.closeAll();
    await rooms.closeAll();
    try {
      await storage.close();
    } finally {
      await bus.close();
      for (const ext of extensions) await ext.close?.();
      http.closeAllConnections();
      await stopped;
      metrics.close();
      log.info('room-server stopped');
    }
  }

  let closed: Promise<void> | null = null;
  return {
    url: `ws://${hostForUrl}:${port}`,
    httpUrl: `http://${hostForUrl}:${port}`,
    port,
    rooms,
    close: () => (closed ??= close()),
  };
}
