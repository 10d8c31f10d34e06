/**
 * Benchmark: the embedded single room-server (its own process, file storage in a temp
 * DATA_DIR, exactly what `npm start -w room-server` runs) under increasing load, one
 * `patungan-load` run per level. Prints a Markdown table for docs/benchmarks.md.
 *
 *   npm run bench -w load-tests -- --levels 200,500,1000,2000 --members 5 --duration 40s
 *
 * Every run is bounded (its --duration plus settle) and the server is stopped by PID at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';
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
const port = await freePort();
const server: ChildProcess = spawn(
  process.execPath,
  [tsx, join(root, 'room-server', 'src', 'main.ts')],
  {
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
const rows: string[] = [];
try {
  const http = `http://127.0.0.1:${port}`;
  await waitHealthy(http);
  const levels = values.levels.split(',').map(Number);
  const started = new Date().toISOString();
  const load0 = loadavg()[0]!;
  for (const rooms of levels) {
    const json = join(dataDir, `level-${rooms}.json`);
    const args = [
      '--url',
      `ws://127.0.0.1:${port}`,
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
      '--pid',
      String(server.pid),
      '--max-connections',
      '20000',
      '--quiet',
      '--json',
      json,
    ];
    process.stderr.write(`\n== ${rooms} rooms: patungan-load ${args.join(' ')}\n`);
    const code = await run(args);
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadReport;
    const srv = r.servers.find((s) => s.url.startsWith('pid'));
    const lag = r.servers.find((s) => !s.url.startsWith('pid'))?.eventLoopLagP99Ms;
    rows.push(
      `| ${rooms} × ${values.members} | ${r.connections.peak} | ${f(r.edits.perSecond, 0)} | ${f(r.messages.perSecond, 0)} | ` +
        `${f(r.latency.all.p50, 2)} | ${f(r.latency.all.p95, 1)} | ${f(r.latency.all.p99, 1)} | ${f(r.latency.all.max, 0)} | ` +
        `${f(r.connections.sync.p99, 0)} | ${f(r.convergence.percent, 1)}% | ${r.errors.count} | ` +
        `${f(srv?.cpuPercent ?? null, 0)} / ${f(srv?.maxCpuPercent ?? null, 0)} | ${f(lag ?? null, 0)} | ` +
        `${f(r.generator.cpuPercent.mean, 0)} / ${Math.round(r.generator.eventLoopUtilisation.mean * 100)}% (${r.generator.workers}w) | ${code} |`,
    );
    process.stderr.write(rows[rows.length - 1] + '\n');
  }
  console.log(
    `\nConditions: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ` +
      `${f(load0, 2)} at start and ${f(loadavg()[0]!, 2)} at end, ${started}; members ${values.members}/room, ` +
      `rate ${values.rate} edits/s/room, presence ${values.presence}/s/member, churn ${values.churn}/min/member, ` +
      `duration ${values.duration} (ramp ${values.ramp}/s included).\n`,
  );
  console.log(
    '| rooms × members | peak conns | edits/s | msgs/s delivered | p50 ms | p95 ms | p99 ms | max ms | sync p99 ms | converged | errors | server CPU % mean / max | server loop p99 ms | generator CPU % / loop busy | exit |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
} finally {
  server.kill('SIGTERM');
  await new Promise<void>((r) => {
    const t = setTimeout(() => (server.kill('SIGKILL'), r()), 10_000);
    server.on('exit', () => (clearTimeout(t), r()));
  });
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}
