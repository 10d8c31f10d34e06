/**
 * `npm run cluster`: the scaled topology of docker-compose.yml as local processes.
 *
 *   npm run cluster -- --instances 3 --base-port 1234 [--lb-port 1230] [--web] [--no-settlement]
 *                      [--redis-cluster]   (a local 3 + 3 Redis Cluster, scripts/redis-cluster.ts)
 *
 * Starts N room-servers on consecutive ports (scaled mode: REDIS_URL), a small TCP round-robin
 * load balancer in front of them (`--lb-port`, as haproxy does in compose), the settlement
 * API and worker (one process on PGlite, two on PostgreSQL), and optionally web; waits for every /healthz, prints the URLs, and on
 * Ctrl-C / SIGTERM stops every child (SIGTERM, a grace period, then SIGKILL). Redis and
 * PostgreSQL come from the environment: REDIS_URL (default redis://127.0.0.1:6379),
 * DATABASE_URL (unset: settlement on PGlite under DATA_DIR). See docs/scaling.md.
 *
 * Tests and the load tests use `startCluster()` directly: each room-server is one real child
 * process (node --import tsx, no wrapper), so `kill('SIGKILL')` is a real crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startRegionDatabases } from './cluster-regions.ts';
import {
  MIN_SECRET_BYTES,
  RoomTokenSecretError,
  dataDir,
  roomTokenSecret,
  weakSecretReason,
} from '@patungan/model/node';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const GRACE_MS = 10_000;

export type Output = 'prefix' | 'ignore' | ((name: string, line: string) => void);

export interface ClusterOptions {
  /** Number of room-servers (default 2). */
  instances?: number;
  /** First room-server port; the others follow (default 1234; 0 = free ports). */
  basePort?: number;
  host?: string;
  /** TCP round-robin balancer over the room-servers on this port (null: none; 0: free port). */
  lbPort?: number | null;
  redisUrl?: string;
  /** `host:port,…` of a Redis Cluster (REDIS_CLUSTER_NODES, wins over `redisUrl`). */
  redisClusterNodes?: string;
  /** Key / channel prefix in Redis (default `patungan:`). */
  redisPrefix?: string;
  databaseUrl?: string;
  /** Start settlement API + worker (default true). */
  settlement?: boolean;
  settlementPort?: number;
  /** Start web (default false; needs a built web app). */
  web?: boolean;
  webPort?: number;
  secret?: string;
  dataDir?: string;
  /** Extra environment for every child (e.g. LOG_LEVEL, SCALE_LEASE_MS). */
  env?: NodeJS.ProcessEnv;
  output?: Output;
  /** How long to wait for each /healthz (default 60 s). */
  healthTimeoutMs?: number;
  /**
   * Run room-servers as `npm start -w room-server` does (bundled, plain node with the start
   * script's flags) instead of `tsx src/main.ts` (default false: tests start faster with tsx).
   */
  bundled?: boolean;
}

export interface ChildHandle {
  readonly name: string;
  readonly port: number;
  readonly httpUrl: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Sends a signal (SIGKILL = crash) and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again (same port, a new instance id) and waits for /healthz. */
  start(): Promise<void>;
}

export interface RoomServerHandle extends ChildHandle {
  /** `ws://host:port` for y-websocket clients. */
  readonly url: string;
}

