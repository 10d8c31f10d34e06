/**
 * startSettlement: the API (and, unless turned off, the worker and outbox dispatcher) in
 * this process. Every setting is an option; a missing option falls back to the environment
 * variable in the README's configuration table (read from `options.env`, default
 * process.env), then to its default.
 */
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Cluster, Redis } from 'ioredis';
import { redisClusterNodes } from '@patungan/model/node';
import { dataDir as defaultDataDir, roomTokenSecret } from '@patungan/model/node';
import { systemClock, type Clock } from './clock.ts';
import type { Ctx, FaultPoint } from './context.ts';
import { openDb, type Db } from '@patungan/db';
import { migrate } from './db/migrations.ts';
import {
  deliverPending,
  deliverToWeb,
  publishPending,
  pruneOutbox,
  type DispatcherOptions,
} from './dispatcher.ts';
import { localBus, redisBus, type EventBus } from './events.ts';
import { createApp } from './http/app.ts';
import { regionFront, type RegionUnit } from './http/region-router.ts';
import type { PayPageDeps } from './http/pay-routes.ts';
import { enabledMethods, paymentMethodRoutes } from './http/payment-methods-routes.ts';
import type { AppDeps } from './http/support.ts';
import { shortId } from './ids.ts';
import { createLogger, type Logger } from './log.ts';
import { Loop } from './loop.ts';
import { createMetrics } from './metrics.ts';
import { localProvider } from './providers/local.ts';
import {
  MIDTRANS_DEFAULT_PAYMENTS,
  midtransProvider,
  type MidtransConfig,
} from './providers/midtrans.ts';
import type { PaymentProvider, ProviderName } from './providers/provider.ts';
import { stripeProvider, type StripeConfig } from './providers/stripe.ts';
import { inRegion } from './region-scope.ts';
import {
  checkCodes,
  guardRegionDb,
  lazyDb,
  parseRegionUrls,
  regionSlug,
  StoreDirectory,
} from './regions.ts';
import {
  CATALOG_PUBLICATION,
  CATALOG_TABLES,
  SALES_PUBLICATION,
  SALES_TABLES,
  catalogSubscription,
  ensurePublication,
  ensureSubscription,
  offsetSequences,
  salesSubscription,
} from './replication.ts';
import { seedDemo, seedDemoStock, STORES } from './seed.ts';
import { workerTick } from './worker.ts';

