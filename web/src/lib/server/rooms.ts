/**
 * The rooms directory: which rooms exist, their 6-character code, settings and members.
 * The live room itself (cart, status) is the Yjs document on the room-server; `status` here
 * is a cache of `meta.status` refreshed by {@link ./room-status.ts}.
 */
import { currencyExponent, isCurrency, type RoomStatus } from '@patungan/model';
import type { Db, Queryable } from '@patungan/db';
import { WebError } from './errors.ts';
import { humanCode, isHumanCode, normaliseCode, opaqueId } from './ids.ts';
import { watchRoom } from './notify/triggers.ts';

export const ROOM_CODE_LENGTH = 6;
export const ROOM_CURRENCIES = ['IDR', 'USD'] as const;

export interface Room {
  id: string;
  code: string;
  name: string;
  currency: string;
  /** ISO timestamp. */
  deadline: string | null;
  /** Per-member budget in minor units of `currency`. */
  budget: number | null;
  organiserId: string;
  status: RoomStatus;
  createdAt: string;
}

export interface MyRoom extends Room {
  role: 'organiser' | 'member';
  memberCount: number;
}

interface RoomRow {
  id: string;
  code: string;
  name: string;
  currency: string;
  deadline: Date | string | null;
  budget: number | string | bigint | null;
  organiser_id: string;
  status: string;
  created_at: Date | string;
  [k: string]: unknown;
}

const ROOM_COLUMNS =
  'r.id, r.code, r.name, r.currency, r.deadline, r.budget, r.organiser_id, r.status, r.created_at';

const iso = (d: Date | string) => new Date(d).toISOString();

function toRoom(r: RoomRow): Room {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    currency: r.currency,
    deadline: r.deadline ? iso(r.deadline) : null,
    budget: r.budget === null ? null : Number(r.budget),
    organiserId: r.organiser_id,
    status: (['open', 'locked', 'settling', 'completed'].includes(r.status)
      ? r.status
      : 'open') as RoomStatus,
    createdAt: iso(r.created_at),
  };
}

export interface NewRoomInput {
  name: unknown;
  currency: unknown;
  /** `YYYY-MM-DDTHH:mm` from a datetime-local input, or an ISO timestamp; empty for none. */
  deadline?: unknown;
  /** Per-member budget as a decimal string in major units ("150000", "25.50"); empty for none. */
  budget?: unknown;
  /** Minutes east of UTC of the person's browser, for a datetime-local deadline. */
  tzOffsetMinutes?: number;
}

/** Parses a decimal string in major units into integer minor units of `currency`. */
export function parseAmount(input: string, currency: string): number {
  const exp = currencyExponent(currency);
  const s = input.trim().replace(/\s/g, '');
  // Accept "150.000" / "150,000" group separators for IDR, "25.50" / "25,50" decimals for USD.
  const re = exp === 0 ? /^\d{1,3}([.,]?\d{3})*$/ : new RegExp(`^\\d+([.,]\\d{1,${exp}})?$`);
  if (!re.test(s)) {
    throw new WebError('invalid', 'Enter the budget as a number, like 150000.', {
      field: 'budget',
    });
  }
  let amount: number;
  if (exp === 0) amount = Number(s.replace(/[.,]/g, ''));
  else {
    const [whole, frac = ''] = s.replace(',', '.').split('.');
    amount = Number(whole) * 10 ** exp + Number(frac.padEnd(exp, '0'));
  }
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new WebError('invalid', 'A budget must be more than zero.', { field: 'budget' });
  }
  return amount;
}

export function parseDeadline(
  input: unknown,
  tzOffsetMinutes = 0,
  now = Date.now(),
): string | null {
  if (input === undefined || input === null || input === '') return null;
  if (typeof input !== 'string')
    throw new WebError('invalid', 'Bad deadline.', { field: 'deadline' });
  let t: number;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(input)) {
    // A datetime-local value is the person's wall clock: shift by their offset to get UTC.
    t = Date.parse(input + 'Z') - tzOffsetMinutes * 60_000;
  } else t = Date.parse(input);
  if (!Number.isFinite(t)) throw new WebError('invalid', 'Bad deadline.', { field: 'deadline' });
  if (t <= now) {
    throw new WebError('invalid', 'The deadline must be in the future.', { field: 'deadline' });
  }
  return new Date(t).toISOString();
}

