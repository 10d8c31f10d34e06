/**
 * Benchmark: room-servers under increasing load, one `patungan-load` run per level; prints a
 * Markdown table for docs/benchmarks.md.
 *
 * - default: the embedded single room-server (its own process, file storage in a temp
 *   DATA_DIR, exactly what `npm start -w room-server` runs);
 * - `--instances N`: N room-servers in scaled mode on Redis, started with the cluster script
 *   (`npm run cluster`'s `startCluster`, own Redis key prefix, removed afterwards); members
 *   of each room alternate between instances.
 *
 *   npm run bench -w load-tests -- --levels 200,500,1000,2000 --members 5 --duration 40s
 *   npm run bench -w load-tests -- --instances 2 --levels 200,500,1000,2000
 *
 * Every run is bounded (its --duration plus settle) and every server is stopped at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { startCluster, type Cluster } from '../../scripts/cluster.ts';
import type { LoadReport } from '../src/report-types.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

const { values } = parseArgs({
  options: {
    levels: { type: 'string', default: '200,500,1000,2000' },
    members: { type: 'string', default: '5' },
    rate: { type: 'string', default: '1' },
    presence: { type: 'string', default: '0.5' },
    churn: { type: 'string', default: '0.5' },
    duration: { type: 'string', default: '40s' },
    ramp: { type: 'string', default: '500' },
    workers: { type: 'string', default: 'auto' },
    scenario: { type: 'string', default: 'shopping' },
    keep: { type: 'string' },
    instances: { type: 'string', default: '0' },
  },
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitHealthy(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`room-server at ${url} did not become healthy`);
}

function run(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [tsx, join(root, 'load-tests', 'src', 'cli.ts'), ...args],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    child.on('close', (code) => resolve(code));
  });
}

const f = (v: number | null | undefined, d = 1) =>
  v === null || v === undefined ? '–' : (Math.round(v * 10 ** d) / 10 ** d).toString();

const secret = `bench-${Date.now()}`;
const dataDir = mkdtempSync(join(tmpdir(), 'patungan-bench-'));
const instances = Number(values.instances);
const redisPrefix = `bench-${Date.now().toString(36)}:`;
let server: ChildProcess | null = null;
let cluster: Cluster | null = null;
/** ws:// URLs and PIDs of the room-servers under test. */
let targets: { url: string; pid: number }[];
const extraPids: number[] = [];
if (instances > 0) {
  cluster = await startCluster({
    instances,
    basePort: 0,
    lbPort: null,
    settlement: false,
    secret,
    dataDir,
    redisPrefix,
    env: { LOG_LEVEL: 'warn' },
    output: 'ignore',
  });
  targets = cluster.roomServers.map((s) => ({ url: s.url, pid: s.pid ?? 0 }));
  // Redis is shared by the instances; sample it too (when local) to see whether it saturates.
  const redisPid = Number(
    spawnSync('pidof', ['-s', 'redis-server'], { encoding: 'utf8' }).stdout?.trim() || 0,
  );
  if (redisPid) extraPids.push(redisPid);
} else {
  const port = await freePort();
  server = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'room-server', 'src', 'main.ts')],
    {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        ROOM_TOKEN_SECRET: secret,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  targets = [{ url: `ws://127.0.0.1:${port}`, pid: server.pid ?? 0 }];
}
const rows: string[] = [];
try {
  if (server) await waitHealthy(targets[0]!.url.replace('ws:', 'http:'));
  const levels = values.levels.split(',').map(Number);
  const started = new Date().toISOString();
  const load0 = loadavg()[0]!;
  for (const rooms of levels) {
    const json = join(dataDir, `level-${rooms}.json`);
    const args = [
      ...targets.flatMap((t) => ['--url', t.url]),
      '--secret',
      secret,
      '--scenario',
      values.scenario,
      '--rooms',
      String(rooms),
      '--members',
      values.members,
      '--rate',
      values.rate,
      '--presence',
      values.presence,
      '--churn',
      values.churn,
      '--ramp',
      values.ramp,
      '--duration',
      values.duration,
      '--workers',
      values.workers,
      ...[...targets.map((t) => t.pid), ...extraPids].flatMap((pid) => ['--pid', String(pid)]),
      '--max-connections',
      '20000',
      '--quiet',
      '--json',
      json,
    ];
    process.stderr.write(`\n== ${rooms} rooms: patungan-load ${args.join(' ')}\n`);
    const code = await run(args);
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadReport;
    const procs = r.servers.filter((x) => x.url.startsWith('pid'));
    const http = r.servers.filter((x) => !x.url.startsWith('pid'));
    const cpuOf = (x: (typeof procs)[number]) => `${f(x.cpuPercent, 0)}/${f(x.maxCpuPercent, 0)}`;
    const cpu = procs.slice(0, targets.length).map(cpuOf).join(', ');
    const redisCpu = procs[targets.length] ? cpuOf(procs[targets.length]!) : '–';
    const lag = http.map((x) => f(x.eventLoopLagP99Ms, 0)).join(', ');
    const lat = (s: typeof r.latency.all) =>
      `${f(s.p50, 2)} / ${f(s.p95, 1)} / ${f(s.p99, 1)} / ${f(s.max, 0)}`;
    rows.push(
      `| ${rooms} × ${values.members} | ${r.connections.peak} | ${f(r.edits.perSecond, 0)} | ${f(r.messages.perSecond, 0)} | ` +
        `${lat(r.latency.same)} | ${instances > 1 ? lat(r.latency.cross) + ' | ' : ''}` +
        `${f(r.connections.sync.p99, 0)} | ${f(r.convergence.percent, 1)}% | ${r.errors.count} | ` +
        `${cpu} | ${instances > 0 ? redisCpu + ' | ' : ''}${lag} | ` +
        `${f(r.generator.cpuPercent.mean, 0)} / ${Math.round(r.generator.eventLoopUtilisation.mean * 100)}% (${r.generator.workers}w) | ${f(r.generator.host.loadAverage.start, 1)} | ${code} |`,
    );
    process.stderr.write(rows[rows.length - 1] + '\n');
  }
  console.log(
    `\n${instances > 0 ? `${instances} room-servers + Redis (npm run cluster)` : 'Embedded single room-server (npm start -w room-server)'}. ` +
      `Conditions: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ` +
      `${f(load0, 2)} at start and ${f(loadavg()[0]!, 2)} at end, ${started}; members ${values.members}/room, ` +
      `rate ${values.rate} edits/s/room, presence ${values.presence}/s/member, churn ${values.churn}/min/member, ` +
      `duration ${values.duration} (ramp ${values.ramp}/s included).\n`,
  );
  const cross = instances > 1 ? ' cross-instance p50 / p95 / p99 / max ms |' : '';
  console.log(
    `| rooms × members | peak conns | edits/s | msgs/s delivered | ${instances > 1 ? 'same-instance' : 'latency'} p50 / p95 / p99 / max ms |${cross} sync p99 ms | converged | errors | server CPU % mean/max |${instances > 0 ? ' Redis CPU % mean/max |' : ''} server loop p99 ms | generator CPU % / loop busy | load avg | exit |`,
  );
  console.log(`|${' --- |'.repeat(14 + (instances > 1 ? 1 : 0) + (instances > 0 ? 1 : 0))}`);
  for (const row of rows) console.log(row);
} finally {
  if (server) {
    const srv = server;
    srv.kill('SIGTERM');
    await new Promise<void>((r) => {
      const t = setTimeout(() => (srv.kill('SIGKILL'), r()), 10_000);
      srv.on('exit', () => (clearTimeout(t), r()));
    });
  }
  if (cluster) {
    await cluster.stop();
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}