export interface SettlementOptions {
  /** Default PORT, else 4000; 0 picks a free port. */
  port?: number;
  /** Default HOST, else 127.0.0.1. */
  host?: string;
  /** Serve HTTP (default true). `false` runs only the worker (worker-main.ts). */
  api?: boolean;
  /** HS256 secret for tokens. Default ROOM_TOKEN_SECRET, else the embedded secret file. */
  secret?: string;
  /** An open database (the caller closes it). */
  db?: Db;
  /** Default DATABASE_URL; unset → PGlite. */
  databaseUrl?: string;
  /** PGlite directory. Default DATA_DIR/settlement; `null` → in memory. */
  dataDir?: string | null;
  /**
   * Default REGION_DATABASE_URLS (`<region slug>=<postgres url>,…`): a database per region
   * (docs/contracts.md "Regions"); the central database is `databaseUrl`. Unset or empty:
   * one database holds everything.
   */
  regionDatabaseUrls?: string;
  /**
   * Default REGION_REPLICATION_URLS (`central=<url>,<slug>=<url>,…`): how the database
   * servers reach each other for replication, where that differs from the URLs above.
   */
  regionReplicationUrls?: string;
  /** Retry interval of a region's setup (migrations, subscriptions) while it fails, ms (default 2000). */
  regionSetupRetryMs?: number;
  /** Default REDIS_URL; unset → in-process events. */
  redisUrl?: string;
  /** Prefix of Redis channels (tests isolate with their own). */
  redisPrefix?: string;
  /** Default REVIEW_WRITES_PER_MINUTE, else 10: review writes per member per minute (0 = off). */
  reviewWritesPerMinute?: number;
  /** Default HOLD_TTL_SECONDS, else 900. Fractions allowed (tests). */
  holdTtlSeconds?: number;
  /**
   * Default HOLD_MAX_SECONDS, else 1,800: a hold is extended once, to at most this long after
   * the settlement was created, while a member's payment is under way at a provider.
   */
  holdMaxSeconds?: number;
  /**
   * Default PAYMENT_METHODS (comma list of local, stripe, midtrans, store), else every
   * configured provider, `local` only when none is, and `store` (GET /payment-methods).
   */
  paymentMethods?: string[];
  /**
   * Base URL of the web app (default WEB_PUBLIC_URL): the pay page links back to the room at
   * `<webPublicUrl>/rooms/<roomId>`. Unset: no link.
   */
  webPublicUrl?: string;
  /** Seconds a capture may run past the hold's expiry before compensation (default 60). */
  captureGraceSeconds?: number;
  /** Lease on a provider call, seconds (default 30; see Ctx.leaseMs). */
  leaseSeconds?: number;
  /** Run the worker loop here. Default: on unless SETTLEMENT_WORKER=off. */
  worker?: boolean;
  /** Worker poll interval, ms (default SETTLEMENT_WORKER_POLL_MS, else 1000). */
  workerPollMs?: number;
  /** Outbox poll interval, ms (default 250). */
  dispatcherPollMs?: number;
  /** Stripe: default from STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET; null disables. */
  stripe?: StripeConfig | null;
  /** Midtrans: default from MIDTRANS_SERVER_KEY / MIDTRANS_CLIENT_KEY / MIDTRANS_IS_PRODUCTION. */
  midtrans?: MidtransConfig | null;
  /** Default ROOM_SERVER_INTERNAL_URL, else http://127.0.0.1:1234; null disables delivery. */
  roomServerUrl?: string | null;
  /**
   * Web's base URL for notification events (`POST /internal/settlement-events`). Default
   * WEB_INTERNAL_URL; unset: the events are dropped (no notifications of settlement changes).
   */
  webInternalUrl?: string | null;
  /** Base of pay links. Default SETTLEMENT_PUBLIC_URL, else SETTLEMENT_URL, else this server's URL. */
  publicUrl?: string;
  /** Request body limit of every route, bytes. Default MAX_BODY_BYTES, else 65,536. */
  maxBodyBytes?: number;
  /**
   * Body limit of the cart snapshot (POST /settlements) and provider webhooks, bytes.
   * Default MAX_LARGE_BODY_BYTES, else 1,048,576.
   */
  maxLargeBodyBytes?: number;
  /** Load the demo catalog when the database has no products (default true). */
  seed?: boolean;
  clock?: Clock;
  log?: Logger;
  /** Also export Node process metrics (CPU, memory, event loop) on /metrics (main.ts: on). */
  processMetrics?: boolean;
  /** Crash-test hooks (see context.ts FaultPoint). */
  faults?: Partial<Record<FaultPoint, () => void | Promise<void>>>;
  env?: NodeJS.ProcessEnv;
}

/** A region with a database of its own, as the service runs it. */
export interface RegionService {
  slug: string;
  /** The 3-character code its ids and order references carry. */
  code: string;
  ctx: Ctx;
  /** Migrated and serving (false until its database was first reached). */
  ready: boolean;
}

