/**
 * k6-style pass/fail thresholds: `--threshold "p99<100"`, `"errors<0.1%"`, `"converged=100%"`.
 *
 * A threshold is `<metric> <op> <number>[unit]`. Latency metrics are in milliseconds (`s` and
 * `us` suffixes convert); percentage metrics take an optional `%`; `errors` compares the error
 * *rate* when the number ends in `%` and the error *count* otherwise. Parsing happens before
 * the run starts, so a typo fails fast instead of after a 10-minute run.
 */
import type { LoadReport } from './report-types.ts';

export type Op = '<' | '<=' | '>' | '>=' | '=' | '!=';
type Kind = 'ms' | 'percent' | 'number';

interface MetricDef {
  kind: Kind;
  help: string;
  get(r: LoadReport): number | null;
}

const pct = ['p50', 'p90', 'p95', 'p99', 'p999', 'max', 'mean', 'min'] as const;

function latencyMetrics(
  prefix: string,
  help: string,
  pick: (r: LoadReport) => Record<(typeof pct)[number], number | null> | undefined,
): Record<string, MetricDef> {
  const out: Record<string, MetricDef> = {};
  for (const p of pct) {
    out[prefix + p] = { kind: 'ms', help: `${help} ${p} (ms)`, get: (r) => pick(r)?.[p] ?? null };
  }
  return out;
}

export const METRICS: Record<string, MetricDef> = {
  ...latencyMetrics('', 'edit propagation latency, all receivers,', (r) => r.latency.all),
  ...latencyMetrics(
    'same.',
    'propagation latency between members on the same URL,',
    (r) => r.latency.same,
  ),
  ...latencyMetrics(
    'cross.',
    'propagation latency between members on different URLs,',
    (r) => r.latency.cross,
  ),
  ...latencyMetrics('steady.', 'propagation latency after the ramp,', (r) => r.latency.steady),
  ...latencyMetrics('connect.', 'WebSocket handshake time,', (r) => r.connections.connect),
  ...latencyMetrics(
    'sync.',
    'time from connecting to the first full sync,',
    (r) => r.connections.sync,
  ),
  ...latencyMetrics(
    'finalise.',
    'checkout: finalise request to settlement status in the room,',
    (r) => r.checkout?.finaliseToStatus,
  ),
  errors: {
    kind: 'number',
    help: 'errors (count; with % the rate over connection attempts + edits)',
    get: (r) => r.errors.count,
  },
  converged: {
    kind: 'percent',
    help: 'rooms whose members all converged (%)',
    get: (r) => r.convergence.percent,
  },
  edits_per_s: { kind: 'number', help: 'edits sent per second', get: (r) => r.edits.perSecond },
  deliveries_per_s: {
    kind: 'number',
    help: 'document updates delivered to members per second',
    get: (r) => r.messages.updatesPerSecond,
  },
  messages_per_s: {
    kind: 'number',
    help: 'messages of any kind delivered to members per second',
    get: (r) => r.messages.perSecond,
  },
  connections: { kind: 'number', help: 'peak open connections', get: (r) => r.connections.peak },
  connect_failures: {
    kind: 'number',
    help: 'failed connection attempts',
    get: (r) => r.connections.failed,
  },
  reconnects: {
    kind: 'number',
    help: 'reconnects (planned and unplanned)',
    get: (r) => r.connections.reconnects,
  },
  refused_writes: {
    kind: 'number',
    help: 'writes the server refused (permission-denied)',
    get: (r) => r.connections.refusedWrites,
  },
  generator_cpu: {
    kind: 'percent',
    help: 'generator CPU, mean % of one core',
    get: (r) => r.generator.cpuPercent.mean,
  },
  generator_loop_p99: {
    kind: 'ms',
    help: 'generator event-loop delay p99, worst thread (ms)',
    get: (r) => r.generator.eventLoopDelayMs.p99,
  },
  oversell: {
    kind: 'number',
    help: 'checkout: units held beyond stock (must be 0)',
    get: (r) => r.checkout?.oversell ?? null,
  },
  holds_won: {
    kind: 'number',
    help: 'checkout: finalises that got a hold',
    get: (r) => r.checkout?.holdsWon ?? null,
  },
  holds_refused: {
    kind: 'number',
    help: 'checkout: finalises refused for stock',
    get: (r) => r.checkout?.holdsRefused ?? null,
  },
  holds_ended: {
    kind: 'percent',
    help: 'checkout: won holds that ended after the TTL (%)',
    get: (r) => r.checkout?.holdsEndedPercent ?? null,
  },
};

