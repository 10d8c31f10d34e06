/**
 * Benchmark of one room-server instance (not a test). Usage:
 *
 *   npm run bench -w room-server -- idle  [--levels 1000,5000,10000,19500] [--members 5] [--settle 15]
 *   npm run bench -w room-server -- edit  [--rooms 1000] [--members 5] [--rates 1,2] [--seconds 30] [--presence yes]
 *   npm run bench -w room-server -- rules [--updates 20000] [--lines 50]   (in-process, bench/write-rules.ts)
 *
 * `--peer reference` (or `floor`, or `reference,floor`) runs the same load against the stock
 * y-websocket server (bench/reference-server.mjs) / a bare `ws` relay (bench/ws-floor.mjs)
 * after the room-server, in the same run, and prints the room-server's figures as ratios to
 * theirs. `idle` measures CPU 0–5 s, 25–30 s and 35–40 s after each step's last connection
 * opened, and at the highest level 40–100 s too (`--minute no`: not).
 *
 * The server runs as `npm start` runs it (bin/start.mjs; `--runner tsx` for `tsx src/main.ts`;
 * `--entry bench/ws-floor.mjs` for a bare `ws` relay with the same node flags, the floor),
 * with file storage under a temp DATA_DIR and write rules on, pinned to core 0; the load generators are child processes pinned to core 1,
 * each with its own loopback source address (127.0.x.y, fresh per server and run) so that ~20k connections fit
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

/** The server under test: the room-server, or a peer run with the same loads in the same run. */
type Kind = 'patungan' | 'reference' | 'floor';
const PEERS: Record<Exclude<Kind, 'patungan'>, string> = {
  reference: 'bench/reference-server.mjs',
  floor: 'bench/ws-floor.mjs',
};
/** The servers of this run: the room-server first, then every `--peer` (comma-separated). */
const kinds: Kind[] = [
  'patungan',
  ...opt('peer', '')
    .split(',')
    .filter(Boolean)
    .map((p) => {
      if (!(p in PEERS)) throw new Error(`--peer: one of ${Object.keys(PEERS).join(', ')}`);
      return p as Kind;
    }),
];

/**
 * Loopback source addresses of this run's load generators: a fresh block per server of the
 * run, at a random base, so that sockets a previous server or run left in TIME_WAIT never
 * exhaust the ephemeral ports of the address (≈28k per address).
 */
const addressBase = 10 + Math.floor(Math.random() * 40) * 5;
const sourceAddress = (kind: Kind, n: number) =>
  `127.0.${1 + kinds.indexOf(kind)}.${addressBase + n}`;

