/** @patungan/settlement: catalog, stock, holds, group payments, orders. */
export { startSettlement, type SettlementOptions, type SettlementService } from './server.ts';
export { SettlementError, type ErrorCode } from './errors.ts';
export { openDb, type Db, type Queryable, type DbOptions } from '@patungan/db';
export { migrate, MIGRATIONS } from './db/migrations.ts';
export {
  seedDemo,
  demoProducts,
  demoStock,
  STORES,
  CATEGORIES,
  insertProducts,
  insertStores,
  insertStock,
} from './seed.ts';
export { offsetClock, systemClock, type Clock } from './clock.ts';
export type { FaultPoint } from './context.ts';
export type { RoomSettlementState, StockEvent, SettlementEvent } from './outbox.ts';
export type { EventBus } from './events.ts';
export { localBus, redisBus } from './events.ts';
export * from './providers/index.ts';
export { snapshotSchema, type Snapshot } from './schemas.ts';
