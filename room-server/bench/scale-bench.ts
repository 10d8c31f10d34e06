/**
 * Scaled-mode benchmark (not a test): 2 room-server instances + a private Redis, the load tool
 * (load-tests/) with every room's members spread over both instances, at several edit rates.
 * Prints cross-instance propagation latency, Redis commands and CPU per edit, and whether every
 * room converged. Bounded: each run is `--duration` plus the settle time.
 *
 *   npx tsx room-server/bench/scale-bench.ts [--rooms 1000] [--members 5] [--rates 1,2,4]
 *                                           [--duration 30s] [--presence 0] [--json-dir DIR]
 *                                           [--runner start|tsx] [--generator tool|light]
 *                                           [--redis-cluster]
 *
 * `--generator tool` (default) is the load tool of load-tests/ (a real Y.Doc per member that
 * applies everything it receives, ~0.6 of a core at 1,000 edits/s). `--generator light` is
 * bench/loadgen.ts, the room-server benchmark's generator (members write through their own
 * Y.Doc but only read the header of what they receive, ~0.15 of a core), so that on a 2-core
 * machine the instances are not starved by the generator; its convergence check asks every
 * member's instance for the whole document at the end.
 *
 * `--rates` are edits per second per room (1,000 rooms × 1 = 1,000 edits/s). Redis is a
 * private redis-server on a free port (the machine's shared Redis is never touched), so its
 * command counts belong to this run alone. `--redis-cluster`: a private Redis Cluster of 3
 * primaries + 3 replicas instead (scripts/redis-cluster.ts; the instances get
 * REDIS_CLUSTER_NODES): commands are counted on the primaries, CPU on every node (a replica's
 * CPU is part of what an edit costs).
 */
import { fork, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startCluster, type Cluster } from '../../scripts/cluster.ts';
import { startRedisCluster, type RedisClusterHandle } from '../../scripts/redis-cluster.ts';
import { PrivateRedis } from '../test/scale-helpers.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const SECRET = 'scale-bench-secret-0123456789abcdef';

const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '1000' },
    members: { type: 'string', default: '5' },
    rates: { type: 'string', default: '1,2,4' },
    duration: { type: 'string', default: '30s' },
    presence: { type: 'string', default: '0' },
    'json-dir': { type: 'string' },
    runner: { type: 'string', default: 'start' },
    generator: { type: 'string', default: 'tool' },
    'redis-cluster': { type: 'boolean', default: false },
  },
});

interface Report {
  durationS: number;
  edits: { sent: number; perSecond: number };
  latency: { cross: Lat; same: Lat; all: Lat; steady: Lat };
  convergence: { rooms: number; checked: number; converged: number; percent: number | null };
  connections: { opened: number; failed: number; unexpectedCloses: number; reconnects: number };
  errors: { count: number };
  servers: {
    url: string;
    cpuPercent: number | null;
    maxCpuPercent: number | null;
    rssMiB: number | null;
  }[];
  generator: { cpuPercent: { mean: number }; saturated: boolean; warnings: string[] };
}
interface Lat {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** A Redis node whose stats count: its commands only if it is a primary; its CPU always. */
interface StatsNode {
  r: Redis;
  primary: boolean;
}

async function commandStats(
  nodes: StatsNode[],
): Promise<{ calls: Map<string, number>; cpu: number }> {
  const calls = new Map<string, number>();
  let cpu = 0;
  for (const { r, primary } of nodes) {
    if (primary) {
      const text = await r.info('commandstats');
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
        calls.set(m[1]!, (calls.get(m[1]!) ?? 0) + Number(m[2]));
    }
    const cpuText = await r.info('cpu');
    cpu +=
      Number(/used_cpu_user:([\d.]+)/.exec(cpuText)?.[1] ?? 0) +
      Number(/used_cpu_sys:([\d.]+)/.exec(cpuText)?.[1] ?? 0);
  }
  return { calls, cpu };
}

function runLoad(args: string[]): Promise<number> {
  return new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'load-tests/src/cli.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ROOM_TOKEN_SECRET: SECRET },
    });
    p.on('exit', (code) => res(code ?? 1));
  });
}

const fmt = (n: number | null | undefined, d = 1) => (n == null ? '–' : n.toFixed(d));

/**
 * A private Redis (or Redis Cluster), clients for its stats, and 2 room-server instances on it.
 */