export interface SettlementService {
  url: string;
  port: number;
  /** The central database (the only one without regions). */
  db: Db;
  /** Central's Ctx (every store whose region has no database of its own). */
  ctx: Ctx;
  /** The regions named in REGION_DATABASE_URLS (empty without). */
  regions: RegionService[];
  bus: EventBus;
  /** Runs one pass of the worker sweeps and the outbox now (tests, benchmarks). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/** "a, b,,c" → ['a', 'b', 'c'] */
const list = (v: string) =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function num(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

/** The least time between two starts of the outbox loop's drain (see `unit.drain`). */
const DRAIN_GAP_MS = 10;

/**
 * The app behind Node's server, with the last-resort guard: whatever escapes Hono's own
 * error handling (a request that cannot even be turned into a Request, a failure while
 * writing the response) is logged and answered — 400 when the request itself was bad, 500
 * otherwise — and the process keeps serving.
 */
const INTERNAL = JSON.stringify({
  error: { code: 'internal', message: 'Internal error; please retry' },
});

function guardedListener(
  fetch: (req: Request) => Response | Promise<Response>,
  log: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const listener = getRequestListener(fetch, {
    errorHandler: (err) => {
      const bad = err instanceof Error && err.name === 'RequestError';
      if (bad) log.debug({ err: err.message }, 'request refused before routing');
      else log.error({ err }, 'request failed outside the app');
      return Response.json(
        bad
          ? { error: { code: 'invalid_request', message: 'The request could not be read' } }
          : { error: { code: 'internal', message: 'Internal error; please retry' } },
        { status: bad ? 400 : 500 },
      );
    },
  });
  return (req, res) => {
    listener(req, res).catch((err: unknown) => {
      log.error({ err, method: req.method, url: req.url }, 'request failed outside the app');
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { 'content-type': 'application/json' }).end(INTERNAL);
    });
  };
}

/**
 * For the settlement process's entry point: an error nobody handled (a rejected promise
 * left behind, an exception in a timer or stream callback) is logged instead of ending the
 * process; every request and transaction stands on its own, so the service keeps serving.
 */
export function guardProcess(log: Logger): void {
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
}

/** A size setting: a positive whole number of bytes, else startup fails naming it. */
function byteLimit(name: string, given: number | undefined, raw: string | undefined, def: number) {
  const v = given ?? (raw === undefined || raw === '' ? def : Number(raw));
  if (!Number.isSafeInteger(v) || v < 1)
    throw new Error(`${name} must be a positive whole number of bytes (got ${given ?? raw})`);
  return v;
}

/** STRIPE_API_URL (e.g. http://127.0.0.1:12111 for a local Stripe stand-in) → SDK host options. */
function stripeApi(url: string | undefined): Pick<StripeConfig, 'host' | 'port' | 'protocol'> {
  if (!url) return {};
  const u = new URL(url);
  return {
    host: u.hostname,
    protocol: u.protocol === 'http:' ? 'http' : 'https',
    ...(u.port ? { port: Number(u.port) } : {}),
  };
}

export async function startSettlement(o: SettlementOptions = {}): Promise<SettlementService> {
  const env = o.env ?? process.env;
  const log = o.log ?? createLogger(env.LOG_LEVEL ?? 'info');
  const clock = o.clock ?? systemClock;
  const api = o.api ?? true;
  const instanceId = shortId(api ? 'api' : 'wrk');

  const databaseUrl = o.databaseUrl ?? env.DATABASE_URL;
  const ownDb = !o.db;
  // Regions: parsed before anything opens, so a bad setting stops the start at once.
  const regionUrls = parseRegionUrls(
    'REGION_DATABASE_URLS',
    o.regionDatabaseUrls ?? env.REGION_DATABASE_URLS,
  );
  const replicationUrls = parseRegionUrls(
    'REGION_REPLICATION_URLS',
    o.regionReplicationUrls ?? env.REGION_REPLICATION_URLS,
  );
  const regional = regionUrls.size > 0;
  const codes = checkCodes(regionUrls.keys());
  if (regional && !databaseUrl) {
    throw new Error('REGION_DATABASE_URLS needs DATABASE_URL: the central database');
  }
  const pgliteDir =
    o.dataDir === null ? undefined : (o.dataDir ?? join(defaultDataDir(env), 'settlement'));
  const db =
    o.db ??
    (await openDb(
      databaseUrl ? { databaseUrl } : { ...(pgliteDir ? { dataDir: pgliteDir } : {}) },
    ));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    await migrate(db);
    if (regional) await ensurePublication(db, CATALOG_PUBLICATION, CATALOG_TABLES);
    // with regions, central stocks only the stores no region database holds
    const centralStore = (storeId: string) => {
      const st = STORES.find((x) => x.id === storeId);
      return !st || !regionUrls.has(regionSlug(st.region));
    };
    if (o.seed ?? true)
      await seedDemo(db, { now: clock.now(), ...(regional ? { stockFor: centralStore } : {}) });
    // PGlite has no autovacuum: start with fresh planner statistics (the dispatcher's prune
    // step refreshes them every 10 minutes).
    if (db.kind === 'pglite') await db.query('ANALYZE');

    const secret = o.secret ?? roomTokenSecret(env);
    const stripeCfg =
      o.stripe === undefined
        ? env.STRIPE_SECRET_KEY
          ? {
              secretKey: env.STRIPE_SECRET_KEY,
              ...(env.STRIPE_WEBHOOK_SECRET ? { webhookSecret: env.STRIPE_WEBHOOK_SECRET } : {}),
              ...stripeApi(env.STRIPE_API_URL),
            }
          : null
        : o.stripe;
    const midtransCfg =
      o.midtrans === undefined
        ? env.MIDTRANS_SERVER_KEY
          ? {
              serverKey: env.MIDTRANS_SERVER_KEY,
              ...(env.MIDTRANS_CLIENT_KEY ? { clientKey: env.MIDTRANS_CLIENT_KEY } : {}),
              isProduction: env.MIDTRANS_IS_PRODUCTION === 'true',
              ...(env.MIDTRANS_API_URL ? { coreBaseUrl: env.MIDTRANS_API_URL } : {}),
              ...(env.MIDTRANS_SNAP_URL ? { snapBaseUrl: env.MIDTRANS_SNAP_URL } : {}),
              ...(env.MIDTRANS_ENABLED_PAYMENTS
                ? { enabledPayments: list(env.MIDTRANS_ENABLED_PAYMENTS) }
                : {}),
            }
          : null
        : o.midtrans;
    const providers: Partial<Record<ProviderName, PaymentProvider>> = { local: localProvider() };
    if (stripeCfg) {
      providers.stripe = stripeProvider(stripeCfg);
    }
    if (midtransCfg) providers.midtrans = midtransProvider(midtransCfg);
    const paymentMethods = enabledMethods(
      providers,
      o.paymentMethods ?? (env.PAYMENT_METHODS ? list(env.PAYMENT_METHODS) : undefined),
    );

    // REDIS_CLUSTER_NODES (a Redis Cluster: sharded pub/sub) wins over REDIS_URL.
    const clusterNodes = o.redisUrl ? null : redisClusterNodes(env);
    const redisUrl = o.redisUrl ?? env.REDIS_URL;
    let bus: EventBus;
    if (clusterNodes || redisUrl) {
      const nodeOptions = { maxRetriesPerRequest: 3 };
      const [pub, sub] = clusterNodes
        ? [
            new Cluster(clusterNodes, { redisOptions: nodeOptions }),
            new Cluster(clusterNodes, { redisOptions: nodeOptions, shardedSubscribers: true }),
          ]
        : [new Redis(redisUrl!, nodeOptions), new Redis(redisUrl!, nodeOptions)];
      for (const r of [pub, sub])
        r.on('error', (err: Error) => log.warn({ err: err.message }, 'redis error'));
      bus = redisBus({
        pub,
        sub,
        sharded: !!clusterNodes,
        prefix: o.redisPrefix ?? 'patungan:settlement:',
        onError: (err) => log.warn({ err }, 'redis bus error'),
      });
      cleanups.push(async () => {
        await bus.close();
        pub.disconnect();
        sub.disconnect();
      });
    } else {
      bus = localBus();
      cleanups.push(() => bus.close());
    }

    const bodyBytes = byteLimit('MAX_BODY_BYTES', o.maxBodyBytes, env.MAX_BODY_BYTES, 64 * 1024);
    const limits = {
      body: bodyBytes,
      // never below the general limit
      largeBody: Math.max(
        bodyBytes,
        byteLimit('MAX_LARGE_BODY_BYTES', o.maxLargeBodyBytes, env.MAX_LARGE_BODY_BYTES, 1 << 20),
      ),
    };
    const metrics = createMetrics(o.processMetrics ?? false);
    const holdTtlSeconds = o.holdTtlSeconds ?? num(env.HOLD_TTL_SECONDS) ?? 900;
    const holdMaxSeconds = Math.max(
      holdTtlSeconds,
      o.holdMaxSeconds ?? num(env.HOLD_MAX_SECONDS) ?? 1800,
    );
    const worker = { holdMaxMs: holdMaxSeconds * 1000 };
    const port = o.port ?? num(env.PORT) ?? 4000;
    const host = o.host ?? env.HOST ?? '127.0.0.1';
    const runWorker = o.worker ?? env.SETTLEMENT_WORKER !== 'off';
    const roomServerUrl =
      o.roomServerUrl === undefined
        ? (env.ROOM_SERVER_INTERNAL_URL ?? 'http://127.0.0.1:1234')
        : o.roomServerUrl;

    const webInternalUrl =
      (o.webInternalUrl === undefined ? env.WEB_INTERNAL_URL : o.webInternalUrl)?.replace(
        /\/+$/,
        '',
      ) || null;

    let server: Server | null = null;
    const pollMs = o.workerPollMs ?? num(env.SETTLEMENT_WORKER_POLL_MS) ?? 1000;

    /**
     * What runs per database: central's and, with regions, each region's own Ctx (same shape,
     * its own `db`), outbox dispatcher and worker loop, each independent of the others.
     */
    interface Unit {
      slug: string | null;
      code: string | null;
      ctx: Ctx;
      loops: Loop[];
      drain: () => Promise<void>;
      ready: boolean;
      fetch: (req: Request) => Promise<Response>;
    }
    const makeUnit = (unitDb: Db, slug: string | null, code: string | null): Unit => {
      const unit: Unit = {
        slug,
        code,
        ctx: undefined as unknown as Ctx,
        loops: [],
        drain: async () => {},
        ready: false,
        fetch: () => Promise.reject(new Error('no API in this process')),
      };
      unit.ctx = {
        db: unitDb,
        clock,
        log: slug ? log.child({ region: slug }) : log,
        metrics,
        providers,
        publicUrl: '',
        holdTtlMs: holdTtlSeconds * 1000,
        captureGraceMs: (o.captureGraceSeconds ?? 60) * 1000,
        leaseMs: (o.leaseSeconds ?? 30) * 1000,
        instanceId,
        fault: async (point) => {
          await o.faults?.[point]?.();
        },
        kick: () => unit.loops.forEach((l) => l.kick()),
      };
      const dispatch: DispatcherOptions = {
        db: unitDb,
        clock,
        log: unit.ctx.log,
        metrics,
        // A worker-only process without Redis has nobody to publish to: the API process does it.
        bus: api || redisUrl || clusterNodes ? bus : null,
        roomServerUrl: runWorker ? roomServerUrl : null,
        webUrl: runWorker ? (webInternalUrl ?? 'drop') : null,
        secret,
        instanceId,
      };
      let lastPrune = 0;
      let lastDrain = -Infinity;
      unit.drain = () =>
        inRegion(code, async () => {
          // Every request kicks this loop; back to back, each run would publish one request's
          // events in a transaction of its own. A run within DRAIN_GAP_MS of the previous one
          // waits out the rest, so that under load a run takes the events of several requests
          // (after a quiet moment it runs at once).
          const since = performance.now() - lastDrain;
          if (since < DRAIN_GAP_MS) await new Promise((r) => setTimeout(r, DRAIN_GAP_MS - since));
          lastDrain = performance.now();
          while ((await publishPending(dispatch)) === 500);
          while ((await deliverPending(dispatch)) === 500);
          while ((await deliverToWeb(dispatch)) === 100);
          if (runWorker && Date.now() - lastPrune > 600_000) {
            lastPrune = Date.now();
            await pruneOutbox(dispatch);
          }
        });
      return unit;
    };
    const startLoops = (u: Unit) => {
      const suffix = u.slug ? `:${u.slug}` : '';
      u.loops = [new Loop(`outbox${suffix}`, u.drain, o.dispatcherPollMs ?? 250, u.ctx.log)];
      if (runWorker) {
        u.loops.push(
          new Loop(
            `worker${suffix}`,
            () => inRegion(u.code, () => workerTick(u.ctx, worker)),
            pollMs,
            u.ctx.log,
          ),
        );
      }
      u.loops.forEach((l) => l.start());
    };

    // Central: with regions its own stores answer 503 region_unavailable while it is down.
    const central = makeUnit(regional ? guardRegionDb(db, 'central') : db, null, null);
    const ctx = central.ctx;
    const regionDbs: Db[] = [];
    const regions = [...regionUrls].map(([slug, regionUrl]) => {
      const raw = lazyDb(() =>
        openDb({ databaseUrl: regionUrl, connectTimeoutSeconds: 5, poolSize: 10 }),
      );
      regionDbs.push(raw);
      return { unit: makeUnit(guardRegionDb(raw, slug), slug, codes.get(slug)!), raw, regionUrl };
    });
    cleanups.push(() => Promise.all(regionDbs.map((d) => d.close().catch(() => {}))));
    const replicationUrl = (key: string) =>
      replicationUrls.get(key) ?? (key === 'central' ? databaseUrl! : (regionUrls.get(key) ?? ''));

    /**
     * A region's setup, each step idempotent and retried until it succeeds (its database or
     * central may be down at start): migrations, its publication and id ranges, then its
     * subscription to central's catalog, central's subscription to it, and its demo stock
     * once the stores have arrived. It serves as soon as it is migrated.
     */
    const setups = regions.map(({ unit, raw }) => {
      const slug = unit.slug!;
      const done = { migrated: false, catalog: false, sales: false, stocked: !(o.seed ?? true) };
      const step = async () => {
        if (!done.migrated) {
          await migrate(raw);
          await ensurePublication(raw, SALES_PUBLICATION, SALES_TABLES);
          await offsetSequences(raw, unit.code!);
          done.migrated = true;
          unit.ready = true;
          startLoops(unit);
          unit.ctx.log.info({ code: unit.code }, 'region database ready');
        }
        if (!done.catalog) {
          await ensureSubscription(
            raw,
            catalogSubscription(slug),
            replicationUrl('central'),
            CATALOG_PUBLICATION,
          );
          done.catalog = true;
        }
        if (!done.sales) {
          await ensureSubscription(
            db,
            salesSubscription(slug),
            replicationUrl(slug),
            SALES_PUBLICATION,
          );
          done.sales = true;
        }
        if (!done.stocked) {
          const stores = await raw.query<{ id: string; region: string }>(
            'SELECT id, region FROM stores',
          );
          const [p] = await raw.query<{ n: number }>('SELECT count(*) AS n FROM products');
          const mine = stores.filter((st) => regionSlug(st.region) === slug).map((st) => st.id);
          // central's copy holding their stock means the region had it (a restore): no seed
          const [copied] = await db.query<{ n: number }>(
            'SELECT count(*) AS n FROM stock WHERE store_id = ANY($1::text[])',
            [mine],
          );
          if ((copied?.n ?? 0) > 0) done.stocked = true;
          else if ((p?.n ?? 0) > 0 && mine.length > 0) {
            await seedDemoStock(raw, mine, { now: clock.now() });
            done.stocked = true;
          }
        }
        // stopping from inside its own run: not awaited (stop waits for this run)
        if (Object.values(done).every(Boolean)) void setupLoop.stop();
      };
      const setupLoop = new Loop(
        `region-setup:${slug}`,
        () =>
          step().catch((err: unknown) => {
            unit.ctx.log.warn(
              { region: slug, err: err instanceof Error ? err.message : String(err) },
              'region setup step failed; retrying',
            );
          }),
        o.regionSetupRetryMs ?? 2000,
        unit.ctx.log,
      );
      return setupLoop;
    });
    const directory = new StoreDirectory([db, ...regions.map((r) => r.raw)], log);

    const closing = new AbortController();
    // every open live-stock stream listens for the close (and stops listening when it ends)
    setMaxListeners(0, closing.signal);
    let url = '';
    if (api) {
      const units = [central, ...regions.map((r) => r.unit)];
      for (const u of units) {
        const deps: AppDeps & PayPageDeps = {
          ctx: u.ctx,
          bus,
          secret,
          closing: closing.signal,
          limits,
          reviewWritesPerMinute: o.reviewWritesPerMinute ?? num(env.REVIEW_WRITES_PER_MINUTE),
          webPublicUrl: (o.webPublicUrl ?? env.WEB_PUBLIC_URL ?? '').replace(/\/$/, ''),
        };
        const app = createApp(deps);
        paymentMethodRoutes(app, {
          methods: paymentMethods,
          midtransChannels: midtransCfg?.enabledPayments ?? MIDTRANS_DEFAULT_PAYMENTS,
        });
        u.fetch = async (req) => inRegion(u.code, async () => app.fetch(req));
      }
      central.ready = true;
      const fetch = regional
        ? regionFront({
            central,
            regions: regions.map((r) => r.unit as RegionUnit),
            directory,
            maxBodyBytes: limits.largeBody,
          })
        : central.fetch;
      const srv = createServer(guardedListener(fetch, log));
      server = srv;
      // A request Node cannot parse (request line, header, chunk, size, timeout) gets a 4xx
      // and its connection closed; nothing reaches the app.
      srv.on('clientError', (err: NodeJS.ErrnoException, socket) => {
        log.debug({ code: err.code }, 'malformed request');
        const res = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
        if (err.code === 'ECONNRESET' || !socket.writable || res?.headersSent) {
          socket.destroy();
          return;
        }
        const status =
          err.code === 'HPE_HEADER_OVERFLOW'
            ? '431 Request Header Fields Too Large'
            : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
              ? '408 Request Timeout'
              : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, host, () => resolve());
      });
      srv.removeAllListeners('error');
      // after listening (e.g. EMFILE on accept): log, keep serving
      srv.on('error', (err) => log.error({ err }, 'http server error'));
      const addr = srv.address() as AddressInfo;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    }
    const publicUrl = (
      o.publicUrl ??
      env.SETTLEMENT_PUBLIC_URL ??
      env.SETTLEMENT_URL ??
      url
    ).replace(/\/$/, '');
    for (const u of [central, ...regions.map((r) => r.unit)]) u.ctx.publicUrl = publicUrl;