function loadAvg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function startServer(kind: Kind = 'patungan'): Promise<{
  child: ChildProcess;
  pid: number;
  url: string;
  httpUrl: string;
  stop(): Promise<void>;
}> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'room-bench-'));
  const extra =
    process.env.BENCH_NODE_OPTIONS && kind === 'patungan'
      ? process.env.BENCH_NODE_OPTIONS.split(' ')
      : [];
  // As `npm start` runs it (package.json's start script: its environment, node flags and
  // bin/start.mjs), as `npm run start:tsx` with --runner tsx, or --entry <file>: another
  // server with the same flags (bench/ws-floor.mjs, the floor).
  const start = roomServerStartCommand();
  const scriptEnv = start.env;
  const other = opt('entry', '');
  // A peer runs as its own docs start it: plain `node <script>`, no flags, no environment.
  const entry =
    kind !== 'patungan'
      ? [join(root, PEERS[kind])]
      : opt('runner', 'start') === 'tsx'
        ? [...extra, '--import', 'tsx', 'src/main.ts']
        : [...start.flags, ...extra, other || join(root, '..', start.script)];
  // BENCH_NODE_OPTIONS go after `npm start`'s flags, so that they override them (V8 takes the
  // last of a flag): e.g. BENCH_NODE_OPTIONS="--max-semi-space-size=16 --no-optimize-for-size".
  const child = spawn('taskset', ['-c', '0', process.execPath, ...entry], {
    cwd: root,
    env: {
      ...process.env,
      ...(kind === 'patungan' ? scriptEnv : {}),
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
      // a loaded machine may take a while to flush and compact every room: then kill it
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      if ((await Promise.race([done.then(() => true), sleep(30_000)])) !== true) {
        child.kill('SIGKILL');
        await done;
      }
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
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

/** CPU of `pid` over the next `ms`, in % of one core (utime + stime, all its threads). */
async function cpuOver(pid: number, ms: number): Promise<number> {
  const t0 = cpuTicks(pid);
  const w0 = performance.now();
  await sleep(ms);
  const t1 = cpuTicks(pid);
  return ((t1[0] + t1[1] - t0[0] - t0[1]) / CLK / ((performance.now() - w0) / 1000)) * 100;
}

interface IdleRow {
  connections: number;
  rooms: number;
  rss: number;
  perConn: number;
  cpu5: number;
  cpu30: number;
  cpu40: number;
  /** 40–100 s: a whole minute, two of the reference's ping bursts and every socket's ping. */
  cpuMinute: number;
}

/**
 * Idle capacity of one server: connections in steps, and at each step (counted from the
 * moment the last connection of the step is open) CPU over 0–5 s, RSS at 15 s (as before: V8's
 * memory reducer runs a few seconds after allocation stops), CPU over 25–30 s and 35–40 s,
 * and at the highest level over 40–100 s.
 */
async function idleOne(kind: Kind): Promise<{ base: number; rows: IdleRow[] }> {
  const levels = opt('levels', '1000,5000,10000,19500').split(',').map(Number);
  const members = Number(opt('members', '5'));
  const settle = Number(opt('settle', '15')) * 1000;
  const server = await startServer(kind);
  const perWorker = 10_000;
  const workers = Array.from({ length: Math.ceil(Math.max(...levels) / perWorker) }, startWorker);
  await sleep(1000);
  const base = rssMb(server.pid);
  console.log(
    `[${kind}] server pid ${server.pid}, RSS with no connections: ${base.toFixed(1)} MB, load average ${loadAvg()}`,
  );
  let open = 0;
  let roomNo = 0;
  const load = [0, 0];
  const rows: IdleRow[] = [];
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
          localAddress: sourceAddress(kind, w),
          awareness: true,
        },
        'connected',
      );
      load[w] = r.open;
      open = load.reduce((a, b) => a + b, 0);
      if (n > 0 && r.open === 0) throw new Error('connections failed');
    }
    const ramped = performance.now();
    const cpu5 = await cpuOver(server.pid, 5000);
    await sleep(Math.max(0, settle - (performance.now() - ramped)));
    const health = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as {
      connections: number;
      rooms: number;
    };
    const rss = rssMb(server.pid);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const mem = (k: string) =>
      Number(new RegExp(`memory_bytes\\{kind="${k}"\\} (\\d+)`).exec(metrics)?.[1] ?? NaN) /
      1048576;
    await sleep(Math.max(0, 25_000 - (performance.now() - ramped)));
    const cpu30 = await cpuOver(server.pid, 5000);
    // The generator's clients send one presence state and never renew it (the stock client
    // renews every 15 s): the server expires each 30–33 s after it arrived, and tells the
    // room's others. Past 33 s after the last connection, nothing is left to expire.
    await sleep(Math.max(0, 35_000 - (performance.now() - ramped)));
    const cpu40 = await cpuOver(server.pid, 5000);
    // Steady state: CPU over a whole minute (40–100 s). The room-server pings a silent socket
    // every other 30 s period, spread over the period; the reference pings all of them at once
    // every 30 s, so a 5 s window holds all of its pings or none.
    // Measured at the highest level only (each level would take a minute more).
    const cpuMinute =
      opt('minute', 'yes') === 'yes' && level === Math.max(...levels)
        ? await cpuOver(server.pid, 60_000)
        : NaN;
    const rssLater = Number.isNaN(cpuMinute) ? NaN : rssMb(server.pid);
    const row: IdleRow = {
      connections: health.connections,
      rooms: health.rooms,
      rss,
      perConn: ((rss - base) * 1024) / health.connections,
      cpu5,
      cpu30,
      cpu40,
      cpuMinute,
    };
    rows.push(row);
    console.log(
      `[${kind}] ${row.connections} connections, ${row.rooms} rooms: RSS ${rss.toFixed(1)} MB (heap used ${mem('heap_used').toFixed(1)}, total ${mem('heap_total').toFixed(1)}, external ${mem('external').toFixed(1)} MB), idle CPU ${cpu5.toFixed(1)} % at 0–5 s, ${cpu30.toFixed(1)} % at 25–30 s, ${cpu40.toFixed(1)} % at 35–40 s, ${cpuMinute.toFixed(1)} % at 40–100 s; RSS at 100 s ${rssLater.toFixed(1)} MB; load average ${loadAvg()}`,
    );
  }
  await Promise.all(workers.map((w) => w.ask({ type: 'close' }, 'closed')));
  await server.stop();
  return { base, rows };
}

async function idle(): Promise<void> {
  const results: { kind: Kind; base: number; rows: IdleRow[] }[] = [];
  for (const kind of kinds) results.push({ kind, ...(await idleOne(kind)) });
  console.log(
    '\n| server | connections | rooms | server RSS | RSS per connection (above the empty server) | idle CPU 0–5 s after the ramp | 25–30 s after | 35–40 s after | 40–100 s after |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const { kind, base, rows } of results) {
    for (const r of rows) {
      console.log(
        `| ${kind} (empty: ${base.toFixed(1)} MB) | ${r.connections} | ${r.rooms} | ${r.rss.toFixed(1)} MB | ${r.perConn.toFixed(2)} KB | ${r.cpu5.toFixed(1)} % | ${r.cpu30.toFixed(1)} % | ${r.cpu40.toFixed(1)} % | ${r.cpuMinute.toFixed(1)} % |`,
      );
    }
  }
  printRatios(
    results.map(({ kind, rows }) => ({ kind, values: rows.map((r) => r.rss) })),
    'RSS at each level',
  );
  printRatios(
    results.map(({ kind, rows }) => ({ kind, values: rows.map((r) => r.cpuMinute) })),
    'idle CPU over 40–100 s at each level',
  );
}

