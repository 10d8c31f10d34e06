/**
 * Where published events go: an in-process EventEmitter in embedded mode, Redis pub/sub when
 * REDIS_URL is set (so every API instance can feed its SSE clients), sharded pub/sub
 * (SPUBLISH / SSUBSCRIBE) on a Redis Cluster when REDIS_CLUSTER_NODES is set: each channel
 * lives on the shard its name hashes to, instead of every message crossing the whole cluster
 * bus. Redis clients are injected, never created here. With Redis, an instance hears its own publications back
 * through Redis and does not also deliver them locally, so nobody gets an event twice.
 */
import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';

export type Listener = (message: unknown) => void;

export interface EventBus {
  publish(channel: string, message: unknown): Promise<void>;
  subscribe(channel: string, fn: Listener): () => void;
  close(): Promise<void>;
}

export const channels = {
  stock: (storeId: string) => `stock:${storeId}`,
  settlement: (id: string) => `settlement:${id}`,
};

export function localBus(): EventBus {
  const ee = new EventEmitter();
  ee.setMaxListeners(0);
  return {
    publish: async (channel, message) => void ee.emit(channel, message),
    subscribe(channel, fn) {
      ee.on(channel, fn);
      return () => ee.off(channel, fn);
    },
    close: async () => void ee.removeAllListeners(),
  };
}

/**
 * `pub` and `sub` must be separate connections (a subscribed connection cannot publish).
 * `sharded`: SPUBLISH / SSUBSCRIBE (a Redis Cluster; `sub` a `Cluster` with
 * `shardedSubscribers: true`); otherwise PUBLISH / SUBSCRIBE.
 */
export function redisBus(o: {
  pub: Redis | Cluster;
  sub: Redis | Cluster;
  prefix?: string;
  sharded?: boolean;
  onError?: (err: unknown) => void;
}): EventBus {
  const sharded = o.sharded ?? false;
  const event = sharded ? 'smessage' : 'message';
  const sub = (channel: string) => (sharded ? o.sub.ssubscribe(channel) : o.sub.subscribe(channel));
  // One channel per call when sharded: channels of one SUNSUBSCRIBE must share a slot.
  const unsub = async (channels: string[]) => {
    if (sharded) await Promise.all(channels.map((c) => o.sub.sunsubscribe(c)));
    else await o.sub.unsubscribe(...channels);
  };
  const prefix = o.prefix ?? 'patungan:settlement:';
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const counts = new Map<string, number>();
  const onMessage = (channel: string, raw: string) => {
    if (!channel.startsWith(prefix)) return;
    try {
      local.emit(channel.slice(prefix.length), JSON.parse(raw));
    } catch (err) {
      o.onError?.(err);
    }
  };
  o.sub.on(event, onMessage);
  return {
    async publish(channel, message) {
      if (sharded) await o.pub.spublish(prefix + channel, JSON.stringify(message));
      else await o.pub.publish(prefix + channel, JSON.stringify(message));
    },
    subscribe(channel, fn) {
      local.on(channel, fn);
      const n = (counts.get(channel) ?? 0) + 1;
      counts.set(channel, n);
      if (n === 1) sub(prefix + channel).catch((err: unknown) => o.onError?.(err));
      return () => {
        local.off(channel, fn);
        const left = (counts.get(channel) ?? 1) - 1;
        if (left > 0) counts.set(channel, left);
        else {
          counts.delete(channel);
          unsub([prefix + channel]).catch((err: unknown) => o.onError?.(err));
        }
      };
    },
    async close() {
      o.sub.off(event, onMessage);
      local.removeAllListeners();
      if (counts.size > 0) await unsub([...counts.keys()].map((c) => prefix + c)).catch(() => {});
      counts.clear();
    },
  };
}
