/**
 * Counters are plain numbers on the hot path (one `+=` per message) and are read by
 * prom-client only when `/metrics` is scraped.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isLoopback } from './connection.ts';

/**
 * Who may read `/metrics`: without `token` (METRICS_TOKEN) only loopback clients (403 for
 * others); with it, any client sending `Authorization: Bearer <token>` (401 otherwise).
 */
export function metricsAccess(
  remoteAddress: string | undefined,
  authorization: string | undefined,
  token: string | undefined,
): 200 | 401 | 403 {
  if (!token) return isLoopback(remoteAddress) ? 200 : 403;
  if (!authorization?.startsWith('Bearer ')) return 401;
  // equal-length digests: the comparison takes the same time whatever was sent
  const sent = createHash('sha256').update(authorization.slice(7)).digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(sent, want) ? 200 : 401;
}

export class Stats {
  connections = 0;
  rooms = 0;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  refusedWrites = 0;
  closed = new Map<number, number>();

  countClose(code: number): void {
    this.closed.set(code, (this.closed.get(code) ?? 0) + 1);
  }
}

export interface Metrics {
  registry: Registry;
  persistSeconds: Histogram;
  close(): void;
}

/** A counter whose value is read from `read()` at scrape time. */
function mirrored(registry: Registry, name: string, help: string, read: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v > reported) this.inc(v - reported);
      reported = v;
    },
  });
}

export function createMetrics(stats: Stats): Metrics {
  const registry = new Registry();
  const p = 'patungan_room_';
  new Gauge({
    name: `${p}connections`,
    help: 'Open WebSocket connections',
    registers: [registry],
    collect() {
      this.set(stats.connections);
    },
  });
  new Gauge({
    name: `${p}rooms`,
    help: 'Room documents in memory',
    registers: [registry],
    collect() {
      this.set(stats.rooms);
    },
  });
  mirrored(registry, `${p}messages_in_total`, 'Messages received', () => stats.messagesIn);
  mirrored(registry, `${p}messages_out_total`, 'Messages sent', () => stats.messagesOut);
  mirrored(registry, `${p}bytes_in_total`, 'Bytes received', () => stats.bytesIn);
  mirrored(registry, `${p}bytes_out_total`, 'Bytes sent', () => stats.bytesOut);
  mirrored(
    registry,
    `${p}refused_writes_total`,
    'Updates with a refused (reverted) write',
    () => stats.refusedWrites,
  );
  const reportedCloses = new Map<number, number>();
  new Counter({
    name: `${p}closed_connections_total`,
    help: 'Connections closed by the server, by close code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      for (const [code, n] of stats.closed) {
        const before = reportedCloses.get(code) ?? 0;
        if (n > before) this.inc({ code: String(code) }, n - before);
        reportedCloses.set(code, n);
      }
    },
  });
  const persistSeconds = new Histogram({
    name: `${p}persist_seconds`,
    help: 'Time to make room updates durable (flush / compaction)',
    labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  new Gauge({
    name: `${p}event_loop_lag_seconds`,
    help: 'Event-loop delay since the last scrape',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      this.set({ quantile: '0.5' }, lag.percentile(50) / 1e9);
      this.set({ quantile: '0.99' }, lag.percentile(99) / 1e9);
      this.set({ quantile: 'max' }, lag.max / 1e9);
      lag.reset();
    },
  });
  new Gauge({
    name: `${p}memory_bytes`,
    help: 'Process memory: resident set, V8 heap used / total, external',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const m = process.memoryUsage();
      this.set({ kind: 'rss' }, m.rss);
      this.set({ kind: 'heap_used' }, m.heapUsed);
      this.set({ kind: 'heap_total' }, m.heapTotal);
      this.set({ kind: 'external' }, m.external);
    },
  });
  return { registry, persistSeconds, close: () => lag.disable() };
}
