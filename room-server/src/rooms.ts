/**
 * The rooms in memory: load on demand (stored state first, then the extensions' `loadRoom`,
 * and only then the room serves anyone), unload a while after the last client left
 * (compact, flush, forget), and unload everything at shutdown.
 */
import * as Y from 'yjs';
import { STORAGE_ORIGIN } from './hooks.ts';
import { Room } from './room.ts';
import type { RoomContext } from './room.ts';

export interface RoomsOptions {
  /** How long a room without clients stays in memory. */
  unloadDelayMs: number;
}

/** How often silent clients' presence is looked for (y-protocols: a tenth of its timeout). */
const PRESENCE_SWEEP_MS = 3000;

export class Rooms {
  private readonly rooms = new Map<string, Room>();
  private readonly roomCtx: RoomContext;
  /** One presence-expiry sweep for all rooms (instead of a timer per room). */
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly ctx: Omit<RoomContext, 'idle'>,
    private readonly opts: RoomsOptions,
  ) {
    this.roomCtx = { ...ctx, idle: (room) => this.scheduleUnload(room) };
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const room of this.rooms.values()) if (room.state === 'ready') room.expirePresence(now);
    }, PRESENCE_SWEEP_MS).unref();
  }

  get size(): number {
    return this.rooms.size;
  }

  get(roomId: string): Room | undefined {
    const r = this.rooms.get(roomId);
    return r?.state === 'ready' ? r : undefined;
  }

  all(): IterableIterator<Room> {
    return this.rooms.values();
  }

  /** The loaded room, loading it first if needed. Rejects when it cannot be loaded now. */
  async acquire(roomId: string): Promise<Room> {
    let room = this.rooms.get(roomId);
    while (room && room.state === 'unloading') {
      await room.unloaded;
      room = this.rooms.get(roomId);
    }
    if (!room) {
      room = new Room(roomId, this.roomCtx);
      this.rooms.set(roomId, room);
      this.ctx.stats.rooms = this.rooms.size;
      room.ready = this.load(room);
    }
    try {
      await room.ready;
    } catch (err) {
      if (this.rooms.get(roomId) === room) {
        this.rooms.delete(roomId);
        this.ctx.stats.rooms = this.rooms.size;
        room.state = 'gone';
        room.destroy();
      }
      throw err;
    }
    if (room.state !== 'ready') return this.acquire(roomId);
    room.cancelUnload();
    return room;
  }

  private async load(room: Room): Promise<void> {
    const started = performance.now();
    const updates = await this.ctx.storage.load(room.id);
    room.doc.transact(() => {
      for (const u of updates) {
        try {
          Y.applyUpdate(room.doc, u, STORAGE_ORIGIN);
        } catch (err) {
          this.ctx.log.error(
            { roomId: room.id, err },
            'skipping a stored update that does not apply',
          );
        }
      }
    }, STORAGE_ORIGIN);
    for (const ext of this.ctx.extensions) await ext.loadRoom?.(room);
    room.state = 'ready';
    this.ctx.log.debug(
      { roomId: room.id, updates: updates.length, ms: Math.round(performance.now() - started) },
      'room loaded',
    );
    // Loaded for a connection that already went away: unload in due course.
    queueMicrotask(() => {
      if (!room.busy && room.state === 'ready' && !room.unloadTimer) this.scheduleUnload(room);
    });
  }

  private scheduleUnload(room: Room): void {
    if (room.state !== 'ready') return;
    room.cancelUnload();
    room.unloadTimer = setTimeout(() => {
      room.unloadTimer = null;
      if (!room.busy) void this.unload(room);
    }, this.opts.unloadDelayMs);
  }

  /** Stores the room compactly, runs the extensions' `unloadRoom`, and forgets it. */
  unload(room: Room): Promise<void> {
    if (room.unloaded) return room.unloaded;
    room.state = 'unloading';
    room.cancelUnload();
    room.unloaded = (async () => {
      try {
        if (this.ctx.persist) {
          if (this.ctx.storage.pendingBytes(room.id) > 0) await room.compact();
          await room.flush();
          await this.ctx.storage.release?.(room.id);
        }
        for (const ext of this.ctx.extensions) await ext.unloadRoom?.(room.id);
      } catch (err) {
        this.ctx.log.error({ roomId: room.id, err }, 'unload failed');
      } finally {
        if (this.rooms.get(room.id) === room) this.rooms.delete(room.id);
        this.ctx.stats.rooms = this.rooms.size;
        room.state = 'gone';
        room.destroy();
        this.ctx.log.debug({ roomId: room.id }, 'room unloaded');
      }
    })();
    return room.unloaded;
  }

  /** Shutdown: unload every room (their connections must be closed already). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all(
      [...this.rooms.values()].map((r) => (r.state === 'loading' ? r.ready.catch(() => {}) : null)),
    );
    await Promise.all([...this.rooms.values()].map((r) => this.unload(r)));
  }
}
