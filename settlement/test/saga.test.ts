/**
 * The saga table (src/saga/table.ts) is the one place that says which step an attempt status
 * is at and what undoes it. These tests hold it to the schema it drives: every status the
 * database allows has an entry, the worker's claim matches the partial index on work, and
 * every undo hands the worker a provider call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrations.ts';
import type { AttemptStatus } from '../src/flow/rows.ts';
import { SAGA, WORK_STATUSES, undoable } from '../src/saga/table.ts';
import { DRIVERS, freshDb, type TestDb } from './support/db.ts';

const quoted = (sql: string) => [...sql.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!).sort();

describe('saga table', () => {
  it('undoes every step taken into a provider call, and never undoes an undo', () => {
    for (const s of undoable()) {
      const to = SAGA[s].undo!;
      expect(SAGA[to], `${s} → ${to}`).toMatchObject({ direction: 'undo', work: true });
      expect(SAGA[to].step === SAGA[s].step || s === 'capturing', `${s} → ${to}`).toBe(true);
    }
    for (const [s, e] of Object.entries(SAGA)) {
      if (e.direction === 'undo') expect(e.undo, s).toBeNull();
    }
  });
});

describe.each(DRIVERS)('saga table against the schema (%s)', (driver) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(driver);
    await migrate(t.db);
  });
  afterAll(async () => t?.drop());

  it('knows every attempt status the database allows', async () => {
    const [c] = await t.db.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = 'payment_attempts'::regclass AND contype = 'c'
         AND pg_get_constraintdef(oid) LIKE '%status%'`,
    );
    expect(c).toBeDefined();
    expect(quoted(c!.def)).toEqual(Object.keys(SAGA).sort());
  });

  it('claims work exactly where the partial index payment_attempts_work looks', async () => {
    const [i] = await t.db.query<{ def: string }>(
      `SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'payment_attempts_work'`,
    );
    expect(i).toBeDefined();
    expect(quoted(i!.def)).toEqual([...WORK_STATUSES].sort() as AttemptStatus[]);
  });
});