async function startTopology() {
  const dir = resolve(values['json-dir'] ?? join(tmpdir(), `scale-bench-${Date.now()}`));
  mkdirSync(dir, { recursive: true });
  let redis: PrivateRedis | RedisClusterHandle;
  let r: StatsNode[];
  if (values['redis-cluster']) {
    const rc = await startRedisCluster();
    const primaries = new Set(await rc.primaryPorts());
    redis = rc;
    r = rc.ports.map((port) => ({
      r: new Redis({ host: rc.host, port }),
      primary: primaries.has(port),
    }));
  } else {
    redis = await PrivateRedis.start();
    r = [{ r: new Redis(redis.url), primary: true }];
  }
  const cluster = await startCluster({
    instances: 2,
    basePort: 0,
    settlement: false,
    ...('nodes' in redis ? { redisClusterNodes: redis.nodes } : { redisUrl: redis.url }),
    secret: SECRET,
    dataDir: join(dir, 'data'),
    output: 'ignore',
    // as `npm start -w room-server` runs them; `--runner tsx`: tsx src/main.ts
    bundled: values.runner !== 'tsx',
    // Bench traffic is far above a phone's: lift the per-connection rate limit.
    env: { LOG_LEVEL: 'warn', MESSAGES_PER_SECOND: '1000', MESSAGE_BURST: '1000' },
  });
  return { dir, redis, r, cluster };
}

async function main(): Promise<void> {
  const rooms = Number(values.rooms);
  const members = Number(values.members);
  const rates = values.rates!.split(',').map(Number);
  const { dir, redis, r, cluster } = await startTopology();
  const rows: string[] = [];
  try {
    for (const rate of rates) {
      const before = await commandStats(r);
      const json = join(dir, `rate-${rate}.json`);
      console.log(`\n=== ${rooms} rooms × ${members} members, ${rate} edit/s per room ===`);
      const code = await runLoad([
        ...cluster.roomServers.flatMap((s) => ['--url', s.url]),
        ...cluster.roomServers.flatMap((s) => ['--pid', String(s.pid)]),
        '--secret',
        SECRET,
        '--spread',
        'members',
        '--rooms',
        String(rooms),
        '--members',
        String(members),
        '--rate',
        String(rate),
        '--presence',
        values.presence!,
        '--churn',
        '0',
        '--ramp',
        '1000',
        '--duration',
        values.duration!,
        '--settle',
        '20s',
        '--max-connections',
        String(rooms * members),
        '--quiet',
        '--json',
        json,
      ]);
      const after = await commandStats(r);
      const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
      const edits = rep.edits.sent || 1;
      let total = 0;
      const per: string[] = [];
      for (const [cmd, n] of after.calls) {
        const d = n - (before.calls.get(cmd) ?? 0);
        if (cmd === 'info' || d <= 0) continue;
        total += d;
        per.push(`${cmd} ${(d / edits).toFixed(2)}`);
      }
      // The load tool reports each server twice (its /metrics scrape, our --pid sampling).
      const servers = rep.servers.filter((s) => s.cpuPercent != null);
      const cpuMsPerEdit = servers.map(
        (s) => ((s.cpuPercent! / 100) * rep.durationS * 1000) / edits,
      );
      const redisCpuMs = ((after.cpu - before.cpu) * 1000) / edits;
      const c = rep.latency.cross;
      const row = [
        `${rate * rooms}`,
        fmt(rep.edits.perSecond, 0),
        fmt(c.p50),
        fmt(c.p95),
        fmt(c.p99),
        fmt(c.max),
        (total / edits).toFixed(2),
        servers.map((s) => fmt(s.cpuPercent, 0)).join(' / '),
        cpuMsPerEdit.map((x) => fmt(x, 3)).join(' / '),
        redisCpuMs.toFixed(3),
        `${rep.convergence.converged}/${rep.convergence.checked}`,
        fmt(rep.generator.cpuPercent.mean, 0),
      ].join(' | ');
      rows.push(`| ${row} |`);
      console.log(`load exit ${code}; redis commands per edit: ${per.join(', ')}`);
      console.log(
        `connections opened ${rep.connections.opened}, failed ${rep.connections.failed}, ` +
          `unexpected closes ${rep.connections.unexpectedCloses}, errors ${rep.errors.count}, ` +
          `generator saturated: ${rep.generator.saturated} ${rep.generator.warnings.join('; ')}`,
      );
    }
  } finally {
    await stopTopology(redis, r, cluster);
  }
  printTable(
    'target edits/s | achieved | cross p50 ms | p95 | p99 | max | Redis cmds/edit | server CPU % (a / b) | server CPU ms/edit (a / b) | Redis CPU ms/edit | rooms converged | generator CPU %',
    rows,
  );
  console.log(`\nJSON reports: ${dir}`);
}

/** utime + stime of a process in clock ticks (100 per second). */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

