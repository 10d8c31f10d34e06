/** Public face of the room-server (`@patungan/room-server`). */
export { startRoomServer, DEFAULT_LIMITS } from './server.ts';
export type { RoomServer, RoomServerOptions, ServerLimits } from './server.ts';
export { configFromEnv } from './config.ts';
export { Room } from './room.ts';
export type { RoomLimits } from './room.ts';
export { Rooms } from './rooms.ts';
export { Connection } from './connection.ts';
export type { Transport } from './connection.ts';
export { RefusedUpdate } from './hooks.ts';
export type { AuthenticateContext, RoomExtension, RoomHandle } from './hooks.ts';
export { REMOTE_ORIGIN, STORAGE_ORIGIN, isDurableOrigin, serviceOrigin } from './origins.ts';
export type {
  DurableOrigin,
  Origin,
  RemoteOrigin,
  ServiceOrigin,
  StorageOrigin,
} from './origins.ts';
export { LocalBus } from './bus.ts';
export type { RoomBus } from './bus.ts';
export { checkWrites, REASON } from './write-rules.ts';
export type { Principal, WriteCheck } from './write-rules.ts';
export { CLOSE } from './protocol.ts';
export type { RoomStorage, StoredRoom } from './storage/types.ts';
export { MemoryStorage, createMemoryStorage } from './storage/memory.ts';
export { FileStorage, createFileStorage } from './storage/file.ts';
export type { FileStorageOptions } from './storage/file.ts';
export { applySettlementPut, roomStatusFor } from './settlement/status.ts';
export { roomStatusAnswer } from './http/routes.ts';
export type { RoomStatusAnswer } from './http/routes.ts';
