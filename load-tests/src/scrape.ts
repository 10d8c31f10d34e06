/**
 * Scrapes each target's Prometheus `/metrics` during the run. Whatever the server exports is
 * kept from the last scrape; CPU % (from `process_cpu_seconds_total`) and peak RSS are
 * tracked over the run, because they tell the reader whether the server was the bottleneck.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { ServerReport } from './report-types.ts';

/** Linux clock ticks per second (USER_HZ); 100 on every mainstream kernel. */
const CLK_TCK = 100;
const PAGE = 4096;

function readProc(pid: number): { cpuS: number; rss: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK, rss: Number(f[21]) * PAGE };
  } catch {
    return null;
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (c) out.push(...c.split(' ').map(Number));
    }
  } catch {
    // gone, or not Linux
  }
  return out;
}

/**
 * CPU seconds and RSS of a local process and all its descendants, read from /proc, as a
 * Prometheus-like sample map (for servers whose /metrics lacks process metrics, or for
 * `tsx`/`npm` wrappers whose real work runs in a child).
 */
export function procSamples(pid: number): Map<string, number> | null {
  const own = readProc(pid);
  if (!own) return null;
  let cpu = own.cpuS;
  let rss = own.rss;
  const stack = children(pid);
  for (let i = 0; i < stack.length && i < 1000; i++) {
    const c = readProc(stack[i]!);
    if (!c) continue;
    cpu += c.cpuS;
    rss += c.rss;
    stack.push(...children(stack[i]!));
  }
  return new Map([
    ['process_cpu_seconds_total', cpu],
    ['process_resident_memory_bytes', rss],
  ]);
}

/** `name{labels} value` lines into a map; comments, NaN and malformed lines are skipped. */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?)\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) continue;
    const v = m[2] === '+Inf' ? Infinity : m[2] === '-Inf' ? -Infinity : Number(m[2]);
    if (!Number.isNaN(v)) out.set(m[1]!, v);
  }
  return out;
}

export function metricsUrlOf(wsUrl: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/metrics';
  u.search = '';
  return u.toString();
}

/** The sample named `exact`, else the first whose name ends with `suffix` (servers prefix their own). */
function pick(samples: Map<string, number>, exact: string, suffix: string): number | undefined {
  const v = exact ? samples.get(exact) : undefined;
  if (v !== undefined) return v;
  for (const [k, x] of samples) if (k.endsWith(suffix)) return x;
  return undefined;
}

interface Target {
  url: string;
  /** A local process sampled through /proc instead of HTTP. */
  pid?: number;
  metricsUrl: string;
  scrapes: number;
  failures: number;
  lastError?: string;
  last: Map<string, number>;
  prevCpu: { at: number; cpu: number } | null;
  firstCpu: { at: number; cpu: number } | null;
  cpuNow: number | null;
  maxCpu: number | null;
  rss: number | null;
  loopP99: number | null;
}

export class Scraper {
  private targets: Target[];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    urls: readonly string[],
    private readonly intervalMs: number,
    pids: readonly number[] = [],
  ) {
    const targets: { url: string; metricsUrl: string; pid?: number }[] = [
      ...urls.map((url) => ({ url, metricsUrl: metricsUrlOf(url) })),
      ...pids.map((pid) => ({ url: `pid ${pid}`, metricsUrl: `/proc/${pid}/stat`, pid })),
    ];
    this.targets = targets.map((x) => ({
      ...x,
      scrapes: 0,
      failures: 0,
      last: new Map(),
      prevCpu: null,
      firstCpu: null,
      cpuNow: null,
      maxCpu: null,
      rss: null,
      loopP99: null,
    }));
  }

  start(): void {
    const loop = () => {
      this.inFlight = this.scrapeAll().finally(() => {
        this.inFlight = null;
      });
      this.timer = setTimeout(loop, this.intervalMs);
    };
    loop();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    await this.scrapeAll();
  }

  /** Latest CPU % per target (null until two scrapes). */
  cpuNow(): (number | null)[] {
    return this.targets.map((t) => t.cpuNow);
  }

  private async scrapeAll(): Promise<void> {
    await Promise.all(this.targets.map((t) => this.scrape(t)));
  }

  private async scrape(t: Target): Promise<void> {
    try {
      let samples: Map<string, number>;
      if (t.pid !== undefined) {
        const p = procSamples(t.pid);
        if (!p) throw new Error(`no process ${t.pid}`);
        samples = p;
      } else {
        const res = await fetch(t.metricsUrl, {
          signal: AbortSignal.timeout(Math.max(1000, this.intervalMs)),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        samples = parsePrometheus(await res.text());
      }
      const at = Date.now();
      t.scrapes++;
      t.last = samples;
      const cpu = pick(samples, 'process_cpu_seconds_total', 'cpu_seconds_total');
      if (cpu !== undefined) {
        if (t.prevCpu && at > t.prevCpu.at) {
          t.cpuNow = ((cpu - t.prevCpu.cpu) / ((at - t.prevCpu.at) / 1000)) * 100;
          t.maxCpu = Math.max(t.maxCpu ?? 0, t.cpuNow);
        }
        t.prevCpu = { at, cpu };
        t.firstCpu ??= { at, cpu };
      }
      const rss = pick(samples, 'process_resident_memory_bytes', 'resident_memory_bytes');
      const lag =
        pick(samples, '', 'event_loop_lag_seconds{quantile="0.99"}') ??
        samples.get('nodejs_eventloop_lag_p99_seconds');
      if (lag !== undefined) t.loopP99 = Math.max(t.loopP99 ?? 0, lag * 1000);
      if (rss !== undefined) t.rss = Math.max(t.rss ?? 0, rss);
    } catch (err) {
      t.failures++;
      t.lastError = (err as Error).message;
    }
  }

  report(): ServerReport[] {
    return this.targets.map((t) => {
      const span = t.firstCpu && t.prevCpu && t.prevCpu.at > t.firstCpu.at ? t.prevCpu : null;
      const mean =
        span && t.firstCpu
          ? Math.round(((span.cpu - t.firstCpu.cpu) / ((span.at - t.firstCpu.at) / 1000)) * 1000) /
            10
          : null;
      return {
        url: t.url,
        metricsUrl: t.metricsUrl,
        scrapes: t.scrapes,
        failures: t.failures,
        ...(t.lastError ? { lastError: t.lastError } : {}),
        cpuPercent: mean,
        maxCpuPercent: t.maxCpu === null ? null : Math.round(t.maxCpu * 10) / 10,
        rssMiB: t.rss === null ? null : Math.round((t.rss / 1048576) * 10) / 10,
        eventLoopLagP99Ms: t.loopP99 === null ? null : Math.round(t.loopP99 * 10) / 10,
        last: Object.fromEntries([...t.last].filter(([k]) => !k.includes('_bucket{'))),
      };
    });
  }
}
