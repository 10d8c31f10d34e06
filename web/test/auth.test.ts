import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changePassword,
  LOGIN_MAX_FAILURES,
  LOGIN_WINDOW_MS,
  claimGuest,
  createGuest,
  createSession,
  deleteSession,
  login,
  register,
  sessionUser,
  updateProfile,
} from '../src/lib/server/auth.ts';
import { WebError } from '../src/lib/server/errors.ts';
import {
  addFriend,
  acceptFriend,
  inbox,
  inviteFriends,
  listFriends,
} from '../src/lib/server/friends.ts';
import { MIGRATIONS, migrate } from '../src/lib/server/migrations.ts';
import { createRoom, joinRoom, myRooms, roomByCode } from '../src/lib/server/rooms.ts';
import { DATABASES, type TestDb } from './helpers/databases.ts';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WebError) return err.code;
    throw err;
  }
  return 'ok';
}

describe.each(DATABASES)('accounts on %s', (_name, open) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('migrations are versioned and run once', async () => {
    expect(await migrate(t.db)).toEqual([]);
    const rows = await t.db.query<{ version: number }>('SELECT version FROM web_migrations');
    expect(rows.map((r) => Number(r.version)).sort((a, b) => a - b)).toEqual(
      MIGRATIONS.map((m) => m.version),
    );
  });

  it('registers, refuses a taken email and bad input, logs in with the right password only', async () => {
    const u = await register(t.db, {
      email: ' Ana@Example.com ',
      password: 'secret123',
      name: 'Ana',
    });
    expect(u).toMatchObject({ name: 'Ana', email: 'ana@example.com', guest: false });
    expect(u.friendId).toMatch(/^[A-Z2-9]{8}$/);
    const hash = await t.db.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [u.id],
    );
    expect(hash[0]!.password_hash).toMatch(/^\$argon2id\$/);

    expect(
      await code(register(t.db, { email: 'ana@example.com', password: 'other1234', name: 'A2' })),
    ).toBe('email_taken');
    expect(await code(register(t.db, { email: 'nope', password: 'secret123', name: 'X' }))).toBe(
      'invalid',
    );
    expect(await code(register(t.db, { email: 'x@y.io', password: 'short', name: 'X' }))).toBe(
      'invalid',
    );
    expect(await code(register(t.db, { email: 'x@y.io', password: 'secret123', name: '  ' }))).toBe(
      'invalid',
    );

    const me = await login(t.db, {
      email: 'ANA@example.com',
      password: 'secret123',
      ip: '10.0.0.1',
    });
    expect(me.id).toBe(u.id);
    expect(
      await code(login(t.db, { email: 'ana@example.com', password: 'wrong-pass', ip: '10.0.0.1' })),
    ).toBe('bad_credentials');
    expect(
      await code(login(t.db, { email: 'nobody@example.com', password: 'x', ip: '10.0.0.1' })),
    ).toBe('bad_credentials');
  });

  it('rate-limits login per IP + email, and lets the pair in again after the window', async () => {
    await register(t.db, { email: 'budi@example.com', password: 'secret123', name: 'Budi' });
    const now = Date.now();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) {
      expect(
        await code(
          login(t.db, { email: 'budi@example.com', password: 'bad', ip: '10.0.0.2' }, now),
        ),
      ).toBe('bad_credentials');
    }
    // Even the right password is refused while limited, with a time to wait.
    const err = await login(
      t.db,
      { email: 'budi@example.com', password: 'secret123', ip: '10.0.0.2' },
      now,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebError);
    expect((err as WebError).code).toBe('rate_limited');
    expect((err as WebError).details?.retryAfter).toBeGreaterThan(0);
    // Another IP for the same email is not affected.
    expect(
      (await login(t.db, { email: 'budi@example.com', password: 'secret123', ip: '10.0.0.3' }, now))
        .name,
    ).toBe('Budi');
    // After the window the pair may try again.
    const later = now + LOGIN_WINDOW_MS + 1000;
    expect(
      (
        await login(
          t.db,
          { email: 'budi@example.com', password: 'secret123', ip: '10.0.0.2' },
          later,
        )
      ).name,
    ).toBe('Budi');
  });

  it('sessions resolve to their user until deleted or expired', async () => {
    const u = await register(t.db, {
      email: 'citra@example.com',
      password: 'secret123',
      name: 'Citra',
    });
    const s = await createSession(t.db, u.id);
    expect((await sessionUser(t.db, s.token))?.id).toBe(u.id);
    expect(await sessionUser(t.db, s.token + 'x')).toBeNull();
    expect(await sessionUser(t.db, s.token, s.expiresAt.getTime() + 1)).toBeNull();
    const stored = await t.db.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [
      u.id,
    ]);
    expect(stored[0]!.id).not.toBe(s.token); // only the hash is stored
    await deleteSession(t.db, s.token);
    expect(await sessionUser(t.db, s.token)).toBeNull();
  });

  it('a guest joins a room by code and claims an account without losing their place', async () => {
    const org = await register(t.db, {
      email: 'dewi@example.com',
      password: 'secret123',
      name: 'Dewi',
    });
    const room = await createRoom(t.db, org.id, {
      name: 'Kos',
      currency: 'IDR',
      budget: '150.000',
    });
    expect(room.code).toMatch(/^[A-Z2-9]{6}$/);
    expect(room.budget).toBe(150000);
    const found = await roomByCode(
      t.db,
      room.code.toLowerCase().slice(0, 3) + '-' + room.code.slice(3),
    );
    expect(found?.id).toBe(room.id);

    const guest = await createGuest(t.db, 'Eko');
    expect(guest).toMatchObject({ guest: true, name: 'Eko' });
    expect(await joinRoom(t.db, found!, guest.id)).toBe('member');
    const claimed = await claimGuest(t.db, guest.id, {
      email: 'eko@example.com',
      password: 'secret123',
    });
    expect(claimed).toMatchObject({
      id: guest.id,
      guest: false,
      email: 'eko@example.com',
      name: 'Eko',
    });
    expect((await myRooms(t.db, guest.id)).map((r) => r.id)).toEqual([room.id]);
    expect(
      (await login(t.db, { email: 'eko@example.com', password: 'secret123', ip: '1.1.1.1' })).id,
    ).toBe(guest.id);
    // A full account cannot be claimed again, and a taken email is refused.
    expect(
      await code(claimGuest(t.db, guest.id, { email: 'x@example.com', password: 'secret123' })),
    ).toBe('conflict');
    const g2 = await createGuest(t.db, 'Fajar');
    expect(
      await code(claimGuest(t.db, g2.id, { email: 'eko@example.com', password: 'secret123' })),
    ).toBe('email_taken');
  });

  it('edits the profile', async () => {
    const u = await register(t.db, {
      email: 'gita@example.com',
      password: 'secret123',
      name: 'Gita',
    });
    const v = await updateProfile(t.db, u.id, { name: 'Gita S', email: 'gita.s@example.com' });
    expect(v).toMatchObject({ name: 'Gita S', email: 'gita.s@example.com' });
    expect(await code(updateProfile(t.db, u.id, { name: 'Gita', email: 'ana@example.com' }))).toBe(
      'email_taken',
    );
    expect(await code(changePassword(t.db, u.id, 'not-it-at-all', 'newsecret1'))).toBe(
      'bad_credentials',
    );
    expect(await code(changePassword(t.db, u.id, 'secret123', 'short'))).toBe('invalid');
    await changePassword(t.db, u.id, 'secret123', 'newsecret1');
    expect(
      await code(
        login(t.db, { email: 'gita.s@example.com', password: 'secret123', ip: '9.9.9.9' }),
      ),
    ).toBe('bad_credentials');
    expect(
      (await login(t.db, { email: 'gita.s@example.com', password: 'newsecret1', ip: '9.9.9.9' }))
        .id,
    ).toBe(u.id);
  });

  it('adds friends by friend ID and shows their room invites', async () => {
    const a = await register(t.db, {
      email: 'hadi@example.com',
      password: 'secret123',
      name: 'Hadi',
    });
    const b = await register(t.db, {
      email: 'indah@example.com',
      password: 'secret123',
      name: 'Indah',
    });
    expect(await code(addFriend(t.db, a.id, a.friendId))).toBe('invalid');
    expect(await code(addFriend(t.db, a.id, 'ZZZZZZZZ'))).toBe('not_found');
    expect((await addFriend(t.db, a.id, b.friendId.toLowerCase())).result).toBe('requested');
    expect((await inbox(t.db, b.id)).requests.map((r) => r.id)).toEqual([a.id]);
    await acceptFriend(t.db, b.id, a.id);
    expect((await listFriends(t.db, a.id)).map((f) => f.id)).toEqual([b.id]);
    expect((await listFriends(t.db, b.id)).map((f) => f.id)).toEqual([a.id]);

    const room = await createRoom(t.db, a.id, { name: 'Arisan', currency: 'USD', budget: '25.50' });
    expect(room.budget).toBe(2550);
    const stranger = await register(t.db, {
      email: 'joko@example.com',
      password: 'secret123',
      name: 'Joko',
    });
    expect(await inviteFriends(t.db, a.id, room.id, [b.id, stranger.id])).toBe(1);
    expect((await inbox(t.db, b.id)).invites).toMatchObject([
      { roomId: room.id, fromName: 'Hadi' },
    ]);
    await joinRoom(t.db, room, b.id);
    expect((await inbox(t.db, b.id)).invites).toEqual([]);
  });

  it('validates rooms: name, currency, deadline, budget', async () => {
    const u = await register(t.db, {
      email: 'kiki@example.com',
      password: 'secret123',
      name: 'Kiki',
    });
    expect(await code(createRoom(t.db, u.id, { name: '', currency: 'IDR' }))).toBe('invalid');
    expect(await code(createRoom(t.db, u.id, { name: 'X', currency: 'EUR' }))).toBe('invalid');
    expect(
      await code(
        createRoom(t.db, u.id, { name: 'X', currency: 'IDR', deadline: '2001-01-01T10:00' }),
      ),
    ).toBe('invalid');
    expect(await code(createRoom(t.db, u.id, { name: 'X', currency: 'IDR', budget: '12,5' }))).toBe(
      'invalid',
    );
    expect(
      await code(createRoom(t.db, u.id, { name: 'X', currency: 'USD', budget: '1.234' })),
    ).toBe('invalid');
    const future = new Date(Date.now() + 86_400_000);
    const local = future.toISOString().slice(0, 16);
    const r = await createRoom(t.db, u.id, {
      name: 'X',
      currency: 'IDR',
      deadline: local,
      tzOffsetMinutes: 420,
    });
    expect(Date.parse(r.deadline!)).toBe(Date.parse(local + 'Z') - 420 * 60_000);
  });
});
