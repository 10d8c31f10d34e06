/**
 * Accounts, guests and sessions. Every function takes the database first so tests run them
 * against PGlite and PostgreSQL alike.
 *
 * - Passwords are hashed with argon2id (@node-rs/argon2, its default parameters).
 * - A session is a random 32-byte token in an httpOnly cookie; the database keeps only its
 *   SHA-256, so a leaked table does not log anyone in.
 * - Login failures are counted per IP + email in the database (so every web instance sees
 *   them): after {@link LOGIN_MAX_FAILURES} within {@link LOGIN_WINDOW_MS} that pair is refused
 *   until the oldest failure leaves the window. A success clears the pair's failures.
 *   They are counted per account too (whatever the IP): after LOGIN_ACCOUNT_MAX_FAILURES
 *   (env, default {@link LOGIN_ACCOUNT_MAX_FAILURES_DEFAULT}) within the window, that email is
 *   refused from everywhere until the oldest leaves the window (a success does not clear these).
 * - Text with control characters (NUL …) is refused as invalid input (PostgreSQL cannot store
 *   NUL), with `details.reason = 'control'`.
 * - A password change ends every other session of the user.
 * - A guest is a user row with `guest = true` and no email; claiming an account fills in email
 *   and password on the same row, so the guest keeps their id and with it their rooms,
 *   cart lines and payments.
 */
import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '@patungan/db';
import { WebError } from './errors.ts';
import { humanCode, opaqueId, sha256 } from './ids.ts';

export interface User {
  id: string;
  name: string;
  email?: string;
  friendId: string;
  guest: boolean;
  staffStoreId?: string;
}

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const LOGIN_ACCOUNT_MAX_FAILURES_DEFAULT = 20;

/** LOGIN_ACCOUNT_MAX_FAILURES from the environment (0 = no per-account limit). */
export function loginAccountMaxFailures(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.LOGIN_ACCOUNT_MAX_FAILURES);
  return env.LOGIN_ACCOUNT_MAX_FAILURES && Number.isInteger(n) && n >= 0
    ? n
    : LOGIN_ACCOUNT_MAX_FAILURES_DEFAULT;
}

// C0 controls and DEL: NUL breaks PostgreSQL text, the others have no place in these fields.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Refuses a string field holding control characters (NUL …) with a clear 400. */
export function refuseControl(value: unknown, field: string): void {
  if (typeof value === 'string' && CONTROL.test(value)) {
    throw new WebError('invalid', 'Remove the control characters from this field.', {
      field,
      reason: 'control',
    });
  }
}
export const FRIEND_ID_LENGTH = 8;
const MIN_PASSWORD = 8;

interface UserRow {
  id: string;
  name: string;
  email: string | null;
  friend_id: string;
  guest: boolean;
  staff_store_id: string | null;
  [k: string]: unknown;
}

const USER_COLUMNS = 'id, name, email, friend_id, guest, staff_store_id';

export function toUser(r: UserRow): User {
  return {
    id: r.id,
    name: r.name,
    friendId: r.friend_id,
    guest: r.guest,
    ...(r.email ? { email: r.email } : {}),
    ...(r.staff_store_id ? { staffStoreId: r.staff_store_id } : {}),
  };
}

export function normaliseEmail(email: unknown): string {
  refuseControl(email, 'email');
  const e = typeof email === 'string' ? email.trim().toLowerCase() : '';
  if (e.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) {
    throw new WebError('invalid', 'Enter a valid email address.', { field: 'email' });
  }
  return e;
}

export function checkName(name: unknown): string {
  refuseControl(name, 'name');
  const n = typeof name === 'string' ? name.trim().replace(/\s+/g, ' ') : '';
  if (n.length < 1 || n.length > 40) {
    throw new WebError('invalid', 'A name has 1 to 40 characters.', { field: 'name' });
  }
  return n;
}

function checkPassword(password: unknown): string {
  refuseControl(password, 'password');
  if (typeof password !== 'string' || password.length < MIN_PASSWORD || password.length > 200) {
    throw new WebError('invalid', `A password has at least ${MIN_PASSWORD} characters.`, {
      field: 'password',
    });
  }
  return password;
}

export async function userById(db: Queryable, id: string): Promise<User | null> {
  const [r] = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return r ? toUser(r) : null;
}

