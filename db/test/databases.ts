/** The two drivers every db test runs on, each case with a database of its own. */
import type { Db, DbOptions } from '../src/index.ts';
import { openTestDb, type TestDb } from '../src/testing.ts';

export type { TestDb };

export const DRIVERS: [Db['kind'], (o?: Partial<DbOptions>) => Promise<TestDb>][] = [
  ['pglite', (o) => openTestDb('pglite', o)],
  ['postgres', (o) => openTestDb('postgres', o)],
];