function pct(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `--generator light`: bench/loadgen.ts against the instances, then a convergence check. */
async function light(): Promise<void> {
  const rooms = Number(values.rooms);
  const members = Number(values.members);
  const rates = values.rates!.split(',').map(Number);
  const seconds = Number(/^(\d+)s?$/.exec(values.duration!)?.[1] ?? '30');
  const { redis, r, cluster } = await startTopology();
  const gen = fork(fileURLToPath(new URL('loadgen.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const ask = <T>(cmd: object, reply: string) =>
    new Promise<T>((res) => {
      const on = (m: { type: string }) => {
        if (m.type !== reply) return;
        gen.off('message', on);
        res(m as T);
      };
      gen.on('message', on);
      gen.send(cmd);
    });
  const rows: string[] = [];
  try {
    const urls = cluster.roomServers.map((x) => x.url);
    const ids = Array.from({ length: rooms }, (_, i) => `light-${i}`);
    const c = await ask<{ open: number }>(
      {
        type: 'connect',
        url: urls[0],
        urls,
        secret: SECRET,
        rooms: ids,
        members,
        localAddress: '127.0.0.2',
        awareness: false,
      },
      'connected',
    );
    console.log(`${c.open} connections in ${rooms} rooms over ${urls.length} instances`);
    for (const rate of rates) {
      await ask({ type: 'edit', ratePerRoom: rate, durationMs: 5000 }, 'edited'); // warm-up
      const pids = cluster.roomServers.map((x) => x.pid!);
      const t0 = pids.map(cpuTicks);
      const before = await commandStats(r);
      const w0 = performance.now();
      const res = await ask<{ cross: number[]; same: number[]; edits: number; cpuMs: number }>(
        { type: 'edit', ratePerRoom: rate, durationMs: seconds * 1000 },
        'edited',
      );
      const wall = (performance.now() - w0) / 1000;
      const after = await commandStats(r);
      const cpu = pids.map((pid, i) => (cpuTicks(pid) - t0[i]!) / wall); // % of a core
      let cmds = 0;
      for (const [cmd, n] of after.calls) {
        if (cmd !== 'info') cmds += n - (before.calls.get(cmd) ?? 0);
      }
      const edits = res.edits || 1;
      const crossMs = res.cross.sort((a, b) => a - b);
      const sameMs = res.same.sort((a, b) => a - b);
      const row = [
        `${rate * rooms}`,
        (res.edits / seconds).toFixed(0),
        `${fmt(pct(crossMs, 50))} / ${fmt(pct(crossMs, 95))} / ${fmt(pct(crossMs, 99))}`,
        `${fmt(pct(sameMs, 50))} / ${fmt(pct(sameMs, 95))} / ${fmt(pct(sameMs, 99))}`,
        (cmds / edits).toFixed(2),
        cpu.map((x) => x.toFixed(0)).join(' / '),
        cpu
          .map((x) => ((x / 100) * wall * 1000) / edits)
          .map((x) => x.toFixed(3))
          .join(' / '),
        (((after.cpu - before.cpu) * 1000) / edits).toFixed(3),
        ((res.cpuMs / 1000 / wall) * 100).toFixed(0),
      ].join(' | ');
      rows.push(`| ${row} |`);
      console.log(`| ${row} |`);
    }
    // Instances may still be working off a backlog: check again every 2 s, for up to 30 s.
    const settled = performance.now();
    for (;;) {
      const conv = await ask<{ rooms: number; checked: number; converged: number }>(
        { type: 'check' },
        'checked',
      );
      const waited = (performance.now() - settled) / 1000;
      console.log(
        `convergence after ${waited.toFixed(1)} s: ${conv.converged} of ${conv.checked} rooms ` +
          `checked (${conv.rooms} rooms) have the same document on both instances`,
      );
      if (conv.converged === conv.checked || waited > 30) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
  } finally {
    await ask({ type: 'close' }, 'closed');
    await stopTopology(redis, r, cluster);
  }
  printTable(
    'target edits/s | sent/s | cross-instance p50 / p95 / p99 ms | same-instance p50 / p95 / p99 ms | Redis cmds/edit | server CPU % (a / b) | server CPU ms/edit (a / b) | Redis CPU ms/edit | generator CPU %',
    rows,
  );
}

async function stopTopology(
  redis: PrivateRedis | RedisClusterHandle,
  r: StatsNode[],
  cluster: Cluster,
): Promise<void> {
  await cluster.stop();
  for (const n of r) n.r.disconnect();
  await redis.stop();
}

/** The machine's load average, then a markdown table of the rows. */
function printTable(header: string, rows: string[]): void {
  const load = loadavg().map((x) => x.toFixed(2));
  console.log(
    `\n${values['redis-cluster'] ? 'Redis Cluster (3 primaries + 3 replicas)' : 'single Redis'}; load average at the end: ${load.join(' ')}`,
  );
  console.log(`\n| ${header} |`);
  console.log(`|${' --- |'.repeat(header.split('|').length)}`);
  for (const row of rows) console.log(row);
}

(values.generator === 'light' ? light() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