interface EditRow {
  rate: number;
  editsPerS: number;
  deliveries: number;
  p50: number;
  p95: number;
  p99: number;
  cpu: number;
  user: number;
  sys: number;
  gen: number;
  rss: number;
}

async function editOne(kind: Kind): Promise<EditRow[]> {
  const roomsN = Number(opt('rooms', '1000'));
  const members = Number(opt('members', '5'));
  const rates = opt('rates', '1,2').split(',').map(Number);
  const seconds = Number(opt('seconds', '30'));
  const server = await startServer(kind);
  const worker = startWorker();
  const rooms = Array.from({ length: roomsN }, (_, i) => `edit-${i}`);
  const c = await worker.ask<{ open: number }>(
    {
      type: 'connect',
      url: server.url,
      secret: SECRET,
      rooms,
      members,
      localAddress: sourceAddress(kind, 0),
      awareness: opt('presence', 'no') === 'yes',
    },
    'connected',
  );
  if (c.open === 0) throw new Error(`[${kind}] no connection could be opened`);
  console.log(
    `[${kind}] ${c.open} connections in ${roomsN} rooms; server pid ${server.pid}; load average ${loadAvg()}`,
  );
  const rows: EditRow[] = [];
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
    const user = ((t1[0] - t0[0]) / CLK / wallS) * 100;
    const sys = ((t1[1] - t0[1]) / CLK / wallS) * 100;
    const lat = r.latencies.sort((a, b) => a - b);
    const row: EditRow = {
      rate,
      editsPerS: r.edits / seconds,
      deliveries: lat.length,
      p50: pct(lat, 50),
      p95: pct(lat, 95),
      p99: pct(lat, 99),
      cpu: user + sys,
      user,
      sys,
      gen: (r.cpuMs / 1000 / wallS) * 100,
      rss: rssMb(server.pid),
    };
    rows.push(row);
    console.log(`[${kind}] ${editRow(kind, roomsN, members, row)}; load average ${loadAvg()}`);
  }
  await worker.ask({ type: 'close' }, 'closed');
  await server.stop();
  return rows;
}

function editRow(kind: Kind, roomsN: number, members: number, r: EditRow): string {
  // server CPU per edit: CPU time (µs) per edit received
  const perEdit = ((r.cpu / 100) * 1e6) / r.editsPerS;
  return `| ${kind} | ${roomsN} × ${members} | ${r.rate}/s per room | ${r.editsPerS.toFixed(0)} | ${r.deliveries} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpu.toFixed(1)} % (user ${r.user.toFixed(1)}, sys ${r.sys.toFixed(1)}) | ${perEdit.toFixed(0)} µs | ${r.gen.toFixed(1)} % | ${r.rss.toFixed(0)} MB |`;
}

async function edit(): Promise<void> {
  const roomsN = Number(opt('rooms', '1000'));
  const members = Number(opt('members', '5'));
  const results: { kind: Kind; rows: EditRow[] }[] = [];
  for (const kind of kinds) results.push({ kind, rows: await editOne(kind) });
  console.log(
    '\n| server | rooms × members | edit rate | edits/s | deliveries measured | p50 ms | p95 ms | p99 ms | server CPU (of one core) | server CPU per edit | load generator CPU | server RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const { kind, rows } of results) {
    for (const r of rows) console.log(editRow(kind, roomsN, members, r));
  }
  printRatios(
    results.map(({ kind, rows }) => ({ kind, values: rows.map((r) => r.cpu / r.editsPerS) })),
    'server CPU per edit at each rate',
  );
  printRatios(
    results.map(({ kind, rows }) => ({ kind, values: rows.map((r) => r.p99) })),
    'p99 at each rate',
  );
}

/** room-server ÷ each peer, measured in this run. */
function printRatios(results: { kind: Kind; values: number[] }[], what: string): void {
  const mine = results[0]!;
  for (const peer of results.slice(1)) {
    const ratios = mine.values.map((v, i) => (v / peer.values[i]!).toFixed(2));
    console.log(`${what}, ${mine.kind} ÷ ${peer.kind}: ${ratios.join(' / ')}`);
  }
}

console.log(
  `room-server bench ${mode} (${args.slice(1).join(' ')}), ${new Date().toISOString()}, node ${process.version}, load average ${loadAvg()}`,
);
const t = setTimeout(
  () => {
    console.error('benchmark took too long, stopping');
    process.exit(2);
  },
  kinds.length * 8 * 60_000,
);
if (mode === 'idle') await idle();
else if (mode === 'edit') await edit();
else if (mode === 'rules') await (await import('./write-rules.ts')).rulesBench(opt);
else {
  console.error('usage: npm run bench -w room-server -- idle|edit|rules [options]');
  process.exitCode = 1;
}
clearTimeout(t);
