/**
 * Command-line options, their defaults and `--help`. Everything the run needs is decided here,
 * before any socket opens, so a bad flag is a clear message and exit code 2, never a crash
 * half-way through a run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseThreshold, thresholdHelp, type Threshold } from './thresholds.ts';
import type { Scenario } from './report-types.ts';

export interface LoadOptions {
  urls: string[];
  /** HS256 secret to mint join tokens; or null when tokens come from `tokenUrl`. */
  secret: string | null;
  tokenUrl: string | null;
  rooms: number;
  members: number;
  /** Edits per second per room. */
  rate: number;
  /** Awareness updates per second per member. */
  presence: number;
  /** Reconnects per member per minute (shopping). */
  churn: number;
  /** New connections per second. */
  ramp: number;
  durationS: number;
  /** Longest wait for every room to converge after the load stops. */
  settleS: number;
  seed: number;
  scenario: Scenario;
  json: string | null;
  html: string | null;
  thresholds: Threshold[];
  workers: number;
  /** Local source addresses to spread connections over (empty: let the OS choose). */
  sourceAddresses: string[];
  maxConnections: number;
  /** `members`: a room's members go to successive URLs; `rooms`: a whole room on one URL. */
  spread: 'members' | 'rooms';
  roomPrefix: string;
  intervalS: number;
  scrape: boolean;
  scrapeIntervalS: number;
  /** Local server processes to sample CPU / RSS from /proc (with their children). */
  pids: number[];
  settlementUrl: string;
  store: string | null;
  sku: string | null;
  qty: number;
  /** Checkout: longest wait for holds to end after their TTL. */
  holdWaitS: number;
  progress: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const HELP = `patungan-load — simulate many concurrent Patungan shopping rooms

Usage: npm run load -- [options]     (or: npx patungan-load [options])

Target
  --url <ws-url>          room-server URL; repeat or comma-separate for several instances
                          (default $ROOM_SERVER_URL or ws://127.0.0.1:1234)
  --secret <s>            mint join tokens with this HS256 secret
                          (default $ROOM_TOKEN_SECRET, else $DATA_DIR/room-token-secret if it exists)
  --token-url <url>       fetch tokens instead: GET <url>?room=<id>&member=<id>&role=<role>&name=<n>
                          answering {"token": "<jwt>"}
  --spread members|rooms  members: a room's members go to successive URLs (measures cross-instance
                          latency); rooms: each room stays on one URL (default members)

Load
  --scenario <name>       shopping | checkout | idle (default shopping)
  --rooms <n>             concurrent rooms (default 10)
  --members <n>           members per room; the first is the organiser (default 5)
  --rate <n>              edits per second per room (default 1; idle: 0)
  --presence <n>          awareness updates per second per member (default 0.5; idle: 0)
  --churn <n>             disconnect/reconnects per member per minute (default 0.5; idle: 0)
  --ramp <n>              new connections per second (default 200)
  --duration <t>          length of the run, ramp included: 30s, 2m, 500ms (default 30s)
  --settle <t>            longest wait for rooms to converge at the end (default 10s)
  --seed <n>              seed for every random choice (default 1)
  --room-prefix <s>       room id prefix (default lt<time>, so runs never share rooms)

Checkout scenario
  --settlement-url <url>  settlement API (default $SETTLEMENT_URL or http://127.0.0.1:4000)
  --store <id>            store every room finalises at (default: the first store)
  --sku <sku>             the contended product (default: the store's first sku in stock)
  --qty <n>               units per room (default 1)
  --hold-wait <t>         longest wait for holds to end after their TTL (default 60s)

Reports and gates
  --json <file>           write the JSON report
  --html <file>           write a self-contained HTML report (charts inline)
  --threshold <expr>      pass/fail gate, repeatable; exit code 1 when one is missed
                          e.g. "p99<100" "errors<0.1%" "converged=100%"
  --interval <t>          timeline resolution (default 1s)
  --no-scrape             do not scrape the servers' /metrics
  --scrape-interval <t>   /metrics scrape period (default 2s)
  --pid <pid>             also sample this local process (and its children) from /proc for
                          CPU and memory; repeatable (for servers without process metrics)
  --quiet                 no live progress line

Generator and bounds
  --workers <n|auto>      worker threads running members (default auto: 1 per 4000 members,
                          at most the number of cores)
  --source-addresses <n|list|auto>
                          local addresses to connect from: a count (n addresses of a random
                          127.a.b.0/24 block), a comma list, or auto (loopback targets above
                          10000 connections: ⌈connections / 10000⌉ + 1; else the OS chooses)
  --max-connections <n>   hard cap on rooms × members (default 15000)
  --help, -h              this text
  --version

Thresholds (metric op number[unit]; latencies in ms, s/us suffixes convert):
${thresholdHelp()}
  also same.* cross.* steady.* connect.* sync.* finalise.* with p50 p90 p95 p99 p999 max mean min

Exit codes: 0 all thresholds met, 1 a threshold missed, 2 bad usage or the run could not start.
`;

