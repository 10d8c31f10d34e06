/** Public face of the room-server (`@patungan/room-server`). */
export { startRoomServer, DEFAULT_LIMITS } from './server.ts';
export type { RoomServer, RoomServerOptions, ServerLimits } from './server.ts';
export { configFromEnv } from './config.ts';
export { Room } from './room.ts';
export type { RoomLimits } from './room.ts';
export { Rooms } from './rooms.ts';
export { Connection } from './connection.ts';
export type { Transport } from './connection.ts';
export { REMOTE_ORIGIN, STORAGE_ORIGIN, RefusedUpdate, serviceOrigin } from './hooks.ts';
export type {
  AuthenticateContext,
  Origin,
  RemoteOrigin,
  RoomExtension,
  ServiceOrigin,
  StorageOrigin,
} from './hooks.ts';
export { checkWrites, REASON } from './write-rules.ts';
export type { Principal, WriteCheck } from './write-rules.ts';
export { CLOSE } from './protocol.ts';
export type { RoomStorage } from './storage/types.ts';
export { MemoryStorage, createMemoryStorage } from './storage/memory.ts';
export { FileStorage, createFileStorage } from './storage/file.ts';
export type { FileStorageOptions } from './storage/file.ts';
export { applySettlementPut, roomStatusFor } from './settlement/status.ts';
