/**
 * PGlite's data directory is private to the service's user (docs/security.md): PGlite creates
 * its files 0666 and directories 0777 less the umask, so under a permissive umask any local
 * user could read or rewrite the database. Checked open and closed, for a new directory and
 * for one an older version left open.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/index.ts';
import { chmodTree, looseModes as loose } from '../src/testing.ts';

describe('PGlite data directory', () => {
  let root: string;
  let umask: number;
  beforeAll(() => {
    umask = process.umask(0); // the reported environment: a umask that keeps nothing private
    root = mkdtempSync(join(tmpdir(), 'patungan-db-modes-'));
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });
  const dir = () => join(root, 'nested', 'part');

  it('a new directory: 0700 directories and 0600 files, open and closed', async () => {
    const db = await openDb({ dataDir: dir() });
    try {
      expect((statSync(dir()).mode & 0o777).toString(8)).toBe('700');
      await db.exec('CREATE TABLE t (x int); INSERT INTO t VALUES (1)');
      expect(loose(dir())).toEqual([]);
    } finally {
      await db.close();
    }
    expect(loose(dir())).toEqual([]);
  });

  it('a directory an older version left world-writable is private again once opened', async () => {
    chmodTree(dir(), 0o777, 0o666);
    expect(loose(dir()).length).toBeGreaterThan(0);
    const db = await openDb({ dataDir: dir() });
    try {
      expect(loose(dir())).toEqual([]);
      // and it is the same database
      expect(await db.query('SELECT x FROM t')).toEqual([{ x: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('memory:// writes nothing to disk', async () => {
    const before = readdirSync(root);
    const db = await openDb({ dataDir: 'memory://' });
    await db.exec('CREATE TABLE t (x int)');
    await db.close();
    expect(readdirSync(root)).toEqual(before);
    expect(existsSync('memory:')).toBe(false);
  });
});
