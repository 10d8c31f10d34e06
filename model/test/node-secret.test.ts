import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MIN_SECRET_BYTES,
  RoomTokenSecretError,
  redisClusterNodes,
  roomTokenSecret,
  scaledMode,
  weakSecretReason,
} from '../src/node.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'patungan-secret-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const STRONG = 'Qm9vdHN0cmFwLXRoaXMtaXMtMzItYnl0ZXMtbG9uZw';

describe('roomTokenSecret', () => {
  it('scaled mode is REDIS_URL, REDIS_CLUSTER_NODES or DATABASE_URL', () => {
    expect(scaledMode({})).toBe(false);
    expect(scaledMode({ REDIS_URL: 'redis://r:6379' })).toBe(true);
    expect(scaledMode({ REDIS_CLUSTER_NODES: 'r1:6379,r2:6379' })).toBe(true);
    expect(scaledMode({ DATABASE_URL: 'postgres://p/db' })).toBe(true);
  });

  it('REDIS_CLUSTER_NODES: host:port pairs, a clear error for anything else', () => {
    expect(redisClusterNodes({})).toBeNull();
    expect(
      redisClusterNodes({ REDIS_CLUSTER_NODES: ' redis-1:6379, 10.0.0.2:7001,[::1]:7002 ' }),
    ).toEqual([
      { host: 'redis-1', port: 6379 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    for (const bad of ['redis-1', 'redis-1:', 'redis-1:0', 'redis-1:70000', 'a:1,,b:2'])
      expect(() => redisClusterNodes({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(
        /REDIS_CLUSTER_NODES/,
      );
  });

  it.each([
    ['missing', undefined, /not set/],
    ['empty', '', /not set/],
    ['the old compose default', 'change-me-in-production', /well-known/],
    ['a placeholder', 'secret', /well-known/],
    ['a placeholder in capitals', '  ChangeMe ', /well-known/],
    ['short', 'a-31-byte-secret-is-too-short!!', /31 bytes/],
    ['one character repeated', 'x'.repeat(64), /repeated/],
  ])('scaled mode refuses a %s secret', (_what, secret, why) => {
    for (const env of [{ REDIS_URL: 'redis://r:6379' }, { DATABASE_URL: 'postgres://p/db' }]) {
      const e = { ...env, DATA_DIR: tempDir(), ROOM_TOKEN_SECRET: secret };
      expect(() => roomTokenSecret(e)).toThrow(RoomTokenSecretError);
      expect(() => roomTokenSecret(e)).toThrow(why);
    }
  });

  it('scaled mode takes a strong secret as given', () => {
    expect(Buffer.byteLength(STRONG)).toBeGreaterThanOrEqual(MIN_SECRET_BYTES);
    expect(weakSecretReason(STRONG)).toBeNull();
    expect(roomTokenSecret({ REDIS_URL: 'redis://r:6379', ROOM_TOKEN_SECRET: STRONG })).toBe(
      STRONG,
    );
  });

  it('embedded mode generates one secret into DATA_DIR, readable by its owner only', () => {
    const dir = tempDir();
    const a = roomTokenSecret({ DATA_DIR: dir });
    expect(weakSecretReason(a)).toBeNull();
    expect(roomTokenSecret({ DATA_DIR: dir })).toBe(a);
    const file = join(dir, 'room-token-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(a);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
