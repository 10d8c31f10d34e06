/**
 * Who owes whom after covers (docs/contracts.md "Between the room and settlement": the
 * settlement's `covers`), as each reader should see it.
 */
import type { RoomCover, RoomSettlement } from '@patungan/model';

export interface OwedLine {
  cover: RoomCover;
  /** How the reader is involved: they were covered, they covered, or neither. */
  role: 'owes' | 'owed' | 'other';
  /** The coverer's payment has gone through (authorised or captured). */
  paid: boolean;
}

/**
 * The covers of the room's current settlement, the reader's own first. None once it expired
 * or was cancelled: nobody was charged, so nobody owes anyone.
 */
export function owedLines(s: RoomSettlement, me: string): OwedLine[] {
  if (s.status === 'expired' || s.status === 'cancelled') return [];
  const covers = Array.isArray(s.covers) ? s.covers : [];
  const lines = covers.map((cover): OwedLine => {
    const p = s.payments?.[cover.coveredBy]?.status;
    return {
      cover,
      role: cover.memberId === me ? 'owes' : cover.coveredBy === me ? 'owed' : 'other',
      paid: p === 'authorized' || p === 'captured',
    };
  });
  const rank = { owes: 0, owed: 1, other: 2 } as const;
  return lines.sort((a, b) => rank[a.role] - rank[b.role]);
}
