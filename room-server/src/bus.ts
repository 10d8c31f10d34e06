/**
 * The seam between the room core and the other instances serving the same rooms: a
 * `RoomBus`. Storage (`RoomStorage`) says where a room's updates are kept; the bus says who
 * else hears of them. Embedded mode runs the in-process `LocalBus` (nobody else: every hook a
 * no-op); scaled mode runs `RedisScale` (scale/redis-scale.ts: sharded pub/sub, sequence
 * numbers and resync, presence leases). Why the two are separate and how a room's one load
 * and one append go through them: docs/decisions/0006-room-core-and-scale-seam.md.
 */
import type { Registry } from 'prom-client';
import type { Connection } from './connection.ts';
import type { DeadlineIndex } from './deadlines.ts';
import type { RoomHandle } from './hooks.ts';
import type { Origin } from './origins.ts';
import type { StoredRoom } from './storage/types.ts';

export interface RoomBus {
  /** A name for logs and the `/healthz` key of its health. */
  readonly name: string;
  /**
   * Brings a room that is being loaded onto the bus, around its ONE load: `load` reads the
   * room from storage, applies it to the document (origin `storage`) and resolves with what
   * storage returned. Redis: subscribe to the room's channel, then `load`, then apply what
   * arrived meanwhile (decision 0003: nothing stored after the load can be missed). A
   * rejection means the room cannot be served now: its waiting connections get 1013.
   */
  join(room: RoomHandle, load: () => Promise<StoredRoom>): Promise<void>;
  /** The room left memory: stop hearing of it. */
  leave(roomId: string): Promise<void>;
  /** Awareness changed by a local connection: tell the other instances (never stored). */
  publishAwareness(roomId: string, changedClients: number[], origin: Origin | null): void;
  /**
   * The storage append of a local update failed. `true`: the bus puts it into storage later
   * (Redis down: the room's next resync pushes what storage lacks), so the core serves it to
   * its local clients now (decision 0005, 4). `false` or absent: a storage failure (the room
   * is dropped, its clients get 1013, `/healthz` 503).
   */
  takeOverFailedAppend?(roomId: string, err: unknown): boolean;
  /**
   * Before a connection's update is judged (like `RoomExtension.beforeApply`, and before
   * the extensions'): a bus may catch up with the other instances first.
   */
  beforeApply?(room: RoomHandle, conn: Connection, update: Uint8Array): void | Promise<void>;
  /**
   * Pending room deadlines shared by every instance on this bus (absent: one instance, the
   * server keeps its own index).
   */
  readonly deadlines?: DeadlineIndex;
  /** Merged into `GET /healthz` under `name`; `degraded` makes the answer degraded (200). */
  health?(): { status: 'ok' | 'degraded'; [k: string]: unknown };
  registerMetrics?(registry: Registry): void;
  /** After every room is unloaded and storage closed. */
  close(): Promise<void>;
}

/** Embedded mode: one process serves every room, so there is nobody else to tell. */
export class LocalBus implements RoomBus {
  readonly name = 'local';

  async join(_room: RoomHandle, load: () => Promise<StoredRoom>): Promise<void> {
    await load();
  }

  async leave(): Promise<void> {}

  publishAwareness(): void {}

  async close(): Promise<void> {}
}
