/**
 * Every Redis key and channel of the scaled mode is built here, and `parseRoomKey` is its
 * inverse. A room's keys share the hash tag `{<roomId>}` so that they live in one slot on
 * Redis Cluster: the append script and the atomic load touch several of them at once, and
 * the room's sharded channel (SPUBLISH / SSUBSCRIBE) is served by the same shard.
 */
import { isRoomId } from '@patungan/model';

export type RoomKeyKind = 'log' | 'snap' | 'seq' | 'lock' | 'ch';

export interface ScaleKeys {
  readonly prefix: string;
  /** Stream of updates not yet compacted into the snapshot (field `u`). */
  log(roomId: string): string;
  /** Hash `{doc, lastId}`: the compacted document and the last stream id it covers. */
  snap(roomId: string): string;
  /** Counter: the room's sequence number, incremented once per published update. */
  seq(roomId: string): string;
  /** Compaction lock (value: the holder's instance id, with a PX expiry). */
  lock(roomId: string): string;
  /** The room's sharded pub/sub channel. */
  channel(roomId: string): string;
  /** An instance's own sharded channel, for replies meant for it alone. */
  inbox(instanceId: string): string;
  /** An instance's presence lease (string with a PX expiry). */
  lease(instanceId: string): string;
  /** Sorted set of pending room deadlines (member: room id, score: ms since the epoch). */
  deadlines(): string;
  /** The lease on acting on one room deadline (string with a PX expiry). */
  deadlineLease(roomId: string, at: number): string;
}

export function scaleKeys(prefix: string): ScaleKeys {
  const room = (kind: RoomKeyKind) => (roomId: string) => `${prefix}room:{${roomId}}:${kind}`;
  return {
    prefix,
    log: room('log'),
    snap: room('snap'),
    seq: room('seq'),
    lock: room('lock'),
    channel: room('ch'),
    inbox: (instanceId) => `${prefix}instance:{${instanceId}}:inbox`,
    lease: (instanceId) => `${prefix}instance:{${instanceId}}:lease`,
    deadlines: () => `${prefix}deadlines`,
    deadlineLease: (roomId, at) => `${prefix}room:{${roomId}}:deadline:${at}`,
  };
}

/** The inverse of the room key builders: `{roomId, kind}`, or null for any other string. */
export function parseRoomKey(
  prefix: string,
  key: string,
): { roomId: string; kind: RoomKeyKind } | null {
  if (!key.startsWith(prefix + 'room:{')) return null;
  const rest = key.slice(prefix.length + 'room:{'.length);
  const close = rest.indexOf('}:');
  if (close < 0) return null;
  const roomId = rest.slice(0, close);
  const kind = rest.slice(close + 2);
  if (!isRoomId(roomId)) return null;
  if (kind !== 'log' && kind !== 'snap' && kind !== 'seq' && kind !== 'lock' && kind !== 'ch') {
    return null;
  }
  return { roomId, kind };
}

/**
 * The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag (the text between the first
 * `{` and the next `}`, when not empty), else of the whole key, modulo 16384.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]! << 8;
    for (let b = 0; b < 8; b++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