/** Seconds from `30`, `30s`, `1.5m`, `500ms`, `1h`. */
export function parseDuration(v: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) throw new UsageError(`--${name} must be a duration like 30s, 2m or 500ms, got "${v}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
}

function num(
  v: string | undefined,
  name: string,
  def: number,
  o: { int?: boolean; min?: number; max?: number } = {},
) {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (o.int && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${o.int ? 'an integer' : 'a number'}, got "${v}"`);
  }
  if (o.min !== undefined && n < o.min)
    throw new UsageError(`--${name} must be at least ${o.min}, got ${n}`);
  if (o.max !== undefined && n > o.max)
    throw new UsageError(`--${name} must be at most ${o.max}, got ${n}`);
  return n;
}

function normaliseUrl(u: string): string {
  let url: URL;
  try {
    url = new URL(u.includes('://') ? u : `ws://${u}`);
  } catch {
    throw new UsageError(`--url "${u}" is not a URL`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(`--url "${u}" must be ws:// or wss://`);
  }
  return url.toString().replace(/\/+$/, '');
}

/**
 * `n` loopback addresses from a random 127.a.b.0/24 block, fresh for each run: every address
 * in 127/8 is local on Linux, and a fresh block has no ports left in TIME_WAIT by earlier
 * runs (or other programs on 127.0.0.1), which make each bind() search far longer — half of
 * the generator's CPU in a profile on a busy machine.
 */
export function loopbackBlock(n: number, rand: () => number = Math.random): string[] {
  const a = 1 + Math.floor(rand() * 254);
  const b = Math.floor(rand() * 256);
  return Array.from({ length: n }, (_, i) => `127.${a}.${b}.${i + 1}`);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

/** The embedded-mode secret file, read only (never created by the load tool). */
function secretFromDataDir(env: NodeJS.ProcessEnv): string | null {
  const base = env.INIT_CWD ?? process.cwd();
  const file = resolve(base, env.DATA_DIR ?? './data', 'room-token-secret');
  if (!existsSync(file)) return null;
  const s = readFileSync(file, 'utf8').trim();
  return s || null;
}

export interface ParsedArgs {
  help: boolean;
  version: boolean;
  options: LoadOptions;
}

export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        url: { type: 'string', multiple: true },
        secret: { type: 'string' },
        'token-url': { type: 'string' },
        rooms: { type: 'string' },
        members: { type: 'string' },
        rate: { type: 'string' },
        presence: { type: 'string' },
        churn: { type: 'string' },
        ramp: { type: 'string' },
        duration: { type: 'string' },
        settle: { type: 'string' },
        seed: { type: 'string' },
        scenario: { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        threshold: { type: 'string', multiple: true },
        workers: { type: 'string' },
        'source-addresses': { type: 'string' },
        'max-connections': { type: 'string' },
        spread: { type: 'string' },
        'room-prefix': { type: 'string' },
        interval: { type: 'string' },
        'no-scrape': { type: 'boolean' },
        'scrape-interval': { type: 'string' },
        pid: { type: 'string', multiple: true },
        'settlement-url': { type: 'string' },
        store: { type: 'string' },
        sku: { type: 'string' },
        qty: { type: 'string' },
        'hold-wait': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see --help)`);
  }
  const s = (k: string) => values[k] as string | undefined;
  const scenario = (s('scenario') ?? 'shopping') as Scenario;
  if (!['shopping', 'checkout', 'idle'].includes(scenario)) {
    throw new UsageError(`--scenario must be shopping, checkout or idle, got "${scenario}"`);
  }
  const idle = scenario === 'idle';
  const checkout = scenario === 'checkout';
  const rawUrls = (
    (values.url as string[] | undefined) ?? [env.ROOM_SERVER_URL ?? 'ws://127.0.0.1:1234']
  )
    .flatMap((u) => u.split(','))
    .map((u) => u.trim())
    .filter(Boolean);
  const urls = rawUrls.map(normaliseUrl);
  const tokenUrl = s('token-url') ?? null;
  const secret = s('secret') ?? env.ROOM_TOKEN_SECRET ?? (tokenUrl ? null : secretFromDataDir(env));
  const rooms = num(s('rooms'), 'rooms', 10, { int: true, min: 1 });
  const members = num(s('members'), 'members', 5, { int: true, min: 1, max: 1000 });
  const maxConnections = num(s('max-connections'), 'max-connections', 15000, { int: true, min: 1 });
  const spread = (s('spread') ?? 'members') as LoadOptions['spread'];
  if (spread !== 'members' && spread !== 'rooms')
    throw new UsageError('--spread must be members or rooms');
  const durationS = parseDuration(s('duration') ?? '30s', 'duration');
  if (durationS <= 0 || durationS > 24 * 3600)
    throw new UsageError('--duration must be between 1ms and 24h');
  const sa = s('source-addresses') ?? 'auto';
  const cores = availableParallelism();
  const total = rooms * members;
  let sourceAddresses: string[];
  const allLoopback = urls.every((u) => isLoopbackHost(new URL(u).hostname));
  if (sa === 'auto') {
    // Binding a source address costs a kernel port search per connection, so bind only when
    // one address would run out of ports.
    const n = allLoopback && total > 10000 ? Math.ceil(total / 10000) + 1 : 0;
    sourceAddresses = loopbackBlock(n);
  } else if (/^\d+$/.test(sa)) {
    sourceAddresses = loopbackBlock(
      num(sa, 'source-addresses', 0, { int: true, min: 0, max: 254 }),
    );
  } else {
    sourceAddresses = sa
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  if (sourceAddresses.length && !allLoopback && sa === 'auto') sourceAddresses = [];
  // `localhost` may resolve to ::1, which an IPv4 source address cannot reach: pin it to IPv4.
  if (sourceAddresses.some((a) => a.includes('.'))) {
    for (let i = 0; i < urls.length; i++) {
      const u = new URL(urls[i]!);
      if (u.hostname === 'localhost') {
        u.hostname = '127.0.0.1';
        urls[i] = u.toString().replace(/\/+$/, '');
      }
    }
  }
  const workersRaw = s('workers') ?? 'auto';
  const workers =
    workersRaw === 'auto'
      ? Math.max(1, Math.min(cores, Math.ceil(total / 4000)))
      : num(workersRaw, 'workers', 1, { int: true, min: 1, max: 64 });
  const options: LoadOptions = {
    urls,
    secret,
    tokenUrl,
    rooms,
    members,
    rate: num(s('rate'), 'rate', idle ? 0 : checkout ? 0.2 : 1, { min: 0, max: 1000 }),
    presence: num(s('presence'), 'presence', idle ? 0 : 0.5, { min: 0, max: 100 }),
    churn: num(s('churn'), 'churn', idle || checkout ? 0 : 0.5, { min: 0, max: 600 }),
    ramp: num(s('ramp'), 'ramp', 200, { min: 0.1 }),
    durationS,
    settleS: parseDuration(s('settle') ?? '10s', 'settle'),
    seed: num(s('seed'), 'seed', 1, { int: true }),
    scenario,
    json: s('json') ?? null,
    html: s('html') ?? null,
    thresholds: ((values.threshold as string[] | undefined) ?? []).map((t) => {
      try {
        return parseThreshold(t);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }),
    workers,
    sourceAddresses,
    maxConnections,
    spread,
    roomPrefix: s('room-prefix') ?? `lt${Date.now().toString(36)}`,
    intervalS: parseDuration(s('interval') ?? '1s', 'interval'),
    scrape: !values['no-scrape'],
    scrapeIntervalS: parseDuration(s('scrape-interval') ?? '2s', 'scrape-interval'),
    pids: ((values.pid as string[] | undefined) ?? []).map((p) =>
      num(p, 'pid', 0, { int: true, min: 1 }),
    ),
    settlementUrl: (s('settlement-url') ?? env.SETTLEMENT_URL ?? 'http://127.0.0.1:4000').replace(
      /\/+$/,
      '',
    ),
    store: s('store') ?? null,
    sku: s('sku') ?? null,
    qty: num(s('qty'), 'qty', 1, { int: true, min: 1, max: 9999 }),
    holdWaitS: parseDuration(s('hold-wait') ?? '60s', 'hold-wait'),
    progress: !values.quiet,
  };
  const help = Boolean(values.help);
  const version = Boolean(values.version);
  if (!help && !version) validate(options);
  return { help, version, options };
}

function validate(o: LoadOptions): void {
  if (!o.secret && !o.tokenUrl) {
    throw new UsageError(
      'no way to get join tokens: pass --secret (or set ROOM_TOKEN_SECRET) or --token-url',
    );
  }
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(o.roomPrefix)) {
    throw new UsageError('--room-prefix must be 1 to 40 of A-Z a-z 0-9 _ -');
  }
  const total = o.rooms * o.members;
  if (total > o.maxConnections) {
    throw new UsageError(
      `${o.rooms} rooms × ${o.members} members = ${total} connections, above --max-connections ${o.maxConnections}`,
    );
  }
  if (o.scenario === 'checkout' && o.members < 1) throw new UsageError('checkout needs members');
  if (o.intervalS < 0.1) throw new UsageError('--interval must be at least 100ms');
  if (o.scrapeIntervalS < 0.1) throw new UsageError('--scrape-interval must be at least 100ms');
  if (o.workers > o.rooms) o.workers = o.rooms;
}

/** The options as they go into the report: the secret never leaves the process. */
export function publicOptions(o: LoadOptions): Record<string, unknown> {
  return {
    ...o,
    secret: o.secret ? '(set)' : null,
    thresholds: o.thresholds.map((t) => t.expr),
  };
}
