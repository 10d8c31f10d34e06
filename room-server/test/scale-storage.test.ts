/** The room-server's one storage contract, run over the Redis storage of the scaled mode. */
import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { RedisRoomStorage, RedisRoomStore, scaleKeys } from '../src/scale/index.ts';
import { REDIS_URL, dropPrefix, uniquePrefix } from './scale-helpers.ts';
import { storageContract } from './storage-contract.ts';

storageContract('redis', async () => {
  const prefix = uniquePrefix('storage');
  const open = () => {
    const redis = new Redis(REDIS_URL);
    onTestFinished(() => redis.disconnect());
    const store = new RedisRoomStore({ redis, keys: scaleKeys(prefix), instanceId: 'contract' });
    return new RedisRoomStorage(store);
  };
  onTestFinished(() => dropPrefix(REDIS_URL, prefix));
  return { storage: open(), reopen: async () => open() };
});