export async function createRoom(db: Db, organiserId: string, input: NewRoomInput): Promise<Room> {
  const name = typeof input.name === 'string' ? input.name.trim().replace(/\s+/g, ' ') : '';
  if (name.length < 1 || name.length > 60) {
    throw new WebError('invalid', 'A room name has 1 to 60 characters.', { field: 'name' });
  }
  const currency = typeof input.currency === 'string' ? input.currency : '';
  if (!(ROOM_CURRENCIES as readonly string[]).includes(currency) || !isCurrency(currency)) {
    throw new WebError('invalid', 'Choose IDR or USD.', { field: 'currency' });
  }
  const deadline = parseDeadline(input.deadline, input.tzOffsetMinutes ?? 0);
  const budget =
    typeof input.budget === 'string' && input.budget.trim() !== ''
      ? parseAmount(input.budget, currency)
      : null;
  for (let attempt = 0; ; attempt++) {
    const id = opaqueId('r');
    const code = humanCode(ROOM_CODE_LENGTH);
    try {
      return await db.transaction(async (tx) => {
        const [r] = await tx.query<RoomRow>(
          `INSERT INTO rooms AS r (id, code, name, currency, deadline, budget, organiser_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ROOM_COLUMNS}`,
          [id, code, name, currency, deadline, budget, organiserId],
        );
        await tx.query(
          `INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'organiser')`,
          [id, organiserId],
        );
        // deadline reminders: a job that follows the room's live deadline (notify/triggers.ts)
        await watchRoom(tx, id);
        return toRoom(r!);
      });
    } catch (err) {
      // A code collision (1 in ~900 million per room) just draws another code.
      if ((err as { code?: string }).code === '23505' && attempt < 5) continue;
      throw err;
    }
  }
}

export async function roomById(db: Queryable, id: string): Promise<Room | null> {
  const [r] = await db.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms r WHERE r.id = $1`, [id]);
  return r ? toRoom(r) : null;
}

export async function roomByCode(db: Queryable, input: string): Promise<Room | null> {
  const code = normaliseCode(input);
  if (!isHumanCode(code, ROOM_CODE_LENGTH)) return null;
  const [r] = await db.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms r WHERE r.code = $1`, [
    code,
  ]);
  return r ? toRoom(r) : null;
}

/** Adds a member (idempotent); returns their role in the room. */
export async function joinRoom(
  db: Queryable,
  room: Room,
  userId: string,
): Promise<'organiser' | 'member'> {
  const role = room.organiserId === userId ? 'organiser' : 'member';
  await db.query(
    `INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (room_id, user_id) DO NOTHING`,
    [room.id, userId, role],
  );
  await db.query(
    `UPDATE room_invites SET status = 'accepted' WHERE room_id = $1 AND to_user = $2`,
    [room.id, userId],
  );
  return role;
}

/** The user's role in the room, or null when they are not a member (nothing changes). */
export async function memberRole(
  db: Queryable,
  roomId: string,
  userId: string,
): Promise<'organiser' | 'member' | null> {
  const [r] = await db.query<{ role: string }>(
    'SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2',
    [roomId, userId],
  );
  if (!r) return null;
  return r.role === 'organiser' ? 'organiser' : 'member';
}

export async function isMember(db: Queryable, roomId: string, userId: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2 AND role <> 'removed'`,
    [roomId, userId],
  );
  return rows.length > 0;
}

export async function myRooms(db: Queryable, userId: string): Promise<MyRoom[]> {
  const rows = await db.query<RoomRow & { role: string; member_count: number | string }>(
    `SELECT ${ROOM_COLUMNS}, m.role,
       (SELECT count(*)::int FROM room_members x WHERE x.room_id = r.id AND x.role <> 'removed')
         AS member_count
     FROM room_members m JOIN rooms r ON r.id = m.room_id
     WHERE m.user_id = $1 AND m.role <> 'removed' ORDER BY r.created_at DESC LIMIT 100`,
    [userId],
  );
  return rows.map((r) => ({
    ...toRoom(r),
    role: r.role === 'organiser' ? 'organiser' : 'member',
    memberCount: Number(r.member_count),
  }));
}

export async function setRoomStatus(db: Queryable, roomId: string, status: RoomStatus) {
  await db.query('UPDATE rooms SET status = $2, status_checked_at = now() WHERE id = $1', [
    roomId,
    status,
  ]);
}

export async function roomMembers(db: Queryable, roomId: string) {
  return db.query<{ id: string; name: string; role: string; guest: boolean }>(
    `SELECT u.id, u.name, m.role, u.guest FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id = $1 ORDER BY m.joined_at`,
    [roomId],
  );
}
