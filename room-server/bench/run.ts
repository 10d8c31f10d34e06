/**
 * Benchmark of one room-server instance (not a test). Usage:
 *
 *   npm run bench -w room-server -- idle  [--levels 1000,5000,10000,19500] [--members 5] [--settle 15]
 *   npm run bench -w room-server -- edit  [--rooms 1000] [--members 5] [--rates 1,2] [--seconds 30] [--presence yes]
 *   npm run bench -w room-server -- rules [--updates 20000] [--lines 50]   (in-process, bench/write-rules.ts)
 *
 * The server runs as `npm start` runs it (bin/start.mjs; `--runner tsx` for `tsx src/main.ts`;
 * `--entry bench/ws-floor.mjs` for a bare `ws` relay with the same node flags, the floor),
 * with file storage under a temp DATA_DIR and write rules on, pinned to core 0; the load generators are child processes pinned to core 1,
 * each with its own loopback source address (127.0.0.2, .3, …) so that ~20k connections fit
 * in the ephemeral port range. Everything stops by itself; each phase is bounded.
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { roomServerStartCommand } from '../../scripts/cluster.ts';

const args = process.argv.slice(2);
const mode = args[0] ?? 'edit';
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SECRET = 'bench-secret';
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');
const CLK = 100; // clock ticks per second in /proc

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** [user, system] CPU clock ticks of a process so far. */
function cpuTicks(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return [Number(f[11]), Number(f[12])]; // utime, stime
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startServer(): Promise<{
  child: ChildProcess;
  pid: number;
  url: string;
  httpUrl: string;
  stop(): Promise<void>;
}> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'room-bench-'));
  const extra = process.env.BENCH_NODE_OPTIONS ? process.env.BENCH_NODE_OPTIONS.split(' ') : [];
  // As `npm start` runs it (package.json's start script: its environment, node flags and
  // bin/start.mjs), as `npm run start:tsx` with --runner tsx, or --entry <file>: another
  // server with the same flags (bench/ws-floor.mjs, the floor).
  const start = roomServerStartCommand();
  const scriptEnv = start.env;
  const other = opt('entry', '');
  const entry =
    opt('runner', 'start') === 'tsx'
      ? ['--import', 'tsx', 'src/main.ts']
      : [...start.flags, other || join(root, '..', start.script)];
  const child = spawn('taskset', ['-c', '0', process.execPath, ...extra, ...entry], {
    cwd: root,
    env: {
      ...process.env,
      ...scriptEnv,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ROOM_TOKEN_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${httpUrl}/healthz`)).ok) break;
    } catch {
      await sleep(100);
    }
  }
  // taskset execs node, so the pid is the server's
  const pid = child.pid!;
  return {
    child,
    pid,
    url: `ws://127.0.0.1:${port}`,
    httpUrl,
    async stop() {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, sleep(10_000)]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface Worker {
  child: ChildProcess;
  ask<T>(cmd: unknown, reply: string): Promise<T>;
}

function startWorker(): Worker {
  const child = fork(join(here, 'loadgen.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  // pin the load generator to the other core
  spawn('taskset', ['-pc', '1', String(child.pid)], { stdio: 'ignore' });
  return {
    child,
    ask<T>(cmd: unknown, reply: string): Promise<T> {
      return new Promise((resolve) => {
        const on = (m: { type: string }) => {
          if (m.type === reply) {
            child.off('message', on);
            resolve(m as T);
          }
        };
        child.on('message', on);
        child.send(cmd as object);
      });
    },
  };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function idle(): Promise<void> {
  const levels = opt('levels', '1000,5000,10000,19500').split(',').map(Number);
  const members = Number(opt('members', '5'));
  const server = await startServer();
  const perWorker = 10_000;
  const workers = Array.from({ length: Math.ceil(Math.max(...levels) / perWorker) }, startWorker);
  const base = rssMb(server.pid);
  console.log(`server pid ${server.pid}, RSS with no connections: ${base.toFixed(1)} MB`);
  let open = 0;
  let roomNo = 0;
  const load = [0, 0];
  const rows: string[] = [];
  for (const level of levels) {
    // fill workers in order, 10k connections each
    while (open < level) {
      const w = Math.floor(open / perWorker);
      const n = Math.min(level - open, perWorker - (open % perWorker));
      const rooms = Array.from({ length: Math.ceil(n / members) }, () => `idle-${roomNo++}`);
      const r = await workers[w]!.ask<{ open: number }>(
        {
          type: 'connect',
          url: server.url,
          secret: SECRET,
          rooms,
          members,
          localAddress: `127.0.0.${2 + w}`,
          awareness: true,
        },
        'connected',
      );
      load[w] = r.open;
      open = load.reduce((a, b) => a + b, 0);
      if (n > 0 && r.open === 0) throw new Error('connections failed');
    }
    // let the server settle (V8's memory reducer runs a few seconds after allocation stops)
    await sleep(Number(opt('settle', '15')) * 1000);
    const health = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as {
      connections: number;
      rooms: number;
    };
    const rss = rssMb(server.pid);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const mem = (kind: string) =>
      Number(new RegExp(`memory_bytes\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1] ?? NaN) /
      1048576;
    console.log(
      `  heap used ${mem('heap_used').toFixed(1)} MB, heap total ${mem('heap_total').toFixed(1)} MB, external ${mem('external').toFixed(1)} MB`,
    );
    const row = `| ${health.connections} | ${health.rooms} | ${rss.toFixed(1)} MB | ${(((rss - base) * 1024) / health.connections).toFixed(2)} KB |`;
    rows.push(row);
    console.log(row);
  }
  console.log(
    '\n| connections | rooms | server RSS | RSS per connection (above the empty server) |\n| --- | --- | --- | --- |',
  );
  for (const r of rows) console.log(r);
  await Promise.all(workers.map((w) => w.ask({ type: 'close' }, 'closed')));
  await server.stop();
}

async function edit(): Promise<void> {
  const roomsN = Number(opt('rooms', '1000'));
  const members = Number(opt('members', '5'));
  const rates = opt('rates', '1,2').split(',').map(Number);
  const seconds = Number(opt('seconds', '30'));
  const server = await startServer();
  const worker = startWorker();
  const rooms = Array.from({ length: roomsN }, (_, i) => `edit-${i}`);
  const c = await worker.ask<{ open: number }>(
    {
      type: 'connect',
      url: server.url,
      secret: SECRET,
      rooms,
      members,
      localAddress: '127.0.0.2',
      awareness: opt('presence', 'no') === 'yes',
    },
    'connected',
  );
  console.log(`${c.open} connections in ${roomsN} rooms; server pid ${server.pid}`);
  const rows: string[] = [];
  for (const rate of rates) {
    // warm-up, then the measured window
    await worker.ask({ type: 'edit', ratePerRoom: rate, durationMs: 5000 }, 'edited');
    const t0 = cpuTicks(server.pid);
    const w0 = performance.now();
    const r = await worker.ask<{ latencies: number[]; edits: number; cpuMs: number }>(
      { type: 'edit', ratePerRoom: rate, durationMs: seconds * 1000 },
      'edited',
    );
    const wallS = (performance.now() - w0) / 1000;
    const t1 = cpuTicks(server.pid);
    const userCpu = ((t1[0] - t0[0]) / CLK / wallS) * 100;
    const sysCpu = ((t1[1] - t0[1]) / CLK / wallS) * 100;
    const serverCpu = userCpu + sysCpu;
    const genCpu = (r.cpuMs / 1000 / wallS) * 100;
    const lat = r.latencies.sort((a, b) => a - b);
    const row = `| ${roomsN} × ${members} | ${rate}/s per room | ${(r.edits / seconds).toFixed(0)} | ${lat.length} | ${pct(lat, 50).toFixed(2)} | ${pct(lat, 95).toFixed(2)} | ${pct(lat, 99).toFixed(2)} | ${serverCpu.toFixed(1)} % (user ${userCpu.toFixed(1)}, sys ${sysCpu.toFixed(1)}) | ${genCpu.toFixed(1)} % | ${rssMb(server.pid).toFixed(0)} MB |`;
    rows.push(row);
    console.log(row);
  }
  console.log(
    '\n| rooms × members | edit rate | edits/s | deliveries measured | p50 ms | p95 ms | p99 ms | server CPU (of one core) | load generator CPU | server RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const r of rows) console.log(r);
  await worker.ask({ type: 'close' }, 'closed');
  await server.stop();
}

const t = setTimeout(() => {
  console.error('benchmark took too long, stopping');
  process.exit(2);
}, 8 * 60_000);
if (mode === 'idle') await idle();
else if (mode === 'edit') await edit();
else if (mode === 'rules') await (await import('./write-rules.ts')).rulesBench(opt);
else {
  console.error('usage: npm run bench -w room-server -- idle|edit|rules [options]');
  process.exitCode = 1;
}
clearTimeout(t);
