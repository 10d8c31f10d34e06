/** `npm start -w room-server`: environment → startRoomServer, and a clean exit on signals. */
import { configFromEnv } from './config.ts';
import { startRoomServer } from './server.ts';
import type { RoomStorage } from './storage/types.ts';

let config: ReturnType<typeof configFromEnv>;
try {
  config = configFromEnv();
} catch (err) {
  // A missing or weak ROOM_TOKEN_SECRET in scaled mode (model/src/node.ts): say why, exit 1.
  console.error(`room-server cannot start: ${(err as Error).message}`);
  process.exit(1);
}
// REDIS_URL or REDIS_CLUSTER_NODES set → scaled mode (docs/scaling.md): rooms are stored in Redis (`scale.storage`)
// and fanned out to the other instances through it (`scale`, the bus); unset → one instance,
// nobody else to tell, rooms stored in PostgreSQL when ROOM_STORAGE_URL is set, else in files
// under DATA_DIR. Imported only when needed: loading ioredis and the scale modules costs
// ~8 MB of heap that an embedded server never uses (and postgres.js likewise).
const scale =
  process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES
    ? await (await import('./scale/index.ts')).scaleFromEnv(process.env)
    : null;
let storage: RoomStorage | null = null;
if (!scale && process.env.ROOM_STORAGE_URL) {
  try {
    const { openPostgresStorage } = await import('./storage/postgres.ts');
    storage = await openPostgresStorage({ databaseUrl: process.env.ROOM_STORAGE_URL });
  } catch (err) {
    // unreachable database, wrong credentials, a failed migration: say why, exit 1
    console.error(`room-server cannot start: ROOM_STORAGE_URL: ${(err as Error).message}`);
    process.exit(1);
  }
}
const server = await startRoomServer(
  scale
    ? { ...config, storage: scale.storage, bus: scale }
    : storage
      ? { ...config, storage }
      : config,
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  // A second signal while flushing means "now": exit without waiting.
  process.once(signal, () => process.exit(1));
  try {
    await server.close();
    process.exit(0);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
