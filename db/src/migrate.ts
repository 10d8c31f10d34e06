/**
 * The one migration runner. Each part keeps its own numbered migrations and its own
 * bookkeeping table (settlement: `schema_migrations`, web: `web_migrations`), both shaped
 * `(version integer PRIMARY KEY, name text, applied_at timestamptz)` as the runners each part
 * had before this one wrote them, so databases they migrated carry on where they stopped.
 *
 * Every pending migration runs in ONE transaction that first takes the part's advisory lock
 * and only then creates the bookkeeping table and reads it: two processes starting together
 * against one PostgreSQL (an API and a worker, two web instances) queue on the lock, and the
 * second finds everything applied. A failing migration rolls back with every other one of
 * that run, so a database is never left between two versions. A migration is never edited
 * once committed: add the next one.
 */
import { checkIdentifier, type Db } from './driver.ts';

export interface Migration {
  /** 1, 2, 3, … in the order they apply. */
  readonly version: number;
  readonly name: string;
  /** One or more statements, without parameters. */
  readonly sql: string;
}

export interface MigrationSet {
  /** The part's bookkeeping table, e.g. `schema_migrations`. */
  readonly table: string;
  /**
   * The part's `pg_advisory_xact_lock` key. Keep it once chosen: a process of the previous
   * release migrating at the same moment takes the same lock.
   */
  readonly lockKey: number;
  readonly migrations: readonly Migration[];
}

/** Throws when the list is not numbered 1, 2, 3, … or the table name is not an identifier. */
function check(set: MigrationSet): void {
  checkIdentifier('migrations table', set.table);
  if (!Number.isSafeInteger(set.lockKey)) throw new Error('lockKey must be an integer');
  set.migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `${set.table}: migration "${m.name}" has version ${m.version}, expected ${i + 1} ` +
          '(versions are 1, 2, 3, … in list order)',
      );
    }
  });
}

/** Applies every migration of `set` not yet applied; returns the versions it applied. */
export async function migrate(db: Db, set: MigrationSet): Promise<number[]> {
  check(set);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [set.lockKey]);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${set.table} (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await tx.query<{ version: number }>(`SELECT version FROM ${set.table}`)).map((r) =>
        Number(r.version),
      ),
    );
    const applied: number[] = [];
    for (const m of set.migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query(`INSERT INTO ${set.table} (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}
