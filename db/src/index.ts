/**
 * @patungan/db: the database layer settlement and web share (docs/decisions/0008): one
 * interface over PGlite and PostgreSQL, and one migration runner. Node only: never import it
 * from code that reaches the browser.
 */
export {
  openDb,
  checkIdentifier,
  type Db,
  type DbOptions,
  type Queryable,
  type Row,
} from './driver.ts';
export { makePrivate } from './private-dir.ts';
export { migrate, type Migration, type MigrationSet } from './migrate.ts';
