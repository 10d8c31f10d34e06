/**
 * "Patungan lagi" on the room-server (docs/contracts.md "Room connection"): web reads a room's
 * cart (`GET /rooms/<id>/cart`) and seeds a new room with a repeat of it
 * (`PUT /rooms/<id>/seed`). Service tokens only; the seed is written as the service, in one
 * step, before anyone has connected, so no client ever sees a half-made room.
 */
import {
  addLine,
  cartSnapshot,
  initRoom,
  joinMember,
  metaMap,
  readMeta,
  settlementMap,
  type CartSnapshot,
  type SplitConfig,
} from '@patungan/model';
import type { RoomSeed } from '@patungan/model/contracts';
import type { Room } from './room.ts';

export interface RoomCartAnswer extends CartSnapshot {
  name: string;
  status: string;
  /** `meta.budgets` / `meta.budget`, when set. */
  budgets?: Record<string, number>;
  budget?: number;
  /** The room's current (for a completed room: its last) settlement. */
  settlementId?: string;
}

/** The room's cart as settlement would get it, with its name and budgets; null before it exists. */
export function roomCart(room: Room): RoomCartAnswer | null {
  const meta = readMeta(room.doc);
  if (!meta || !metaMap(room.doc).has('status')) return null;
  return {
    ...cartSnapshot(room.doc, room.id),
    name: meta.name,
    status: meta.status,
    ...(meta.budgets ? { budgets: meta.budgets } : {}),
    ...(meta.budget ? { budget: meta.budget } : {}),
    ...(typeof settlementMap(room.doc).get('id') === 'string'
      ? { settlementId: settlementMap(room.doc).get('id') as string }
      : {}),
  };
}

/**
 * Writes the seed into a room that does not exist yet. Returns false (and changes nothing)
 * when the room already has a state: a repeated request for the same seed is answered as done
 * by the caller, anything else is a conflict.
 */
export async function seedRoom(room: Room, seed: RoomSeed, now = Date.now()): Promise<boolean> {
  if (metaMap(room.doc).has('status')) return false;
  const organiserName = seed.members.find((m) => m.id === seed.organiser)?.name ?? '';
  await room.transact((doc) => {
    initRoom(doc, {
      name: seed.name,
      currency: seed.currency,
      organiser: seed.organiser,
      organiserName,
      // Validated by RoomSeedSchema; model's calculator checks the rest when it splits.
      split: seed.split as SplitConfig,
      ...(seed.budget ? { budget: seed.budget } : {}),
      ...(seed.budgets ? { budgets: seed.budgets } : {}),
      now,
    });
    // Everyone keeps their place in the split order (organiser first, then as before).
    seed.members.forEach((m, i) => {
      if (m.id !== seed.organiser) joinMember(doc, m.id, m.name, now + 1 + i);
    });
    for (const l of seed.lines) {
      addLine(doc, {
        id: l.id,
        sku: l.sku,
        qty: l.qty,
        addedBy: l.addedBy,
        ...(l.note ? { note: l.note } : {}),
        ...(l.sharedWith?.length ? { sharedWith: l.sharedWith } : {}),
      });
    }
    if (seed.storeId) metaMap(doc).set('storeId', seed.storeId);
    metaMap(doc).set('again', seed.again);
  });
  return true;
}

/** Whether this room was already seeded as a repeat of `from` (a retried request). */
export function seededFrom(room: Room, from: string): boolean {
  const again = metaMap(room.doc).get('again') as { from?: unknown } | undefined;
  return again?.from === from;
}
