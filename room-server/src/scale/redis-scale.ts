/**
 * The scaled mode: any number of instances serve the same rooms through Redis. `RedisScale`
 * is the core's `RoomBus` (bus.ts) and carries its `RoomStorage` (`.storage`, storage.ts):
 * the server runs with `{ storage: scale.storage, bus: scale }` (decision 0006). Fan-out over
 * sharded pub/sub (one channel per room, subscribed while the room is loaded here), durable
 * state in Redis streams (store.ts), per-room sequence numbers with gap detection and resync
 * (room-sync.ts), presence leases (presence.ts).
 *
 * Redis clients are injected (`new RedisScale({ redis, subscriber })`) or created from a URL
 * or a cluster's nodes (`createRedisScale({ url })`, `createRedisScale({ clusterNodes })`,
 * client.ts: one code path for a single Redis and a Redis Cluster, decision 0016). While Redis is unreachable the instance keeps serving the
 * rooms it has loaded, `/healthz` says `degraded`, and on return it resubscribes, then
 * resyncs every room (pull what others wrote, push what it accepted meanwhile).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import * as Y from 'yjs';
import type { RoomBus } from '../bus.ts';
import type { RoomHandle } from '../hooks.ts';
import type { StoredRoom } from '../storage/types.ts';
import { isCluster, scaleClients, type RedisTarget, type ScaleRedis } from './client.ts';
import { RedisDeadlineIndex } from './deadlines.ts';
import { scaleKeys, type ScaleKeys } from './keys.ts';
import { decodeMessage, MSG_PRESENCE } from './messages.ts';
import { createScaleMetrics, type ScaleMetrics } from './metrics.ts';
import { RoomSync } from './room-sync.ts';
import { RedisRoomStorage } from './storage.ts';
import { RedisRoomStore } from './store.ts';

export interface RedisScaleOptions {
  /** Connection for commands (append, load, leases): a `Redis` or a `Cluster`. */
  redis: ScaleRedis;
  /**
   * Connection in subscriber mode (SSUBSCRIBE); must not be used for anything else. A `Cluster`
   * here needs `shardedSubscribers: true`.
   */
  subscriber: ScaleRedis;
  /** Prefix of every key and channel (default `patungan:`). */
  prefix?: string;
  /** This instance's id; must be unique among live instances (default host-pid-random). */
  instanceId?: string;
  logger?: Logger;
  /** Register the metrics here (default: a registry of its own, see `registerMetrics`). */
  registry?: Registry;
  /** Presence lease lifetime (default 2000 ms); renewed every quarter of it. */
  leaseMs?: number;
  /** How often other instances' leases are checked (default 1000 ms). */
  presenceCheckMs?: number;
  /**
   * Round of the sequence check (default 1000 ms): a room that went quiet is checked one round
   * later, every room every 10 rounds.
   */
  seqCheckMs?: number;
  /** Compact a room once its stream holds this many entries (default 200). */
  compactAfter?: number;
  /** A room that cannot subscribe + load within this is refused (default 5000 ms). */
  loadTimeoutMs?: number;
  /** `close()` also disconnects the two clients (default false: whoever made them owns them). */
  ownsClients?: boolean;
  /**
   * How long an append waits for a replica on a Redis Cluster (`WAIT 1 <ms>`, default 1000;
   * `REDIS_CLUSTER_WAIT_MS`). Ignored with a single Redis.
   */
  replicaWaitMs?: number;
}

export class RedisScale implements RoomBus {
  readonly name = 'redis-scale';
  readonly instanceId: string;
  readonly keys: ScaleKeys;
  readonly store: RedisRoomStore;
  /** The core's `RoomStorage` for scaled mode (pass as `storage`). */
  readonly storage: RedisRoomStorage;
  /** Pending room deadlines, shared by every instance (deadlines.ts). */
  readonly deadlines: RedisDeadlineIndex;
  readonly metrics: ScaleMetrics;
  readonly log: Logger;
  readonly #redis: ScaleRedis;
  readonly #sub: ScaleRedis;
  readonly #rooms = new Map<string, RoomSync>();
  readonly #byChannel = new Map<string, RoomSync>();
  readonly #inbox: string;
  readonly #leaseMs: number;
  readonly #loadTimeoutMs: number;
  readonly #seqCheckMs: number;
  readonly #ownsClients: boolean;
  readonly #timers: NodeJS.Timeout[] = [];
  #up = false;
  #upSince = 0;
  #tick = 0;
  #closed = false;
  /** Instances whose lease was found missing once (removed at the second miss). */
  readonly #missing = new Set<string>();

