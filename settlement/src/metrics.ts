import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per service instance (tests start many in one process). */
export function createMetrics(defaults = false) {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'settlement_' });
  return {
    registry,
    http: new Histogram({
      name: 'settlement_http_request_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    settlements: new Counter({
      name: 'settlement_settlements_total',
      help: 'Settlements by outcome (created, insufficient_stock, paid, expired, cancelled)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    providerCalls: new Counter({
      name: 'settlement_provider_calls_total',
      help: 'Payment provider calls by provider, operation and result',
      labelNames: ['provider', 'op', 'result'] as const,
      registers: [registry],
    }),
    stockStreams: new Gauge({
      name: 'settlement_stock_streams',
      help: 'Live stock streams (SSE) open now, one per subscriber whatever the number of stores',
      registers: [registry],
    }),
    outbox: new Counter({
      name: 'settlement_outbox_total',
      help: 'Outbox events published and room deliveries by result',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
