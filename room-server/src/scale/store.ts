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
import type { Redis } from 'ioredis';
import * as Y from 'yjs';
import type { ScaleKeys } from './keys.ts';
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

type ScriptRedis = Redis & {
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
function withScripts(redis: Redis): ScriptRedis {
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
  redis: Redis;
  keys: ScaleKeys;
  instanceId: string;
  /** How long a compaction may hold the room's lock (default 10 s). */
  lockMs?: number;
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

  constructor(o: RedisRoomStoreOptions) {
    this.#redis = withScripts(o.redis);
    this.#keys = o.keys;
    this.#instanceId = o.instanceId;
    this.#header = toBuffer(updateHeader(o.instanceId));
    this.#lockMs = o.lockMs ?? 10_000;
  }

  /** Appends and publishes one update; resolves once it is durable, with its sequence number. */
  async append(roomId: string, update: Uint8Array): Promise<{ seq: number; logLength: number }> {
    const k = this.#keys;
    const [seq, logLength] = await this.#redis.patunganAppend(
      k.seq(roomId),
      k.log(roomId),
      k.channel(roomId),
      this.#header,
      toBuffer(update),
    );
    return { seq: Number(seq), logLength: Number(logLength) };
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

  /** The sequence numbers of several rooms in one round trip (a pipeline, not MGET: cluster-safe). */
  async seqs(roomIds: readonly string[]): Promise<number[]> {
    if (roomIds.length === 0) return [];
    const p = this.#redis.pipeline();
    for (const id of roomIds) p.get(this.#keys.seq(id));
    const res = (await p.exec()) ?? [];
    return roomIds.map((_, i) => {
      const r = res[i];
      if (!r || r[0]) throw r?.[0] ?? new Error('pipeline answer missing');
      return Number(r[1] ?? 0);
    });
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

function fieldValue(fields: Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]?.toString() === name) return fields[i + 1];
  }
  return undefined;
}
