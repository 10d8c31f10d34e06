/**
 * Durable room state in Redis: per room a stream of updates (`log`), a compacted snapshot
 * (`snap`) and a sequence counter (`seq`). See docs/decisions/0003-scaled-room-state.md.
 *
 * Appending IS publishing: one Lua script takes the next sequence number, appends the update
 * to the stream and SPUBLISHes it on the room's channel. So the order of sequence numbers is
 * the order of the stream is the order of delivery, and an update that any other instance
 * received is always durable (never "published but not stored").
 *
 * Compaction folds the snapshot and the stream into a new snapshot. One instance at a time
 * (a `SET NX PX` lock); the write is a script that checks it still holds the lock and that
 * the snapshot is still the one it read, then trims exactly what it folded in. Entries
 * appended meanwhile have larger ids and stay.
 */
import type { Cluster } from 'ioredis';
import * as Y from 'yjs';
import { isCluster, type ScaleRedis } from './client.ts';
import { keySlot, type ScaleKeys } from './keys.ts';
import { updateHeader } from './messages.ts';

const APPEND = `
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], '*', 'u', ARGV[2])
local s = string.format('%d', seq)
redis.call('SPUBLISH', KEYS[3], ARGV[1] .. string.char(#s) .. s .. ARGV[2])
return {seq, redis.call('XLEN', KEYS[2])}
`;

const COMMIT_SNAPSHOT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local prev = redis.call('HGET', KEYS[2], 'lastId') or ''
if prev ~= ARGV[5] then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[2], 'doc', ARGV[2], 'lastId', ARGV[3])
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])
redis.call('DEL', KEYS[1])
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type AppendArgs = [seq: string, log: string, ch: string, header: Buffer, update: Buffer];

type ScriptRedis = ScaleRedis & {
  patunganAppend(
    seq: string,
    log: string,
    ch: string,
    header: Buffer,
    update: Buffer,
  ): Promise<[number, number]>;
  patunganCommitSnapshot(
    lock: string,
    snap: string,
    log: string,
    me: string,
    doc: Buffer,
    lastId: string,
    minId: string,
    prevLastId: string,
  ): Promise<number>;
  patunganRelease(lock: string, me: string): Promise<number>;
};

