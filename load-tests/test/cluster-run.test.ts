/**
 * Several URLs: two room-server processes in scaled mode on the real Redis (own key prefix),
 * started with the cluster script. Members of each room are spread over both instances, so
 * the tool must measure same-instance and cross-instance latency separately, and every room
 * must still converge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startCluster, type Cluster } from '../../scripts/cluster.ts';
import { runCli } from '../src/main.ts';
import type { LoadReport } from '../src/report-types.ts';

const SECRET = 'cluster-load-secret-0123456789abcdef';
const PREFIX = `lt-test-${process.pid}-${Date.now().toString(36)}:`;
let cluster: Cluster | null = null;
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'patungan-load-cl-'));
  cluster = await startCluster({
    instances: 2,
    basePort: 0,
    lbPort: null,
    settlement: false,
    secret: SECRET,
    dataDir: dir,
    redisPrefix: PREFIX,
    env: { LOG_LEVEL: 'silent' },
    output: 'ignore',
  });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a run over two instances', () => {
  it('measures same- and cross-instance latency separately and converges', async () => {
    const c = cluster!;
    const json = join(dir, 'cluster.json');
    const out: string[] = [];
    const code = await runCli(
      [
        ...c.roomServers.flatMap((s) => ['--url', s.url]),
        '--secret',
        SECRET,
        '--rooms',
        '6',
        '--members',
        '4',
        '--rate',
        '4',
        '--duration',
        '4s',
        '--settle',
        '15s',
        '--workers',
        '1',
        '--quiet',
        '--json',
        json,
        '--threshold',
        'converged=100%',
        ...c.roomServers.flatMap((s) => ['--pid', String(s.pid)]),
      ],
      {},
      { out: (s) => out.push(s), err: (s) => out.push(s), tty: false, cwd: dir },
    );
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadReport;
    expect(code, out.join('')).toBe(0);
    expect(r.options.urls).toHaveLength(2);
    // members alternate between the two instances: each edit has receivers on both
    expect(r.latency.same.count).toBeGreaterThan(0);
    expect(r.latency.cross.count).toBeGreaterThan(0);
    expect(r.latency.same.count + r.latency.cross.count).toBe(r.latency.all.count);
    expect(r.convergence).toMatchObject({ checked: 6, converged: 6 });
    expect(r.servers.filter((s) => s.url.startsWith('pid'))).toHaveLength(2);
    expect(r.servers.every((s) => s.scrapes > 0)).toBe(true);
  });
});