  constructor(o: RedisScaleOptions) {
    this.#redis = o.redis;
    this.#sub = o.subscriber;
    this.instanceId =
      o.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    if (/[{}\s]/.test(this.instanceId))
      throw new Error('instance id must not contain { } or spaces');
    this.keys = scaleKeys(o.prefix ?? 'patungan:');
    this.log = (o.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' })).child({
      component: 'scale',
      instance: this.instanceId,
    });
    this.metrics = createScaleMetrics(o.registry);
    this.store = new RedisRoomStore({
      redis: o.redis,
      keys: this.keys,
      instanceId: this.instanceId,
      ...(isCluster(o.redis)
        ? {
            replicas: {
              timeoutMs: o.replicaWaitMs ?? 1000,
              onUnreplicated: (primary: string) => {
                this.metrics.unreplicated.inc();
                this.log.warn(
                  { primary },
                  'no replica acknowledged appends in time: this shard is not failover-safe now (appends skip WAIT for 5 s)',
                );
              },
            },
          }
        : {}),
    });
    this.storage = new RedisRoomStorage(this.store, {
      compactAfter: o.compactAfter ?? 200,
      metrics: this.metrics,
      log: this.log,
      up: () => this.#up,
    });
    this.deadlines = new RedisDeadlineIndex(o.redis, this.keys);
    this.#inbox = this.keys.inbox(this.instanceId);
    this.#leaseMs = o.leaseMs ?? 2000;
    this.#loadTimeoutMs = o.loadTimeoutMs ?? 5000;
    this.#seqCheckMs = o.seqCheckMs ?? 1000;
    this.#ownsClients = o.ownsClients ?? false;

