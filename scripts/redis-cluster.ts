/**
 * A local Redis Cluster for `npm run cluster -- --redis-cluster`, the tests and the scaled
 * benchmark: N primaries with R replicas each (default 3 + 3) as child processes of this one,
 * on free ports (each port's cluster bus, port + 10000, free too), in a directory of their own,
 * without persistence. Needs `redis-server` and `redis-cli` (7.0+: sharded pub/sub) on PATH.
 *
 *   const rc = await startRedisCluster();   // rc.nodes: '127.0.0.1:P1,…' (REDIS_CLUSTER_NODES)
 *   await rc.kill(await rc.primaryOf('{room}'));   // SIGKILL: its replica takes over
 *   await rc.stop();                         // every node, by PID, and the directory
 *
 * Every node is killed by PID in `stop()`, and on this process's exit if `stop()` never ran.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const exec = promisify(execFile);

export interface RedisClusterOptions {
  host?: string;
  /** Primaries (default 3). */
  primaries?: number;
  /** Replicas per primary (default 1). */
  replicas?: number;
  /** `cluster-node-timeout`: how long a silent primary takes to be failed over (default 1500). */
  nodeTimeoutMs?: number;
  /** Where the nodes keep their cluster config (default: a new temp directory, removed at stop). */
  dir?: string;
  /** How long to wait for the cluster to be formed (default 30 s). */
  timeoutMs?: number;
}

export interface RedisClusterHandle {
  /** `host:port,…` of every node (REDIS_CLUSTER_NODES). */
  readonly nodes: string;
  readonly host: string;
  readonly ports: readonly number[];
  readonly dir: string;
  pid(port: number): number | undefined;
  /** The port of the primary serving this key's slot now. */
  primaryOf(key: string): Promise<number>;
  /** The ports of the replicas of the primary serving this key's slot now. */
  replicasOf(key: string): Promise<number[]>;
  /** Sends a signal to one node (SIGSTOP / SIGCONT: pause and resume it). */
  signal(port: number, signal: NodeJS.Signals): void;
  /** Ports of the current primaries. */
  primaryPorts(): Promise<number[]>;
  /** Sends a signal to one node and resolves once it has exited. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Resolves once every live node says `cluster_state:ok`, every slot's primary is one of the
   * live nodes, and every live replica's link to its primary is up.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node (SIGKILL, by PID) and removes the directory it made. */
  stop(): Promise<void>;
}

function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, host, () => s.close(() => res(true)));
  });
}

