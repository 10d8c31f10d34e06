/**
 * Web's versioned schema migrations, applied in order on start by the runner shared with
 * settlement (@patungan/db: under an advisory lock, so two web instances starting together
 * against one PostgreSQL do not both apply one). Append new migrations; never edit old ones.
 */
import { migrate as runMigrations, type Db, type Migration } from '@patungan/db';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, friends, rooms',
    sql: `
      CREATE TABLE users (
        id text PRIMARY KEY,
        email text UNIQUE,
        name text NOT NULL,
        password_hash text,
        friend_id text NOT NULL UNIQUE,
        guest boolean NOT NULL DEFAULT false,
        staff_store_id text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX sessions_user ON sessions(user_id);
      CREATE TABLE login_failures (
        key text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX login_failures_key ON login_failures(key, at);
      CREATE TABLE friends (
        user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        friend_user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, friend_user_id)
      );
      CREATE TABLE friend_requests (
        from_user text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        to_user text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (from_user, to_user)
      );
      CREATE TABLE rooms (
        id text PRIMARY KEY,
        code text NOT NULL UNIQUE,
        name text NOT NULL,
        currency text NOT NULL,
        deadline timestamptz,
        budget bigint,
        organiser_id text NOT NULL REFERENCES users(id),
        status text NOT NULL DEFAULT 'open',
        status_checked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE room_members (
        room_id text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role text NOT NULL,
        joined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (room_id, user_id)
      );
      CREATE INDEX room_members_user ON room_members(user_id);
      CREATE TABLE room_invites (
        room_id text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        from_user text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        to_user text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'pending',
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (room_id, to_user)
      );
      CREATE INDEX room_invites_to ON room_invites(to_user, status);
    `,
  },
];

/** Applies every migration not yet applied; returns the versions it applied. */
export function migrate(db: Db): Promise<number[]> {
  return runMigrations(db, {
    table: 'web_migrations',
    // arbitrary, but kept: a web process of the previous release takes the same lock
    lockKey: 7_202_611,
    migrations: MIGRATIONS,
  });
}
