/** The scaled mode of the room-server (REDIS_URL or REDIS_CLUSTER_NODES set): see docs/scaling.md. */
export { RedisScale, createRedisScale } from './redis-scale.ts';
export type { RedisScaleOptions, CreateRedisScaleOptions } from './redis-scale.ts';
export { RedisRoomStore, nextStreamId } from './store.ts';
export { RedisRoomStorage } from './storage.ts';
export type { RedisRoomStorageOptions } from './storage.ts';
export { scaleFromEnv } from './config.ts';
export type { LoadedRoom, CompactResult } from './store.ts';
export { scaleKeys, parseRoomKey, keySlot } from './keys.ts';
export { scaleClients, isCluster } from './client.ts';
export type { ScaleRedis, ScaleClients, RedisTarget } from './client.ts';
export type { ScaleKeys } from './keys.ts';
