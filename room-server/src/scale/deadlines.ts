/**
 * The deadline index of the scaled mode (deadlines.ts): one sorted set of every pending
 * deadline (member: room id, score: ms since the epoch), scanned by every instance, and one
 * lease key per deadline (`SET NX PX`) so that exactly one instance acts on it. On a Redis
 * Cluster the sorted set is one key in one slot (every instance reads it; it is small: one
 * member per room with a pending deadline) and each lease hashes with its room.
 */
import type { DeadlineIndex } from '../deadlines.ts';
import type { ScaleRedis } from './client.ts';
import type { ScaleKeys } from './keys.ts';

/** Removes the member only while its score is still the given one. */
const REMOVE_IF = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`;

export class RedisDeadlineIndex implements DeadlineIndex {
  constructor(
    private readonly redis: ScaleRedis,
    private readonly keys: ScaleKeys,
  ) {}

  async set(roomId: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.deadlines(), at, roomId);
  }

  async remove(roomId: string, at?: number): Promise<void> {
    if (at === undefined) await this.redis.zrem(this.keys.deadlines(), roomId);
    else await this.redis.eval(REMOVE_IF, 1, this.keys.deadlines(), roomId, String(at));
  }

  async due(now: number, limit: number): Promise<{ roomId: string; at: number }[]> {
    const flat = await this.redis.zrangebyscore(
      this.keys.deadlines(),
      '-inf',
      now,
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const out: { roomId: string; at: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ roomId: flat[i]!, at: Number(flat[i + 1]) });
    }
    return out;
  }

  async claim(roomId: string, at: number, ttlMs: number): Promise<boolean> {
    const ok = await this.redis.set(this.keys.deadlineLease(roomId, at), '1', 'PX', ttlMs, 'NX');
    return ok === 'OK';
  }
}
