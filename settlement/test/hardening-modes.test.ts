/**
 * File modes of settlement's embedded database: PGlite used to create its files 0666 and
 * directories 0777 (less the umask), so with a permissive umask any local user could read
 * or rewrite payments and stock. Under DATA_DIR the data directory is 0700 from before the
 * first file is written, and every file in it 0600 / directory 0700 once started and when
 * closed — also for a directory an older version left open.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodTree, looseModes as loose } from '@patungan/db/testing';
import { startSettlement } from '../src/server.ts';
import { SECRET, silent } from './support/service.ts';

describe('PGlite files under DATA_DIR', () => {
  let root: string;
  let umask: number;

  beforeAll(() => {
    // the reported environment: a umask that keeps nothing private
    umask = process.umask(0);
    root = mkdtempSync(join(tmpdir(), 'patungan-settlement-modes-'));
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });

  const start = () =>
    startSettlement({
      port: 0,
      env: { DATA_DIR: join(root, 'data') },
      secret: SECRET,
      roomServerUrl: null,
      stripe: null,
      midtrans: null,
      worker: false,
      // the schema, not the demo catalog: initdb and the migrations write the files
      seed: false,
      log: silent,
    });
  const dataDir = () => join(root, 'data', 'settlement');

  it('a new database: 0700 directories and 0600 files, open and closed', async () => {
    const s = await start();
    try {
      expect((statSync(dataDir()).mode & 0o777).toString(8)).toBe('700');
      expect(loose(dataDir())).toEqual([]);
      const r = await fetch(`${s.url}/healthz`);
      expect(r.status).toBe(200);
    } finally {
      await s.close();
    }
    expect(loose(dataDir())).toEqual([]);
  }, 120_000);

  it('a directory an older version left world-writable is made private on start', async () => {
    chmodTree(dataDir(), 0o777, 0o666);
    expect(loose(dataDir()).length).toBeGreaterThan(0);
    const s = await start();
    try {
      expect(loose(dataDir())).toEqual([]);
    } finally {
      await s.close();
    }
  }, 120_000);
});