/** Adds the scripts to a client once (ioredis sends EVALSHA and falls back to EVAL). */
function withScripts(redis: ScaleRedis): ScriptRedis {
  const r = redis as ScriptRedis;
  if (typeof r.patunganAppend !== 'function') {
    redis.defineCommand('patunganAppend', { numberOfKeys: 3, lua: APPEND });
    redis.defineCommand('patunganCommitSnapshot', { numberOfKeys: 3, lua: COMMIT_SNAPSHOT });
    redis.defineCommand('patunganRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  return r;
}

export interface LoadedRoom {
  /** The room's sequence number at the moment of the (atomic) read. */
  seq: number;
  /** Snapshot first (if any), then every stream entry, oldest first. */
  updates: Uint8Array[];
  /** Stream entries not yet compacted. */
  logLength: number;
}

export type CompactResult = 'compacted' | 'busy' | 'empty' | 'incomplete' | 'lost-lock';

export interface RedisRoomStoreOptions {
  redis: ScaleRedis;
  keys: ScaleKeys;
  instanceId: string;
  /** How long a compaction may hold the room's lock (default 10 s). */
  lockMs?: number;
  /**
   * Redis Cluster: an append resolves only once a replica has it (`WAIT 1 timeoutMs` on the same
   * connection to the room's primary, right after the script; see `#appendReplicated`). A
   * primary whose WAIT times out (no live replica, e.g. right after a failover) is reported by
   * `onUnreplicated` (with its `host:port`), and appends to it skip the WAIT for `skipMs`
   * (default 5 s): a primary without a replica cannot give the guarantee, and must not stall
   * every edit by the timeout. Unset (single Redis): no WAIT.
   */
  replicas?: {
    timeoutMs: number;
    skipMs?: number;
    onUnreplicated?: (primary: string) => void;
  };
}

const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** The smallest stream id greater than `id` (`ms-seq` → `ms-(seq+1)`). */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-');
  if (ms === undefined || seq === undefined) throw new Error(`bad stream id ${id}`);
  return `${ms}-${(BigInt(seq) + 1n).toString()}`;
}

export class RedisRoomStore {
  readonly #redis: ScriptRedis;
  readonly #keys: ScaleKeys;
  readonly #instanceId: string;
  readonly #header: Buffer;
  readonly #lockMs: number;
  readonly #replicas: RedisRoomStoreOptions['replicas'];
  /** Primaries (`host:port`) whose last WAIT timed out → until when they append without one. */
  readonly #unreplicated = new Map<string, number>();
  /** Per node connection: a WAIT in flight, and the next one the appends since then share. */
  readonly #waits = new Map<
    ScaleRedis,
    {
      inflight: boolean;
      next: {
        promise: Promise<number>;
        resolve: (n: number) => void;
        reject: (err: unknown) => void;
      } | null;
    }
  >();

  constructor(o: RedisRoomStoreOptions) {
    this.#redis = withScripts(o.redis);
    this.#keys = o.keys;
    this.#instanceId = o.instanceId;
    this.#header = toBuffer(updateHeader(o.instanceId));
    this.#lockMs = o.lockMs ?? 10_000;
    this.#replicas = o.replicas;
  }

  /**
   * Appends and publishes one update; resolves once it is durable (on a cluster: once a replica
   * has it too), with its sequence number.
   */
  async append(roomId: string, update: Uint8Array): Promise<{ seq: number; logLength: number }> {
    const k = this.#keys;
    const args: AppendArgs = [
      k.seq(roomId),
      k.log(roomId),
      k.channel(roomId),
      this.#header,
      toBuffer(update),
    ];
    const r = this.#replicas;
    if (!r || !isCluster(this.#redis)) {
      const [seq, logLength] = await this.#redis.patunganAppend(...args);
      return { seq: Number(seq), logLength: Number(logLength) };
    }
    return this.#appendReplicated(this.#redis, r, args);
  }

  /**
   * Redis Cluster: the script on the connection to the room's primary, then `WAIT 1` on that
   * same connection, one WAIT for every append sent to that primary in the same event-loop
   * turn (group commit: WAIT blocks its connection until a replica has every write sent on it
   * before, so one per turn, not one per append). The append resolves once both answered.
   * A node that answers MOVED or is gone (a failover) fails the append (the bus takes it over:
   * served locally, pushed by the room's next resync) and refreshes the slot map.
   */
  async #appendReplicated(
    cluster: Cluster,
    r: NonNullable<RedisRoomStoreOptions['replicas']>,
    args: AppendArgs,
  ): Promise<{ seq: number; logLength: number }> {
    const slotOwner = cluster.slots[keySlot(args[0])]?.[0];
    const node = slotOwner ? this.#node(cluster, slotOwner) : undefined;
    if (!node) {
      cluster.refreshSlotsCache();
      throw new Error('no connection to the primary of this room yet (slot map refreshing)');
    }
    const script = withScripts(node).patunganAppend(...args);
    const skipUntil = this.#unreplicated.get(slotOwner!);
    const replicated =
      skipUntil !== undefined && Date.now() < skipUntil
        ? -1
        : this.#replicated(node, slotOwner!, r);
    try {
      const [[seq, logLength]] = await Promise.all([script, replicated]);
      return { seq: Number(seq), logLength: Number(logLength) };
    } catch (err) {
      cluster.refreshSlotsCache();
      throw err;
    }
  }

  /**
   * The WAIT that covers a script just sent on `node`: the next one, shared by every append of
   * this turn, and sent once no other WAIT is in flight on that connection (one at a time: a
   * WAIT that times out must not queue a WAIT per append behind it). Resolves with the number
   * of replicas that acknowledged, or -1 when the primary is in its skip period.
   */
  #replicated(
    node: ScaleRedis,
    primary: string,
    r: NonNullable<RedisRoomStoreOptions['replicas']>,
  ): Promise<number> {
    let st = this.#waits.get(node);
    if (!st) this.#waits.set(node, (st = { inflight: false, next: null }));
    if (st.next) return st.next.promise;
    let resolve!: (n: number) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    st.next = { promise, resolve, reject };
    const state = st;
    const skipMs = r.skipMs ?? 5000;
    const send = async (): Promise<void> => {
      const batch = state.next;
      if (!batch || state.inflight) return;
      state.next = null;
      state.inflight = true;
      try {
        const until = this.#unreplicated.get(primary);
        if (until !== undefined) {
          // Skip period over: ask (ROLE, which does not block the connection as a WAIT that
          // times out does) whether the primary has a replica again before waiting for one.
          if (Date.now() < until || !(await hasReplica(node))) {
            if (Date.now() >= until) this.#unreplicated.set(primary, Date.now() + skipMs);
            batch.resolve(-1);
            return;
          }
          this.#unreplicated.delete(primary);
        }
        const n = await node.wait(1, r.timeoutMs);
        if (n < 1) {
          this.#unreplicated.set(primary, Date.now() + skipMs);
          r.onUnreplicated?.(primary);
        }
        batch.resolve(n);
      } catch (err) {
        batch.reject(err);
      } finally {
        state.inflight = false;
        void send(); // the appends that came while it was in flight
      }
    };
    // After every script of this turn (a microtask runs after the synchronous calls).
    if (!st.inflight) queueMicrotask(() => void send());
    return promise;
  }

  /** The cluster client's connection to one node (`host:port`), with the scripts defined. */
  #node(cluster: Cluster, key: string): ScriptRedis | undefined {
    for (const n of cluster.nodes('master')) {
      if (`${n.options.host}:${n.options.port}` === key) return withScripts(n);
    }
    return undefined;
  }

  /** Reads sequence number, snapshot and stream in one MULTI, so they are mutually consistent. */
  async load(roomId: string): Promise<LoadedRoom> {
    const k = this.#keys;
    const res = await this.#redis
      .multi()
      .get(k.seq(roomId))
      .hgetBuffer(k.snap(roomId), 'doc')
      .xrangeBuffer(k.log(roomId), '-', '+')
      .exec();
    if (!res) throw new Error('redis transaction aborted');
    for (const [err] of res) if (err) throw err;
    const seq = Number(res[0]?.[1] ?? 0);
    const snap = res[1]?.[1] as Buffer | null;
    const entries = (res[2]?.[1] ?? []) as [Buffer, Buffer[]][];
    const updates: Uint8Array[] = snap ? [snap] : [];
    for (const [, fields] of entries) {
      const u = fieldValue(fields, 'u');
      if (u) updates.push(u);
    }
    return { seq, updates, logLength: entries.length };
  }

  /**
   * The sequence numbers of several rooms: one GET per room, sent together (auto-pipelined per
   * node: one round trip to a single Redis, one per shard on a cluster; never MGET or a
   * pipeline, whose keys would have to share a slot).
   */
  async seqs(roomIds: readonly string[]): Promise<number[]> {
    if (roomIds.length === 0) return [];
    const res = await Promise.all(roomIds.map((id) => this.#redis.get(this.#keys.seq(id))));
    return res.map((v) => Number(v ?? 0));
  }

  /**
   * Folds the stream into the snapshot. Refuses (`incomplete`) to write a document that has
   * pending structs or deletes, i.e. references to inserts it does not have: that would be a
   * document "with deletes but no inserts", and storing it would make the loss permanent.
   * `extra` (a full document state from the caller) is merged in as well.
   */
  async compact(roomId: string, extra?: Uint8Array): Promise<CompactResult> {
    const k = this.#keys;
    const me = this.#instanceId;
    const got = await this.#redis.set(k.lock(roomId), me, 'PX', this.#lockMs, 'NX');
    if (got !== 'OK') return 'busy';
    let committed = false;
    try {
      const res = await this.#redis
        .multi()
        .hmgetBuffer(k.snap(roomId), 'doc', 'lastId')
        .xrangeBuffer(k.log(roomId), '-', '+')
        .exec();
      if (!res) throw new Error('redis transaction aborted');
      for (const [err] of res) if (err) throw err;
      const [snapDoc, snapLastId] = (res[0]?.[1] ?? [null, null]) as (Buffer | null)[];
      const entries = (res[1]?.[1] ?? []) as [Buffer, Buffer[]][];
      const last = entries[entries.length - 1];
      if (!last && !extra) return 'empty';
      const doc = new Y.Doc();
      try {
        Y.transact(doc, () => {
          if (snapDoc) Y.applyUpdate(doc, snapDoc);
          if (extra) Y.applyUpdate(doc, extra);
          for (const [, fields] of entries) {
            const u = fieldValue(fields, 'u');
            if (u) Y.applyUpdate(doc, u);
          }
        });
        if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) return 'incomplete';
        // With no stream entries (only `extra`), keep the snapshot's own position.
        const lastId = last ? last[0].toString() : (snapLastId?.toString() ?? '0-0');
        const ok = await this.#redis.patunganCommitSnapshot(
          k.lock(roomId),
          k.snap(roomId),
          k.log(roomId),
          me,
          toBuffer(Y.encodeStateAsUpdate(doc)),
          lastId,
          nextStreamId(lastId),
          snapLastId ? snapLastId.toString() : '',
        );
        committed = true; // the script released the lock either way
        return ok === 1 ? 'compacted' : 'lost-lock';
      } finally {
        doc.destroy();
      }
    } finally {
      if (!committed) await this.#redis.patunganRelease(k.lock(roomId), me).catch(() => 0);
    }
  }

  async publish(channel: string, bytes: Uint8Array): Promise<void> {
    await this.#redis.spublish(channel, toBuffer(bytes));
  }

  /** Deletes every key of a room (tests and admin tools; not used while serving). */
  async destroy(roomId: string): Promise<void> {
    const k = this.#keys;
    await this.#redis.del(k.log(roomId), k.snap(roomId), k.seq(roomId), k.lock(roomId));
  }
}

/** Whether a primary has a connected replica now (`ROLE`: `['master', offset, replicas]`). */
async function hasReplica(node: ScaleRedis): Promise<boolean> {
  const role = (await node.role()) as unknown[];
  return Array.isArray(role[2]) && role[2].length > 0;
}

function fieldValue(fields: Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]?.toString() === name) return fields[i + 1];
  }
  return undefined;
}
