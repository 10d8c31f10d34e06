/** In-memory storage: for tests and for a server that need not survive a restart. */
import type { RoomStorage, StoredRoom } from './types.ts';

export class MemoryStorage implements RoomStorage {
  private readonly rooms = new Map<string, { updates: Uint8Array[]; bytes: number }>();

  async load(roomId: string): Promise<StoredRoom> {
    return { updates: [...(this.rooms.get(roomId)?.updates ?? [])] };
  }

  append(roomId: string, update: Uint8Array): null {
    let r = this.rooms.get(roomId);
    if (!r) this.rooms.set(roomId, (r = { updates: [], bytes: 0 }));
    r.updates.push(update.slice());
    r.bytes += update.byteLength;
    return null; // as durable as this storage gets
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    this.rooms.set(roomId, { updates: [state.slice()], bytes: 0 });
  }

  async flush(): Promise<void> {}

  pendingBytes(roomId: string): number {
    return this.rooms.get(roomId)?.bytes ?? 0;
  }

  async close(): Promise<void> {}
}

export const createMemoryStorage = (): RoomStorage => new MemoryStorage();