export interface Threshold {
  expr: string;
  metric: string;
  op: Op;
  /** In the metric's unit (ms, %, count); for `errors` with `%`, a percentage of the rate. */
  value: number;
  /** `errors` only: compare the rate (in %) instead of the count. */
  rate: boolean;
}

export interface ThresholdResult {
  expr: string;
  ok: boolean;
  actual: number | null;
  message: string;
}

export class ThresholdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThresholdError';
  }
}

const PATTERN =
  /^\s*([a-z_][a-z0-9_.]*)\s*(<=|>=|==|!=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*(ms|s|us|%)?\s*$/i;

export function parseThreshold(expr: string): Threshold {
  const m = PATTERN.exec(expr);
  if (!m) {
    throw new ThresholdError(
      `cannot read threshold "${expr}": write <metric><op><number>[unit], e.g. "p99<100" or "errors<0.1%"`,
    );
  }
  const metric = m[1]!.toLowerCase();
  const op = (m[2] === '==' ? '=' : m[2]) as Op;
  let value = Number(m[3]);
  const unit = m[4]?.toLowerCase();
  const def = METRICS[metric];
  if (!def) {
    throw new ThresholdError(
      `unknown threshold metric "${metric}" in "${expr}"; known: ${Object.keys(METRICS).join(', ')}`,
    );
  }
  let rate = false;
  if (def.kind === 'ms') {
    if (unit === '%')
      throw new ThresholdError(`"${metric}" is a time; use ms, s or us, not % ("${expr}")`);
    if (unit === 's') value *= 1000;
    else if (unit === 'us') value /= 1000;
  } else if (def.kind === 'percent') {
    if (unit && unit !== '%') throw new ThresholdError(`"${metric}" is a percentage ("${expr}")`);
  } else if (unit === '%') {
    if (metric !== 'errors')
      throw new ThresholdError(`"${metric}" is not a percentage ("${expr}")`);
    rate = true;
  } else if (unit) {
    throw new ThresholdError(`"${metric}" takes no unit ("${expr}")`);
  }
  return { expr: expr.trim(), metric, op, value, rate };
}

export function compare(actual: number, op: Op, want: number): boolean {
  const eps = 1e-9 * Math.max(1, Math.abs(want));
  switch (op) {
    case '<':
      return actual < want;
    case '<=':
      return actual <= want + eps;
    case '>':
      return actual > want;
    case '>=':
      return actual >= want - eps;
    case '=':
      return Math.abs(actual - want) <= eps;
    case '!=':
      return Math.abs(actual - want) > eps;
  }
}

export function evaluateThreshold(t: Threshold, report: LoadReport): ThresholdResult {
  const actual = t.rate ? report.errors.rate * 100 : METRICS[t.metric]!.get(report);
  if (actual === null || Number.isNaN(actual)) {
    return {
      expr: t.expr,
      ok: false,
      actual: null,
      message: `${t.expr}: no samples for ${t.metric}`,
    };
  }
  const ok = compare(actual, t.op, t.value);
  const shown = Math.round(actual * 1000) / 1000;
  const unit =
    t.rate || METRICS[t.metric]!.kind === 'percent'
      ? '%'
      : METRICS[t.metric]!.kind === 'ms'
        ? 'ms'
        : '';
  return {
    expr: t.expr,
    ok,
    actual,
    message: `${t.expr}: ${ok ? 'ok' : 'MISSED'} (actual ${shown}${unit})`,
  };
}

export function evaluateThresholds(
  ts: readonly Threshold[],
  report: LoadReport,
): ThresholdResult[] {
  return ts.map((t) => evaluateThreshold(t, report));
}

export function thresholdHelp(): string {
  return Object.entries(METRICS)
    .filter(([k]) => !/^(same|cross|steady|connect|sync|finalise)\./.test(k) || k.endsWith('p99'))
    .map(([k, d]) => `  ${k.padEnd(20)} ${d.help}`)
    .join('\n');
}