/** A port whose cluster bus port (+10000) is free as well. */
async function freeClusterPort(host: string, taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await bindable(host, port)) && (await bindable(host, port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `fn` on a one-shot connection to one node (no retries: a node that is down throws). */
async function withNode<T>(host: string, port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    host,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

const info = (host: string, port: number, section: 'cluster' | 'replication') =>
  withNode(host, port, async (r) => {
    const text = section === 'cluster' ? await r.cluster('INFO') : await r.info('replication');
    const slots = section === 'cluster' ? await r.cluster('SLOTS') : [];
    return { text: String(text), slots };
  });

export async function startRedisCluster(o: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const host = o.host ?? '127.0.0.1';
  const primaries = o.primaries ?? 3;
  const replicas = o.replicas ?? 1;
  const nodeTimeoutMs = o.nodeTimeoutMs ?? 1500;
  const ownDir = !o.dir;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'patungan-redis-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < primaries * (1 + replicas); i++)
    ports.push(await freeClusterPort(host, taken));

  const started = Date.now();
  const procs = new Map<number, ChildProcess>();
  const exited = new Map<number, Promise<void>>();
  const killAll = () => {
    for (const p of procs.values())
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  // This process exiting without stop(): the nodes go with it, and the directory made for them.
  const onExit = () => {
    killAll();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    killAll();
    await Promise.all(exited.values());
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  const live = () =>
    ports.filter((p) => {
      const c = procs.get(p);
      return c && c.exitCode === null && c.signalCode === null;
    });

  /** [primary, ...replicas] ports of the shard that serves this key's slot now. */
  const shardOf = async (key: string): Promise<number[]> => {
    for (const port of live()) {
      const shard = await withNode(host, port, async (r) => {
        const slot = Number(await r.cluster('KEYSLOT', key));
        const slots = await r.cluster('SLOTS');
        const owner = slots.find(([from, to]) => slot >= from && slot <= to);
        if (!owner) return null;
        // Replicas from CLUSTER NODES (CLUSTER SLOTS leaves out a replica whose offset is 0).
        const primary = owner[2] as unknown as [string, number, string];
        const replicas = String(await r.cluster('NODES'))
          .split('\n')
          .map((line) => line.split(' '))
          .filter(
            (f) => f[3] === primary[2] && /slave/.test(f[2] ?? '') && !/fail/.test(f[2] ?? ''),
          )
          .map((f) => Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]));
        return [Number(primary[1]), ...replicas];
      }).catch(() => null); // try the next node
      if (shard) return shard;
    }
    throw new Error(`no live node knows who serves ${key}`);
  };

  const handle: RedisClusterHandle = {
    nodes: ports.map((p) => `${host}:${p}`).join(','),
    host,
    ports,
    dir,
    pid: (port) => procs.get(port)?.pid,
    async primaryOf(key) {
      const [primary] = await shardOf(key);
      return primary!;
    },
    async replicasOf(key) {
      return (await shardOf(key)).slice(1);
    },
    signal(port, signal) {
      const p = procs.get(port);
      if (p && p.exitCode === null && p.signalCode === null) p.kill(signal);
    },
    async primaryPorts() {
      const { slots } = await info(host, live()[0]!, 'cluster');
      return [...new Set(slots.map((s) => Number(s[2]?.[1])))];
    },
    async kill(port, signal = 'SIGKILL') {
      const p = procs.get(port);
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      p.kill(signal);
      await exited.get(port);
    },
    async waitHealthy(timeoutMs = o.timeoutMs ?? 30_000) {
      const until = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < until) {
        try {
          const up = live();
          let ok = true;
          for (const port of up) {
            const c = await info(host, port, 'cluster');
            if (!/cluster_state:ok/.test(c.text)) {
              ok = false;
              last = `${port}: ${/cluster_state:\w+/.exec(c.text)?.[0]}`;
              break;
            }
            const owners = new Set(c.slots.map((s) => Number(s[2]?.[1])));
            const covered = c.slots.reduce((n, [from, to]) => n + to - from + 1, 0);
            if (covered !== 16384 || [...owners].some((p) => !up.includes(p))) {
              ok = false;
              last = `${port}: slot map not settled`;
              break;
            }
            const r = await info(host, port, 'replication');
            if (/role:slave/.test(r.text) && !/master_link_status:up/.test(r.text)) {
              ok = false;
              last = `${port}: replica link not up`;
              break;
            }
          }
          if (ok) return;
          if (process.env.REDIS_CLUSTER_DEBUG) console.error(Date.now() - started, last);
        } catch (err) {
          last = (err as Error).message;
        }
        await sleep(100);
      }
      throw new Error(`Redis Cluster not healthy within ${timeoutMs} ms (${last})`);
    },
    stop,
  };

  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          host,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          // A shard that lost its primary must not stop the others (rooms live on every shard).
          '--cluster-require-full-coverage',
          'no',
          // A replica syncs at once (the default waits 5 s for more replicas to share the transfer).
          '--repl-diskless-sync-delay',
          '0',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--daemonize',
          'no',
          '--logfile',
          join(dir, `redis-${port}.log`),
        ],
        { stdio: 'ignore' },
      );
      procs.set(port, child);
      exited.set(
        port,
        new Promise<void>((r) => {
          if (child.exitCode !== null) r();
          else child.once('exit', () => r());
        }),
      );
      child.once('error', () => {});
    }
    // Every node answers before the cluster is formed.
    const until = Date.now() + (o.timeoutMs ?? 30_000);
    for (const port of ports) {
      for (;;) {
        try {
          await exec('redis-cli', ['-h', host, '-p', String(port), 'ping']);
          break;
        } catch (err) {
          if (Date.now() > until)
            throw new Error(`redis-server on ${port} did not start`, { cause: err });
          if (procs.get(port)?.exitCode !== null)
            throw new Error(`redis-server on ${port} exited (is redis-server 7+ installed?)`);
          await sleep(50);
        }
      }
    }
    await exec('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `${host}:${p}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    if (process.env.REDIS_CLUSTER_DEBUG) console.error('created', Date.now() - started);
    await handle.waitHealthy();
    if (process.env.REDIS_CLUSTER_DEBUG) console.error('healthy', Date.now() - started);
  } catch (err) {
    await stop();
    throw err;
  }
  return handle;
}
