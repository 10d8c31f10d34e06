/**
 * Environment → the scaled mode. `REDIS_URL` and `REDIS_CLUSTER_NODES` unset → null (embedded mode, in-process fan-out).
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `REDIS_URL` | unset | enables scaled mode (`redis://host:port/db`) |
 * | `REDIS_CLUSTER_NODES` | unset | enables scaled mode on a Redis Cluster instead (`host:port,…`, any nodes of it); wins over `REDIS_URL` |
 * | `REDIS_CLUSTER_WAIT_MS` | 1000 | cluster: how long an append waits for a replica (`WAIT 1`) |
 * | `REDIS_PREFIX` | `patungan:` | prefix of every key and channel |
 * | `INSTANCE_ID` | host name | a name for this instance; a random suffix is added per start, so a
 *   restarted instance never inherits its dead self's presence lease |
 * | `SCALE_LEASE_MS` | 2000 | presence lease; a dead instance's presence goes within ~1.5× this + 1 s |
 * | `SCALE_COMPACT_AFTER` | 200 | compact a room's stream past this many entries |
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { redisClusterNodes } from '@patungan/model/node';
import { createRedisScale, type RedisScale } from './redis-scale.ts';

function int(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

export async function scaleFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
): Promise<RedisScale | null> {
  const clusterNodes = redisClusterNodes(env);
  const url = env.REDIS_URL;
  if (!clusterNodes && !url) return null;
  const leaseMs = int(env, 'SCALE_LEASE_MS');
  const compactAfter = int(env, 'SCALE_COMPACT_AFTER');
  const replicaWaitMs = int(env, 'REDIS_CLUSTER_WAIT_MS');
  return createRedisScale({
    ...(clusterNodes ? { clusterNodes } : { url: url! }),
    ...(replicaWaitMs ? { replicaWaitMs } : {}),
    prefix: env.REDIS_PREFIX || 'patungan:',
    instanceId: `${(env.INSTANCE_ID || hostname()).replace(/[{}\s]/g, '_')}-${randomBytes(3).toString('hex')}`,
    ...(leaseMs ? { leaseMs } : {}),
    ...(compactAfter ? { compactAfter } : {}),
    ...(logger ? { logger } : {}),
  });
}
