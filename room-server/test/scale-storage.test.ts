/**
 * The room-server's one storage contract over the Redis storage of the scaled mode, built as
 * production builds it: `RedisScale.storage` (its append is the one the core makes for every
 * local update: the script that stores and publishes), with the `RedisScale` as the bus.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { expect, onTestFinished } from 'vitest';
import { RedisScale } from '../src/scale/index.ts';
import { REDIS_URL, dropPrefix, uniquePrefix } from './scale-helpers.ts';
import { storageContract } from './storage-contract.ts';

storageContract('redis', async () => {
  const prefix = uniquePrefix('storage');
  const open = async () => {
    const o = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    const scale = new RedisScale({
      redis: new Redis(REDIS_URL, o),
      subscriber: new Redis(REDIS_URL, o),
      prefix,
      instanceId: `contract-${Math.random().toString(36).slice(2, 8)}`,
      ownsClients: true,
      logger: pino({ level: 'silent' }),
    });
    onTestFinished(() => scale.close());
    expect(await scale.ready()).toBe(true);
    return scale;
  };
  onTestFinished(() => dropPrefix(REDIS_URL, prefix));
  const scale = await open();
  return { storage: scale.storage, bus: scale, reopen: async () => (await open()).storage };
});
