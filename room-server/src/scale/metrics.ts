/** Prometheus metrics of the scaled mode (prefix `patungan_scale_`). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createScaleMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  return {
    registry,
    redisUp: new Gauge({
      name: 'patungan_scale_redis_up',
      help: '1 while both Redis connections are ready, 0 while the instance runs degraded',
      registers,
    }),
    redisUnavailable: new Counter({
      name: 'patungan_scale_redis_unavailable_total',
      help: 'Times Redis became unreachable (the instance kept serving its local clients)',
      registers,
    }),
    rooms: new Gauge({
      name: 'patungan_scale_rooms',
      help: 'Rooms this instance is subscribed to',
      registers,
    }),
    published: new Counter({
      name: 'patungan_scale_messages_published_total',
      help: 'Messages this instance published, by type',
      labelNames: ['type'],
      registers,
    }),
    received: new Counter({
      name: 'patungan_scale_messages_received_total',
      help: 'Messages from other instances, by type',
      labelNames: ['type'],
      registers,
    }),
    publishFailures: new Counter({
      name: 'patungan_scale_publish_failures_total',
      help: 'Updates that could not be appended (Redis down); pushed again by the next resync',
      registers,
    }),
    unreplicated: new Counter({
      name: 'patungan_scale_unreplicated_appends_total',
      help: "Redis Cluster: times no replica acknowledged a primary's appends within REDIS_CLUSTER_WAIT_MS (no live replica); that primary then takes appends without WAIT for 5 s",
      registers,
    }),
    gaps: new Counter({
      name: 'patungan_scale_sequence_gaps_total',
      help: 'Missed room messages detected from sequence numbers',
      registers,
    }),
    resyncs: new Counter({
      name: 'patungan_scale_resyncs_total',
      help: 'Resyncs from durable state, by reason',
      labelNames: ['reason'],
      registers,
    }),
    compactions: new Counter({
      name: 'patungan_scale_compactions_total',
      help: 'Compaction attempts, by result',
      labelNames: ['result'],
      registers,
    }),
    presenceExpired: new Counter({
      name: 'patungan_scale_presence_expired_total',
      help: 'Remote clients whose presence was removed because their instance lease expired',
      registers,
    }),
    appendSeconds: new Histogram({
      name: 'patungan_scale_append_seconds',
      help: 'Time to append and publish one update',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    }),
  };
}

export type ScaleMetrics = ReturnType<typeof createScaleMetrics>;
