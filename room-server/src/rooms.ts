/**
 * The rooms in memory: load on demand (the room joins its bus around its one storage load,
 * then the extensions' `loadRoom` run, and only then the room serves anyone), unload a while
 * after the last client left (compact, flush, leave the bus, forget), and unload everything
 * at shutdown.
 *
 * Storage failures (a full disk: ENOSPC, EIO, …): the server reports `degraded` (`health()`,
 * /healthz answers 503) until a probe write succeeds again (every `probeIntervalMs`). A room
 * whose update could not be stored is discarded: its document holds what storage does not and
 * nobody else has seen, so its clients are closed with 1013 (try again later) and the room is
 * loaded again from storage when they come back; the stock client then sends what the server
 * lacks (its unsent edits) in its sync step 2, which is stored or refused again the same way.
 */
import * as Y from 'yjs';
import { STORAGE_ORIGIN } from './origins.ts';
import { CLOSE } from './protocol.ts';
import { Room } from './room.ts';
import type { RoomContext } from './room.ts';

export interface RoomsOptions {
  /** How long a room without clients stays in memory. */
  unloadDelayMs: number;
  /** While degraded, how often storage is probed for writes working again (default 1000). */
  probeIntervalMs?: number;
}

export type StorageHealth =
  { status: 'ok' } | { status: 'degraded'; reason: string; since: string; failures: number };

const errorReason = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return code ? `storage write failed: ${code}` : `storage write failed: ${message.slice(0, 120)}`;
};

/** How often silent clients' presence is looked for (y-protocols: a tenth of its timeout). */
const PRESENCE_SWEEP_MS = 3000;

export class Rooms {
  private readonly rooms = new Map<string, Room>();
  private readonly roomCtx: RoomContext;
  /** One presence-expiry sweep for all rooms (instead of a timer per room). */
  private readonly sweep: NodeJS.Timeout;
  /** Set while storage writes fail; cleared by a successful probe. */
  private degraded: { reason: string; since: string; failures: number } | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  /** Rooms being discarded after a failed write → resolves their `unloaded`. */
  private readonly discarding = new Map<Room, () => void>();

  constructor(
    private readonly ctx: Omit<RoomContext, 'idle' | 'storageFailed'>,
    private readonly opts: RoomsOptions,
  ) {
    this.roomCtx = {
      ...ctx,
      idle: (room) => (this.discarding.has(room) ? this.dispose(room) : this.scheduleUnload(room)),
      storageFailed: (err, room) => this.storageFailed(err, room),
    };
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const room of this.rooms.values()) if (room.state === 'ready') room.expirePresence(now);
    }, PRESENCE_SWEEP_MS).unref();
  }

  /** `degraded` (with the reason) from a failed storage write until a probe write succeeds. */
  health(): StorageHealth {
    return this.degraded ? { status: 'degraded', ...this.degraded } : { status: 'ok' };
  }

  private storageFailed(err: unknown, room: Room | null): void {
    const reason = errorReason(err);
    if (this.degraded) this.degraded.failures++;
    else {
      this.degraded = { reason, since: new Date().toISOString(), failures: 1 };
      this.ctx.log.error({ err, roomId: room?.id }, 'storage failing: degraded, refusing writes');
      this.probeTimer = setInterval(() => void this.probe(), this.opts.probeIntervalMs ?? 1000);
      this.probeTimer.unref();
    }
    if (room) this.discard(room);
  }

  private probing = false;
  private async probe(): Promise<void> {
    if (this.probing || !this.degraded) return;
    this.probing = true;
    try {
      await this.ctx.storage.probe?.();
      this.ctx.log.warn({ failures: this.degraded.failures }, 'storage writes work again');
      this.degraded = null;
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = null;
    } catch (err) {
      if (this.degraded) this.degraded.reason = errorReason(err);
    } finally {
      this.probing = false;
    }
  }

  /**
   * Drops a room whose document holds an update storage refused: its clients are sent away
   * with 1013 and keep their edits; the next `acquire` loads it again from storage.
   */
  private discard(room: Room): void {
    if (room.state !== 'ready' || this.discarding.has(room)) return;
    room.state = 'unloading';
    room.cancelUnload();
    room.unloaded = new Promise<void>((resolve) => this.discarding.set(room, resolve));
    for (const conn of [...room.conns]) {
      this.ctx.stats.countClose(CLOSE.tryAgainLater);
      conn.close(CLOSE.tryAgainLater, 'storage unavailable, try again later');
    }
    if (!room.busy) this.dispose(room);
  }

  private dispose(room: Room): void {
    const done = this.discarding.get(room);
    if (!done || room.busy) return;
    this.discarding.delete(room);
    void (async () => {
      try {
        await this.ctx.storage.release?.(room.id);
      } catch (err) {
        this.ctx.log.warn({ roomId: room.id, err }, 'discarded room not released cleanly');
      }
      try {
        await this.leave(room);
      } finally {
        if (this.rooms.get(room.id) === room) this.rooms.delete(room.id);
        this.ctx.stats.rooms = this.rooms.size;
        room.state = 'gone';
        room.destroy();
        this.ctx.log.warn({ roomId: room.id }, 'room discarded after a failed write');
        done();
      }
    })();
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
    let count = 0;
    // The room's one storage load, run by the bus once it hears of the room (decision 0006).
    await this.ctx.bus.join(room, async () => {
      const stored = await this.ctx.storage.load(room.id);
      count = stored.updates.length;
      if (count > 0) {
        room.doc.transact(() => {
          for (const u of stored.updates) {
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
      }
      return stored;
    });
    try {
      for (const ext of this.ctx.extensions) await ext.loadRoom?.(room);
    } catch (err) {
      await this.ctx.bus.leave(room.id).catch(() => {});
      throw err;
    }
    room.state = 'ready';
    this.ctx.log.debug(
      { roomId: room.id, updates: count, ms: Math.round(performance.now() - started) },
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

  /**
   * Stores the room compactly, leaves the bus, runs the extensions' `unloadRoom`, and forgets
   * it.
   */
  unload(room: Room): Promise<void> {
    if (room.unloaded) return room.unloaded;
    room.state = 'unloading';
    room.cancelUnload();
    room.unloaded = (async () => {
      try {
        if (this.ctx.storage.pendingBytes(room.id) > 0) await room.compact();
        await room.flush();
        await this.ctx.storage.release?.(room.id);
      } catch (err) {
        this.ctx.log.error({ roomId: room.id, err }, 'unload failed');
      }
      try {
        await this.leave(room);
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

  /** Off the bus, then the extensions' `unloadRoom`; failures are logged. */
  private async leave(room: Room): Promise<void> {
    try {
      await this.ctx.bus.leave(room.id);
      for (const ext of this.ctx.extensions) await ext.unloadRoom?.(room.id);
    } catch (err) {
      this.ctx.log.warn({ roomId: room.id, err }, 'room not released cleanly');
    }
  }

  /** Shutdown: unload every room (their connections must be closed already). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweep);
    if (this.probeTimer) clearInterval(this.probeTimer);
    await Promise.all(
      [...this.rooms.values()].map((r) => (r.state === 'loading' ? r.ready.catch(() => {}) : null)),
    );
    await Promise.all([...this.rooms.values()].map((r) => this.unload(r)));
  }
}