    central.ready = true;
    startLoops(central);
    setups.forEach((l) => l.start());
    log.info(
      {
        url,
        db: db.kind,
        worker: runWorker,
        redis: clusterNodes ? 'cluster' : Boolean(redisUrl),
        providers: Object.keys(providers),
        holdTtlSeconds,
        holdMaxSeconds,
        paymentMethods,
        ...(regional ? { regions: Object.fromEntries(codes) } : {}),
      },
      api ? 'settlement listening' : 'settlement worker running',
    );

    let closed: Promise<void> | null = null;
    return {
      url,
      port: server ? (server.address() as AddressInfo).port : 0,
      db,
      ctx,
      get regions() {
        return regions.map(({ unit }) => ({
          slug: unit.slug!,
          code: unit.code!,
          ctx: unit.ctx,
          ready: unit.ready,
        }));
      },
      bus,
      async tick() {
        for (const u of [central, ...regions.map((r) => r.unit)]) {
          if (!u.ready) continue;
          await inRegion(u.code, () => workerTick(u.ctx, worker));
          await u.drain();
        }
      },
      close() {
        closed ??= (async () => {
          closing.abort();
          await Promise.all(setups.map((l) => l.stop()));
          const units = [central, ...regions.map((r) => r.unit)];
          await Promise.all(units.flatMap((u) => u.loops.map((l) => l.stop())));
          if (server) {
            const s = server;
            await new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            });
          }
          for (const c of cleanups.reverse()) await c();
          if (ownDb) await db.close();
        })();
        return closed;
      },
    };
  } catch (err) {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    if (ownDb) await db.close().catch(() => {});
    throw err;
  }
}