export async function userByFriendId(db: Queryable, friendId: string): Promise<User | null> {
  const [r] = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE friend_id = $1`, [
    friendId,
  ]);
  return r ? toUser(r) : null;
}

/** Inserts a user with a fresh friend id, retrying the (rare) friend-id collision. */
async function insertUser(
  db: Queryable,
  u: {
    name: string;
    email: string | null;
    passwordHash: string | null;
    guest: boolean;
    staffStoreId?: string;
  },
): Promise<User> {
  for (let attempt = 0; ; attempt++) {
    const id = opaqueId('u');
    const friendId = humanCode(FRIEND_ID_LENGTH);
    try {
      const [r] = await db.query<UserRow>(
        `INSERT INTO users (id, name, email, password_hash, friend_id, guest, staff_store_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${USER_COLUMNS}`,
        [id, u.name, u.email, u.passwordHash, friendId, u.guest, u.staffStoreId ?? null],
      );
      return toUser(r!);
    } catch (err) {
      if (isUniqueViolation(err, 'friend_id') && attempt < 5) continue;
      throw emailTakenOr(err);
    }
  }
}

/** A users row updated in place: the updated user, `missing` when no row matched. */
async function updateUser(
  db: Queryable,
  sql: string,
  params: unknown[],
  missing: () => WebError,
): Promise<User> {
  let r: UserRow | undefined;
  try {
    [r] = await db.query<UserRow>(`${sql} RETURNING ${USER_COLUMNS}`, params);
  } catch (err) {
    throw emailTakenOr(err);
  }
  if (!r) throw missing();
  return toUser(r);
}

/** Another account's email is the form's "email taken" (on the email field); else `err`. */
function emailTakenOr(err: unknown): unknown {
  return isUniqueViolation(err, 'email')
    ? new WebError('email_taken', 'An account with this email already exists.', { field: 'email' })
    : err;
}

function isUniqueViolation(err: unknown, column: string): boolean {
  const e = err as {
    code?: string;
    message?: string;
    detail?: string;
    constraint_name?: string;
    constraint?: string;
  };
  if (e?.code !== '23505') return false;
  const text = `${e.constraint_name ?? ''} ${e.constraint ?? ''} ${e.detail ?? ''} ${e.message ?? ''}`;
  return text.includes(column);
}

export async function register(
  db: Db,
  input: { email: unknown; password: unknown; name: unknown },
): Promise<User> {
  const email = normaliseEmail(input.email);
  const name = checkName(input.name);
  const password = checkPassword(input.password);
  return insertUser(db, { name, email, passwordHash: await hash(password), guest: false });
}

/** Creates a staff account for a store (embedded demo seed, or an operator's script). */
export async function createStaff(
  db: Db,
  input: { email: string; password: string; name: string; storeId: string },
): Promise<User> {
  return insertUser(db, {
    name: checkName(input.name),
    email: normaliseEmail(input.email),
    passwordHash: await hash(checkPassword(input.password)),
    guest: false,
    staffStoreId: input.storeId,
  });
}

export async function createGuest(db: Db, name: unknown): Promise<User> {
  return insertUser(db, { name: checkName(name), email: null, passwordHash: null, guest: true });
}

/** Turns a guest into a full account, keeping its id (and so its rooms and cart lines). */
export async function claimGuest(
  db: Db,
  userId: string,
  input: { email: unknown; password: unknown; name?: unknown },
): Promise<User> {
  const email = normaliseEmail(input.email);
  const password = checkPassword(input.password);
  const name = input.name === undefined || input.name === '' ? undefined : checkName(input.name);
  const passwordHash = await hash(password);
  return updateUser(
    db,
    `UPDATE users SET email = $2, password_hash = $3, guest = false, name = COALESCE($4, name)
     WHERE id = $1 AND guest`,
    [userId, email, passwordHash, name ?? null],
    () => new WebError('conflict', 'This account is not a guest account.'),
  );
}

export async function updateProfile(
  db: Db,
  userId: string,
  input: { name: unknown; email?: unknown },
): Promise<User> {
  const name = checkName(input.name);
  const email =
    input.email === undefined || input.email === '' ? null : normaliseEmail(input.email);
  return updateUser(
    db,
    `UPDATE users SET name = $2, email = CASE WHEN guest THEN email ELSE COALESCE($3, email) END
     WHERE id = $1`,
    [userId, name, email],
    () => new WebError('not_found', 'No such user.'),
  );
}

/**
 * Changes the password after checking the current one, and ends every other session of the
 * user (the one with `keepToken`, this browser's, stays).
 */
export async function changePassword(
  db: Db,
  userId: string,
  current: unknown,
  next: unknown,
  keepToken?: string,
): Promise<void> {
  refuseControl(current, 'current');
  const [r] = await db.query<{ password_hash: string | null }>(
    'SELECT password_hash FROM users WHERE id = $1',
    [userId],
  );
  if (
    !r?.password_hash ||
    typeof current !== 'string' ||
    !(await verify(r.password_hash, current))
  ) {
    throw new WebError('bad_credentials', 'The current password is wrong.', { field: 'current' });
  }
  const nextHash = await hash(checkPassword(next));
  await db.transaction(async (tx) => {
    await tx.query('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, nextHash]);
    await tx.query('DELETE FROM sessions WHERE user_id = $1 AND id <> $2', [
      userId,
      keepToken ? sha256(keepToken) : '',
    ]);
  });
}

const rateKey = (ip: string, email: string) => `${ip}|${email}`;
/** The per-account key: no IP contains `account:`, and a pair key always has an IP and `|`. */
const accountKey = (email: string) => `account:${email}`;

async function retryAfterIfOver(
  db: Db,
  key: string,
  max: number,
  since: Date,
  now: number,
): Promise<number | null> {
  if (max <= 0) return null;
  const failures = await db.query<{ at: Date | string }>(
    'SELECT at FROM login_failures WHERE key = $1 AND at > $2 ORDER BY at ASC',
    [key, since],
  );
  if (failures.length < max) return null;
  const oldest = new Date(failures[failures.length - max]!.at).getTime();
  return Math.max(1, Math.ceil((oldest + LOGIN_WINDOW_MS - now) / 1000));
}

/**
 * Checks email and password. Refuses with `rate_limited` (and the seconds to wait in
 * `details.retryAfter`) once this IP + email pair has failed too often.
 */
export async function login(
  db: Db,
  input: { email: unknown; password: unknown; ip: string },
  now = Date.now(),
): Promise<User> {
  refuseControl(input.email, 'email');
  refuseControl(input.password, 'password');
  const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
  const key = rateKey(input.ip, email);
  const since = new Date(now - LOGIN_WINDOW_MS);
  const retryAfter =
    (await retryAfterIfOver(db, key, LOGIN_MAX_FAILURES, since, now)) ??
    (email
      ? await retryAfterIfOver(db, accountKey(email), loginAccountMaxFailures(), since, now)
      : null);
  if (retryAfter !== null) {
    throw new WebError('rate_limited', 'Too many failed attempts. Try again later.', {
      retryAfter,
    });
  }
  const [r] = email
    ? await db.query<UserRow & { password_hash: string | null }>(
        `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE email = $1`,
        [email],
      )
    : [];
  // Verify against a dummy hash when the user is unknown, so timing does not tell who exists.
  const ok =
    typeof input.password === 'string' &&
    (await verify(r?.password_hash ?? (await dummyHash()), input.password).catch(() => false)) &&
    !!r?.password_hash;
  if (!ok || !r) {
    await db.query('INSERT INTO login_failures (key, at) VALUES ($1, $2)', [key, new Date(now)]);
    if (email) {
      await db.query('INSERT INTO login_failures (key, at) VALUES ($1, $2)', [
        accountKey(email),
        new Date(now),
      ]);
    }
    // Keep the table small: drop what has left every window.
    await db.query('DELETE FROM login_failures WHERE at < $1', [since]);
    throw new WebError('bad_credentials', 'Wrong email or password.');
  }
  await db.query('DELETE FROM login_failures WHERE key = $1', [key]);
  return toUser(r);
}

let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hash(randomBytes(16).toString('hex')));

export interface Session {
  token: string;
  expiresAt: Date;
}

export async function createSession(
  db: Queryable,
  userId: string,
  now = Date.now(),
): Promise<Session> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now + SESSION_TTL_MS);
  await db.query('INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)', [
    sha256(token),
    userId,
    expiresAt,
  ]);
  return { token, expiresAt };
}

/** The user of a session token, or null when it is unknown or expired. */
export async function sessionUser(db: Queryable, token: string | undefined, now = Date.now()) {
  if (!token || token.length > 100) return null;
  const [r] = await db.query<UserRow>(
    `SELECT ${USER_COLUMNS.split(', ')
      .map((c) => 'u.' + c)
      .join(', ')}
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = $1 AND s.expires_at > $2`,
    [sha256(token), new Date(now)],
  );
  return r ? toUser(r) : null;
}

export async function deleteSession(db: Queryable, token: string | undefined): Promise<void> {
  if (token) await db.query('DELETE FROM sessions WHERE id = $1', [sha256(token)]);
}
