/**
 * The one difference between a single Redis (`REDIS_URL`) and a Redis Cluster
 * (`REDIS_CLUSTER_NODES`) that the scaled mode sees: how its two connections are made. Everything
 * else runs on both unchanged (decision 0016), because
 *
 * - every key of a room carries the hash tag `{<roomId>}` (keys.ts), so the append script, the
 *   atomic load and the compaction touch one slot, and the room's channel hashes there too;
 * - pub/sub is sharded (SPUBLISH / SSUBSCRIBE): on a cluster a room's messages stay within the
 *   shard that holds its keys (ioredis: `shardedSubscribers`, one subscriber connection per
 *   primary, resubscribed after a failover);
 * - requests that span rooms or instances (the sequence check, the lease check) are one command
 *   per key, auto-pipelined per node, never one multi-key command or a cross-slot pipeline;
 * - on a cluster an append is acknowledged only once a replica has it (`WAIT 1`, store.ts), so a
 *   primary's failover loses no acknowledged update.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection of the scaled mode: one Redis, or a cluster client. */
export type ScaleRedis = Redis | Cluster;

export type RedisTarget =
  | { url: string }
  | {
      /** Any of the cluster's nodes (the client finds the others). */
      clusterNodes: readonly { host: string; port: number }[];
    };

export interface ScaleClients {
  /** Commands (append, load, leases), auto-pipelined. */
  redis: ScaleRedis;
  /** Subscriber mode only (SSUBSCRIBE). */
  subscriber: ScaleRedis;
  cluster: boolean;
}

export function isCluster(r: ScaleRedis): r is Cluster {
  return (r as { isCluster?: boolean }).isCluster === true;
}

/**
 * The two connections of an instance. Single Redis: no offline queue (commands fail fast while
 * Redis is down; a failed append is pushed by the next resync), one retry. Cluster: the same
 * at the cluster level (nothing is queued while the cluster is unreachable); a node that fails
 * is retried through the slot map the client refreshes, and commands of a failed-over primary's
 * slots go to its promoted replica.
 */
export function scaleClients(target: RedisTarget, extra: RedisOptions = {}): ScaleClients {
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    ...extra,
  };
  // A generous command timeout: a starved event loop runs timers before it reads the socket,
  // so a short one fails commands Redis has long answered (each failure costs a resync).
  // Auto-pipelining: the appends of every edit handled in one event-loop turn go out as one
  // write per connection and come back as one read (a syscall each way per turn, not per edit).
  if ('url' in target) {
    return {
      redis: new Redis(target.url, {
        ...common,
        commandTimeout: 30_000,
        enableAutoPipelining: true,
      }),
      subscriber: new Redis(target.url, common),
      cluster: false,
    };
  }
  const nodes = target.clusterNodes.map((n) => ({ host: n.host, port: n.port }));
  const { retryStrategy: _r, enableOfflineQueue: _q, ...nodeOptions } = common;
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: false,
    clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
    // After a primary fails, its slots answer CLUSTERDOWN or time out until the replica is
    // promoted (cluster-node-timeout + an election): retry on that scale, not forever.
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 2000,
    redisOptions: nodeOptions,
  };
  return {
    redis: new Cluster(nodes, {
      ...clusterOptions,
      enableAutoPipelining: true,
      redisOptions: { ...clusterOptions.redisOptions, commandTimeout: 30_000 },
    }),
    subscriber: new Cluster(nodes, { ...clusterOptions, shardedSubscribers: true }),
    cluster: true,
  };
}