export interface Cluster {
  roomServers: RoomServerHandle[];
  /** The balancer's `ws://` URL, when `lbPort` was given. */
  lbUrl: string | null;
  settlementUrl: string | null;
  webUrl: string | null;
  secret: string;
  /** Stops every child (SIGTERM, then SIGKILL after the grace period) and the balancer. */
  stop(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitHealthy(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!alive()) throw new Error(`${url}: the process exited before it became healthy`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timeout reached while waiting for ${url}/healthz`);
}

class Child implements ChildHandle {
  #proc: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #readyLine: Promise<void> = Promise.resolve();
  constructor(
    readonly name: string,
    readonly port: number,
    readonly httpUrl: string,
    /** Node arguments after the executable: `--import tsx <entry>`, or flags + a script. */
    private readonly args: string[],
    private readonly env: () => NodeJS.ProcessEnv,
    private readonly output: Output,
    private readonly healthTimeoutMs: number,
    /** Wait for /healthz (true) or for a `"ready":true` line on stdout (false: no HTTP). */
    private readonly http: boolean,
    private readonly onUnexpectedExit: (c: Child, code: number | null) => void,
  ) {}

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  get running(): boolean {
    const p = this.#proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const proc = spawn(process.execPath, this.args, {
      cwd: ROOT,
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#proc = proc;
    let ready!: () => void;
    this.#readyLine = new Promise((r) => (ready = r));
    const out = this.output;
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (line.includes('"ready":true')) ready();
        if (out === 'prefix') console.log(`[${this.name}]`.padEnd(14), line);
        else if (typeof out === 'function') out(this.name, line);
      });
    }
    this.#exited = new Promise((res) => {
      proc.once('exit', (code) => {
        if (this.#proc === proc && !this.stopping) this.onUnexpectedExit(this, code);
        res();
      });
      proc.once('error', () => res());
    });
    if (this.http) await waitHealthy(this.httpUrl, this.healthTimeoutMs, () => this.running);
    else
      await Promise.race([
        this.#readyLine,
        this.#exited.then(() => {
          throw new Error(`${this.name} exited before it was ready`);
        }),
      ]);
  }

  stopping = false;

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.#proc;
    if (!p || !this.running) return;
    this.stopping = true;
    try {
      p.kill(signal);
      await this.#exited;
    } finally {
      this.stopping = false;
    }
  }

  /** SIGKILL without waiting (process exit handler). */
  killNow(): void {
    if (this.running) this.#proc?.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    const t = setTimeout(() => this.#proc?.kill('SIGKILL'), GRACE_MS);
    this.#proc?.kill('SIGTERM');
    await this.#exited;
    clearTimeout(t);
  }
}

class RoomChild extends Child implements RoomServerHandle {
  get url(): string {
    return this.httpUrl.replace(/^http/, 'ws');
  }
}

/**
 * A TCP round-robin balancer (what haproxy does in compose, minus health checks: a backend
 * that refuses the connection is skipped and the next one is tried).
 */
function startBalancer(
  host: string,
  port: number,
  backends: readonly { port: number }[],
): Promise<Server> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const tryBackend = (attempt: number) => {
      if (attempt >= backends.length) return client.destroy();
      const b = backends[next++ % backends.length]!;
      const upstream = connect(b.port, host);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
      // A backend that refuses (down, restarting) is skipped: try the next one.
      upstream.once('error', () => {
        if (!connected) tryBackend(attempt + 1);
      });
    };
    tryBackend(0);
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res(server));
  });
}

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const host = o.host ?? '127.0.0.1';
  const n = o.instances ?? 2;
  if (!Number.isInteger(n) || n < 1) throw new Error('--instances must be a positive integer');
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...o.env };
  const dir = resolve(o.dataDir ?? dataDir(baseEnv));
  // Scaled topology: every part refuses a missing, short or well-known secret
  // (model/src/node.ts). Without one given, this cluster makes a strong random one (32 random
  // bytes) and keeps it in DATA_DIR/room-token-secret (0600), where `npm run load` finds it.
  const secret = o.secret ?? (baseEnv.ROOM_TOKEN_SECRET || roomTokenSecret({ DATA_DIR: dir }));
  const weak = weakSecretReason(secret);
  if (weak) {
    throw new RoomTokenSecretError(
      `${weak}; a cluster needs at least ${MIN_SECRET_BYTES} bytes (or leave it unset and one is generated)`,
    );
  }
  const redisUrl = o.redisUrl ?? baseEnv.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = o.redisPrefix ?? baseEnv.REDIS_PREFIX ?? 'patungan:';
  const output = o.output ?? 'prefix';
  const healthTimeoutMs = o.healthTimeoutMs ?? 60_000;
  const start = o.bundled ? roomServerStartCommand() : null;
  const roomArgs = start
    ? [...start.flags, start.script]
    : ['--import', 'tsx', 'room-server/src/main.ts'];
  const roomEnv = start?.env ?? {};
  const base = o.basePort ?? 1234;
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(base === 0 ? await freePort(host) : base + i);
  const lbPort = o.lbPort === 0 ? await freePort(host) : (o.lbPort ?? null);
  const withSettlement = o.settlement ?? true;
  const settlementPort = withSettlement
    ? o.settlementPort === 0 || base === 0
      ? await freePort(host)
      : (o.settlementPort ?? 4000)
    : null;
  const settlementUrl = settlementPort ? `http://${host}:${settlementPort}` : null;
  const roomInternal = lbPort ? `http://${host}:${lbPort}` : `http://${host}:${ports[0]}`;
  const common: NodeJS.ProcessEnv = {
    ...baseEnv,
    HOST: host,
    ROOM_TOKEN_SECRET: secret,
    REDIS_URL: redisUrl,
    ...(o.redisClusterNodes ? { REDIS_CLUSTER_NODES: o.redisClusterNodes } : {}),
    REDIS_PREFIX: prefix,
    SETTLEMENT_URL: settlementUrl ?? 'http://127.0.0.1:4000',
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
  };
  if (!common.DATABASE_URL) delete common.DATABASE_URL;

  const children: Child[] = [];
  let stopping = false;
  // Last line of defence: if this process exits without stop() (a test runner giving up on
  // a test, an uncaught error), take the children with it instead of leaving them running.
  const killAll = () => {
    for (const child of children) child.killNow();
  };
  process.once('exit', killAll);
  const onUnexpectedExit = (c: Child, code: number | null) => {
    if (stopping) return;
    if (output === 'prefix') console.error(`${c.name} exited (${code}).`);
  };

  const roomServers = ports.map((port, i) => {
    const roomDir = join(dir, `room-${i + 1}`);
    mkdirSync(roomDir, { recursive: true });
    return new RoomChild(
      `room-${i + 1}`,
      port,
      `http://${host}:${port}`,
      roomArgs,
      () => ({
        ...common,
        ...roomEnv,
        PORT: String(port),
        DATA_DIR: roomDir,
        // The scale layer adds a random suffix per start (a restart gets a new lease).
        INSTANCE_ID: `room${i + 1}`,
        UNLOAD_DELAY_MS: common.UNLOAD_DELAY_MS ?? '5000',
      }),
      output,
      healthTimeoutMs,
      true,
      onUnexpectedExit,
    );
  });
  children.push(...roomServers);

  let balancer: Server | null = null;
  const cluster: Cluster = {
    roomServers,
    lbUrl: lbPort ? `ws://${host}:${lbPort}` : null,
    settlementUrl,
    webUrl: null,
    secret,
    async stop() {
      stopping = true;
      process.off('exit', killAll);
      await Promise.all(children.map((c) => c.stop()));
      await new Promise<void>((r) => (balancer ? balancer.close(() => r()) : r()));
    },
  };

  try {
    // The balancer binds its port first: a port picked free is taken the moment it is bound,
    // not seconds later when the room-servers are up (an outgoing connection of another
    // process took it meanwhile once: EADDRINUSE). Until they are, it skips refused backends.
    if (lbPort) balancer = await startBalancer(host, lbPort, roomServers);
    await Promise.all(roomServers.map((r) => r.start()));
    const settleEnv = {
      ...common,
      DATA_DIR: join(dir, 'settlement'),
      ROOM_SERVER_INTERNAL_URL: roomInternal,
      SETTLEMENT_PUBLIC_URL: baseEnv.SETTLEMENT_PUBLIC_URL ?? settlementUrl ?? undefined,
    };
    // PGlite is one process's database: without DATABASE_URL the API runs the worker itself.
    const separateWorker = !!common.DATABASE_URL;
    if (settlementPort && settlementUrl) {
      const api = new Child(
        'settlement',
        settlementPort,
        settlementUrl,
        ['--import', 'tsx', 'settlement/src/main.ts'],
        () => ({
          ...settleEnv,
          PORT: String(settlementPort),
          SETTLEMENT_WORKER: separateWorker ? 'off' : 'on',
        }),
        output,
        healthTimeoutMs,
        true,
        onUnexpectedExit,
      );
      children.push(api);
      await api.start();
      if (separateWorker) {
        const worker = new Child(
          'settle-worker',
          0,
          '',
          ['--import', 'tsx', 'settlement/src/worker-main.ts'],
          () => settleEnv,
          output,
          healthTimeoutMs,
          false,
          onUnexpectedExit,
        );
        children.push(worker);
        await worker.start();
      }
    }
    if (o.web) {
      const webPort = o.webPort ?? 3000;
      const webUrl = `http://${host}:${webPort}`;
      const { BUILD_ENTRY, buildWebLocked } = await import('./build-web.ts');
      buildWebLocked();
      const web = new Child(
        'web',
        webPort,
        webUrl,
        ['--import', 'tsx', BUILD_ENTRY],
        () => ({
          ...common,
          PORT: String(webPort),
          DATA_DIR: join(dir, 'web'),
          ORIGIN: webUrl,
          ROOM_SERVER_URL: lbPort ? `ws://localhost:${lbPort}` : `ws://localhost:${ports[0]}`,
          ROOM_SERVER_INTERNAL_URL: roomInternal,
        }),
        output,
        healthTimeoutMs,
        true,
        onUnexpectedExit,
      );
      children.push(web);
      await web.start();
      cluster.webUrl = webUrl;
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', short: 'n', default: '2' },
      'base-port': { type: 'string', default: '1234' },
      'lb-port': { type: 'string' },
      'settlement-port': { type: 'string', default: '4000' },
      'no-settlement': { type: 'boolean', default: false },
      web: { type: 'boolean', default: false },
      'redis-cluster': { type: 'boolean', default: false },
      'web-port': { type: 'string', default: '3000' },
      regions: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      [
        'npm run cluster -- [options]   the scaled topology as local processes',
        '  -n, --instances N       room-servers (default 2)',
        '  --base-port P           first room-server port, the others follow (default 1234)',
        '  --lb-port P             TCP round-robin balancer over the room-servers',
        '  --settlement-port P     settlement API port (default 4000)',
        '  --no-settlement         room-servers only',
        '  --web [--web-port P]    also start web (builds it if needed)',
        '  --redis-cluster         a local Redis Cluster (3 primaries + 3 replicas, free ports)',
        '                          instead of REDIS_URL (scripts/redis-cluster.ts)',
        '  --regions N             central + N region PostgreSQL clusters for settlement',
        'Environment: REDIS_URL (redis://127.0.0.1:6379), REDIS_PREFIX, DATABASE_URL (unset:',
        'PGlite under DATA_DIR), DATA_DIR, ROOM_TOKEN_SECRET, LOG_LEVEL, SCALE_LEASE_MS.',
      ].join('\n'),
    );
    return;
  }
  const num = (name: string, v: string | undefined) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0) throw new Error(`--${name} must be a port number`);
    return x;
  };
  const redisCluster = values['redis-cluster']
    ? await (await import('./redis-cluster.ts')).startRedisCluster()
    : null;
  const regions = values.regions ? await startRegionDatabases(Number(values.regions)) : null;
  const cluster = await startCluster({
    ...(redisCluster ? { redisClusterNodes: redisCluster.nodes } : {}),
    ...(regions ? { env: regions.env, databaseUrl: regions.env.DATABASE_URL } : {}),
    instances: num('instances', values.instances),
    basePort: num('base-port', values['base-port']),
    lbPort: values['lb-port'] === undefined ? null : num('lb-port', values['lb-port']),
    settlement: !values['no-settlement'],
    settlementPort: num('settlement-port', values['settlement-port']),
    web: values.web,
    webPort: num('web-port', values['web-port']),
    output: 'prefix',
    bundled: true, // as `npm start -w room-server` runs them
  }).catch(async (err: unknown) => {
    await regions?.stop();
    throw err;
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    void cluster
      .stop()
      .then(() => redisCluster?.stop())
      .then(() => regions?.stop())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(
    [
      '',
      'Patungan — scaled mode (local processes)',
      ...cluster.roomServers.map((r) => `  ${r.name.padEnd(12)} ${r.url}   (${r.httpUrl}/healthz)`),
      ...(cluster.lbUrl ? [`  balancer     ${cluster.lbUrl}`] : []),
      ...(redisCluster ? [`  redis cluster ${redisCluster.nodes}`] : []),
      ...(cluster.settlementUrl ? [`  settlement   ${cluster.settlementUrl}`] : []),
      ...(cluster.webUrl ? [`  web          ${cluster.webUrl}`] : []),
      ...(regions?.lines ?? []),
      '',
      `  load test:   npm run load -- ${cluster.roomServers.map((r) => `--url ${r.url}`).join(' ')}`,
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`npm run cluster failed: ${(err as Error).message}`);
    process.exit(1);
  });
}

/**
 * `npm start -w room-server` as environment, node flags and script (relative to the
 * repository root): package.json's start script is `[NAME=value …] node [flags …] bin/start.mjs`.
 * The cluster, the room-server benchmark and the compose test all run it from here.
 */
export function roomServerStartCommand(): {
  env: Record<string, string>;
  flags: string[];
  script: string;
} {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'room-server', 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0] ?? '')) {
    const w = words.shift()!;
    env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  words.shift(); // node
  const script = words.pop()!;
  return { env, flags: words, script: join('room-server', script) };
}