    this.#sub.on('smessageBuffer', this.#onMessage);
    // Cluster: after a failover the client moves the sharded subscriptions to the promoted
    // replica on its own; messages published in between are lost to us, so resync then.
    if (isCluster(this.#sub)) this.#sub.on('subscribersReady', this.#onResubscribed);
    for (const c of [this.#redis, this.#sub]) {
      c.on('ready', this.#onStatus);
      c.on('close', this.#onStatus);
      c.on('end', this.#onStatus);
      c.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis error'));
    }
    const every = (ms: number, f: () => Promise<void>) => {
      const t = setInterval(() => {
        f().catch((err: unknown) => this.log.warn({ err }, 'scale timer failed'));
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(Math.max(50, Math.floor(this.#leaseMs / 4)), () => this.#renewLease());
    every(o.presenceCheckMs ?? 1000, () => this.#checkPresence());
    every(this.#seqCheckMs, () => this.#checkSequences());
    this.#onStatus();
  }

  /** Whether both Redis connections are ready. */
  get redisUp(): boolean {
    return this.#redis.status === 'ready' && this.#sub.status === 'ready';
  }

  /** Resolves once Redis is reachable (or after `timeoutMs`, still degraded). */
  async ready(timeoutMs = 5000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.#up && Date.now() < until) await sleep(20);
    return this.#up;
  }

  // --- room lifecycle (RoomBus) -------------------------------------------------------------

  /**
   * Subscribe, then the core's one load (`load`: the storage read, applied to the doc), then
   * what arrived meanwhile, before the room serves its first client (decision 0003, 4).
   */
  async join(host: RoomHandle, load: () => Promise<StoredRoom>): Promise<void> {
    const old = this.#rooms.get(host.id);
    if (old) this.#forget(old);
    const room = new RoomSync(host, {
      instanceId: this.instanceId,
      keys: this.keys,
      store: this.store,
      metrics: this.metrics,
      log: this.log,
      publish: (channel, bytes) => this.store.publish(channel, bytes),
    });
    this.#rooms.set(room.id, room);
    this.#byChannel.set(room.channel, room);
    this.metrics.rooms.set(this.#rooms.size);
    try {
      await withTimeout(this.#sub.ssubscribe(room.channel), this.#loadTimeoutMs, 'subscribe');
      room.loaded(await withTimeout(load(), this.#loadTimeoutMs, 'load'));
    } catch (err) {
      this.#forget(room);
      this.#sub.sunsubscribe(room.channel).catch(() => {});
      this.log.warn({ err, room: room.id }, 'room could not be loaded from Redis');
      throw new Error(`room ${room.id} is unavailable while Redis is unreachable`, { cause: err });
    }
  }

  /**
   * The room left memory (the core ends its life a short while after its last local client
   * left; see docs/scaling.md): push what Redis lacks, if anything, and unsubscribe.
   */
  async leave(roomId: string): Promise<void> {
    const room = this.#rooms.get(roomId);
    if (!room) return;
    await room.flush().catch(() => {});
    this.#forget(room);
    await this.#sub.sunsubscribe(room.channel).catch(() => {});
  }

  /**
   * Redis did not take a local update (down, or a command failed): this room resyncs when it
   * can — pull, then push what Redis lacks — so the core may serve the update locally now.
   */
  takeOverFailedAppend(roomId: string, err: unknown): boolean {
    const room = this.#rooms.get(roomId);
    if (!room) return false;
    this.storage.handedOver(roomId);
    room.appendFailed(err);
    return true;
  }

  /**
   * Before a connection's update is judged by the write rules: new content of a Yjs client
   * that is not the sender's own (not among the client ids it already wrote with) may be
   * relayed content, e.g. a client that moved here from another instance re-sending
   * what it saw there. If this instance has not received that content through Redis yet, the
   * write rules would judge it as the sender's own write and revert whatever only its author
   * may write (another member's vote, the organiser's meta). So catch up with Redis first
   * (one counter read; a resync only if Redis is ahead). A connection's first update costs
   * that read; its later edits, written with a client id it already wrote with, never wait.
   */
  beforeApply(room: RoomHandle, conn: unknown, update: Uint8Array): Promise<void> | undefined {
    const sync = this.#rooms.get(room.id);
    if (!sync || !this.#up) return undefined;
    // Only client ids this connection already wrote with count as its own. Not its presence
    // ids: the stock client echoes every presence it receives, so a connection "announces"
    // other members' ids too.
    const own = (conn as { clientIds?: number[] | null }).clientIds;
    let relayed = false;
    try {
      for (const [client, to] of Y.parseUpdateMeta(update).to) {
        if (to <= Y.getState(room.doc.store, client)) continue;
        if (own?.includes(client)) continue;
        relayed = true;
        break;
      }
    } catch {
      return undefined; // malformed: the core refuses it
    }
    return relayed ? sync.catchUp() : undefined;
  }

  publishAwareness(roomId: string, changedClients: number[], origin: unknown): void {
    this.#rooms.get(roomId)?.onAwareness(changedClients, origin);
  }

  health(): { status: 'ok' | 'degraded'; redis: 'up' | 'down'; instanceId: string; rooms: number } {
    return {
      status: this.#up ? 'ok' : 'degraded',
      redis: this.#up ? 'up' : 'down',
      instanceId: this.instanceId,
      rooms: this.#rooms.size,
    };
  }

  registerMetrics(registry: Registry): void {
    if (registry === this.metrics.registry) return;
    const { registry: _own, ...metrics } = this.metrics;
    for (const m of Object.values(metrics)) registry.registerMetric(m);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.allSettled([...this.#rooms.values()].map((r) => r.flush()));
    if (this.#up) {
      // Drop the lease now: other instances remove this instance's presence at their next check.
      await this.#redis.del(this.keys.lease(this.instanceId)).catch(() => {});
      // One channel per SUNSUBSCRIBE on a cluster (channels of one call must share a slot).
      if (isCluster(this.#sub)) {
        const sub = this.#sub;
        const channels = [this.#inbox, ...[...this.#rooms.values()].map((r) => r.channel)];
        await Promise.all(channels.map((c) => sub.sunsubscribe(c).catch(() => {})));
      } else await this.#sub.sunsubscribe().catch(() => {});
    }
    for (const room of [...this.#rooms.values()]) this.#forget(room);
    this.#sub.off('smessageBuffer', this.#onMessage);
    this.#sub.off('subscribersReady', this.#onResubscribed);
    for (const c of [this.#redis, this.#sub]) {
      c.off('ready', this.#onStatus);
      c.off('close', this.#onStatus);
      c.off('end', this.#onStatus);
    }
    if (this.#ownsClients) {
      this.#sub.disconnect();
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    }
  }

  /** Hooks for tests: simulate pub/sub loss, force a resync. Not used in production. */
  readonly testing = {
    dropIncomingUpdates: (roomId: string, n: number): void => {
      const room = this.#rooms.get(roomId);
      if (room) room.dropIncoming += n;
    },
    resync: async (roomId: string): Promise<void> => {
      await this.#rooms.get(roomId)?.resync('manual');
    },
    lastSeq: (roomId: string): number | undefined => this.#rooms.get(roomId)?.lastSeq,
  };

  // --- internals ------------------------------------------------------------------------

  #forget(room: RoomSync): void {
    if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
    if (this.#byChannel.get(room.channel) === room) this.#byChannel.delete(room.channel);
    this.metrics.rooms.set(this.#rooms.size);
  }

  #onMessage = (channel: Buffer, message: Buffer): void => {
    const ch = channel.toString();
    try {
      const m = decodeMessage(message);
      if (ch === this.#inbox) {
        if (m.type === MSG_PRESENCE) this.#rooms.get(m.roomId)?.receive(m);
        return;
      }
      this.#byChannel.get(ch)?.receive(m);
    } catch (err) {
      this.log.warn({ err, channel: ch }, 'bad message from Redis dropped');
    }
  };

  #onStatus = (): void => {
    const up = this.redisUp;
    if (up === this.#up || this.#closed) return;
    this.#up = up;
    this.metrics.redisUp.set(up ? 1 : 0);
    if (!up) {
      this.metrics.redisUnavailable.inc();
      this.log.warn('Redis unreachable: serving local clients only (degraded)');
      return;
    }
    this.#upSince = Date.now();
    this.log.info({ rooms: this.#rooms.size }, 'Redis reachable: resubscribing and resyncing');
    void this.#recover();
  };

  #onResubscribed = (): void => {
    if (!this.#up || this.#closed || this.#rooms.size === 0) return;
    this.log.info({ rooms: this.#rooms.size }, 'cluster subscriptions moved: resyncing');
    void this.#recover();
  };

  /** After (re)connecting: lease, inbox, every room's channel, THEN resync (subscribe before load). */
  async #recover(): Promise<void> {
    try {
      await this.#renewLease();
      const rooms = [...this.#rooms.values()];
      // One SSUBSCRIBE per channel (channels of different rooms may live on different cluster
      // shards), pipelined; all confirmed before any room loads.
      await Promise.all(
        [this.#inbox, ...rooms.map((r) => r.channel)].map((c) => this.#sub.ssubscribe(c)),
      );
      // A bounded number of resyncs at a time: a thousand rooms must not load at once.
      let next = 0;
      const worker = async () => {
        while (next < rooms.length) await rooms[next++]!.resync('reconnect');
      };
      await Promise.all(Array.from({ length: Math.min(16, rooms.length) }, worker));
    } catch (err) {
      this.log.warn({ err }, 'recovery after reconnect failed; the periodic check retries');
      for (const room of this.#rooms.values()) room.needsResync = true;
    }
  }

  async #renewLease(): Promise<void> {
    if (!this.#up) return;
    await this.#redis.set(this.keys.lease(this.instanceId), '1', 'PX', this.#leaseMs);
  }

  /**
   * Removes the presence of clients whose instance's lease is gone. A lease must be missing
   * at two checks in a row, and never right after a reconnect, so that a Redis restart
   * (which loses every lease until its holder renews it) does not hide live clients.
   */
  async #checkPresence(): Promise<void> {
    if (!this.#up || Date.now() - this.#upSince < this.#leaseMs) return;
    const owners = new Set<string>();
    for (const room of this.#rooms.values()) for (const i of room.remote.instances()) owners.add(i);
    owners.delete(this.instanceId);
    if (owners.size === 0) return;
    const ids = [...owners];
    // One EXISTS per lease, sent together (auto-pipelined per node; leases of different
    // instances hash to different cluster slots, so never one pipeline or one multi-key call).
    const res = await Promise.all(
      ids.map((id) => this.#redis.exists(this.keys.lease(id)).catch(() => 1)),
    );
    ids.forEach((id, i) => {
      const alive = Number(res[i] ?? 1) === 1;
      if (alive) {
        this.#missing.delete(id);
        return;
      }
      if (!this.#missing.has(id)) {
        this.#missing.add(id);
        return;
      }
      this.#missing.delete(id);
      let removed = 0;
      for (const room of this.#rooms.values()) removed += room.remote.expire(id, room.host);
      this.metrics.presenceExpired.inc(removed);
      this.log.info(
        { deadInstance: id, clients: removed },
        'instance lease expired: presence removed',
      );
    });
  }

  /**
   * Finds rooms that missed their latest messages. While messages flow, a lost one shows as a
   * gap in the next message's sequence number; only a lost LAST message needs a look at the
   * room's counter in Redis. So a room is checked once it has been quiet for one round after
   * activity this instance has not verified yet, and every room once per 10 rounds (a lost
   * message in a room that was otherwise idle). A counter ahead of us at two checks in a row
   * (not just a message in flight) triggers a resync; rooms whose append failed resync here.
   */
  async #checkSequences(): Promise<void> {
    if (!this.#up) return;
    this.#tick++;
    const now = Date.now();
    const sweep = this.#tick % 10 === 0;
    const due: RoomSync[] = [];
    for (const room of this.#rooms.values()) {
      if (room.needsResync) {
        void room.resync('append-failed');
        continue;
      }
      const quietSinceUnverified =
        room.lastActivity > room.verifiedAt && now - room.lastActivity >= this.#seqCheckMs;
      if (sweep || quietSinceUnverified || room.suspectSeq !== null) due.push(room);
    }
    if (due.length === 0) return;
    const seqs = await this.store.seqs(due.map((r) => r.id));
    due.forEach((room, i) => {
      const seq = seqs[i] ?? 0;
      if (seq < room.lastSeq) {
        void room.resync('check'); // the counter went backwards: Redis lost its data
      } else if (seq === room.lastSeq) {
        room.suspectSeq = null;
        room.verifiedAt = now;
      } else if (room.suspectSeq !== null && room.lastSeq < room.suspectSeq) {
        void room.resync('check');
      } else {
        room.suspectSeq = seq;
      }
    });
  }
}

export type CreateRedisScaleOptions = Omit<RedisScaleOptions, 'redis' | 'subscriber'> &
  RedisTarget & {
    /** Extra ioredis options for both connections (every node's, on a cluster). */
    redisOptions?: RedisOptions;
  };

/**
 * Creates the two connections — to `url` (REDIS_URL) or to the cluster of `clusterNodes`
 * (REDIS_CLUSTER_NODES), client.ts — and the `RedisScale` that owns them. Commands fail fast
 * while Redis is down (no offline queue): a failed append is pushed again by the next resync,
 * so nothing piles up in memory.
 */
export async function createRedisScale(o: CreateRedisScaleOptions): Promise<RedisScale> {
  const { redis, subscriber } = scaleClients(o, o.redisOptions);
  const scale = new RedisScale({ ...o, redis, subscriber, ownsClients: true });
  if (!(await scale.ready(o.loadTimeoutMs ?? 5000))) {
    scale.log.warn('Redis not reachable at start: running degraded until it is');
  }
  return scale;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timeout reached while waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
