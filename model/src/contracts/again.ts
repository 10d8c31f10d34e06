/**
 * "Patungan lagi" (docs/contracts.md "Room connection"): web reads a completed room's cart
 * from the room-server (`GET /rooms/<id>/cart`) and seeds a new room with it
 * (`PUT /rooms/<id>/seed`), both with a service token. The differences against today's stock
 * and prices travel with the seed into the new room's `meta.again`.
 */
import { z } from 'zod';
import { isCurrency } from '../money.ts';
import { SPLIT_MODES } from '../split.ts';
import { text } from './text.ts';

const id = text().min(1).max(128);

/** One way today's catalog differs from the earlier order, for one line. */
export const AgainChangeSchema = z.discriminatedUnion('kind', [
  /** The unit price changed (minor units of the room's currency). */
  z.object({
    kind: z.literal('price'),
    sku: text().max(64),
    from: z.number().int(),
    to: z.number().int(),
  }),
  /** The store has none today: the line is left out. */
  z.object({ kind: z.literal('out_of_stock'), sku: text().max(64), wanted: z.number().int() }),
  /** The store has fewer today: the line asks for what there is. */
  z.object({
    kind: z.literal('fewer'),
    sku: text().max(64),
    wanted: z.number().int(),
    available: z.number().int(),
  }),
  /** The catalog no longer sells it: left out. */
  z.object({ kind: z.literal('gone'), sku: text().max(64), wanted: z.number().int() }),
]);
export type AgainChange = z.infer<typeof AgainChangeSchema>;

/** `meta.again`: which room this one repeats, and what changed since. */
export const AgainSchema = z.object({
  from: text().min(1).max(64),
  changes: z.array(AgainChangeSchema).max(500),
});
export type Again = z.infer<typeof AgainSchema>;

/** `PUT /rooms/<id>/seed`: a new room's whole first state. Refused (409) once the room exists. */
export const RoomSeedSchema = z.object({
  name: text().min(1).max(200),
  currency: z.string().refine(isCurrency, 'unknown currency'),
  organiser: id,
  members: z
    .array(z.object({ id, name: text().max(200) }))
    .min(1)
    .max(100),
  lines: z
    .array(
      z.object({
        id,
        sku: text().min(1).max(64),
        qty: z.number().int().min(1).max(9999),
        addedBy: id,
        note: text().max(500).optional(),
        sharedWith: z.array(id).max(100).optional(),
      }),
    )
    .max(500),
  split: z.looseObject({ mode: z.enum(SPLIT_MODES) }),
  storeId: text().min(1).max(64).optional(),
  budget: z.number().int().positive().optional(),
  budgets: z.record(text(), z.number().int().positive()).optional(),
  again: AgainSchema,
});
export type RoomSeed = z.infer<typeof RoomSeedSchema>;
