/**
 * File modes for PGlite's data directory (docs/security.md): its own module so that a process
 * can tighten a directory without loading PGlite.
 */
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** chmod, except where it cannot matter or cannot be done: a file removed meanwhile, a
 * read-only or foreign-owned mount. Anything else is a real error. */
function chmod(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EROFS') throw err;
  }
}

/**
 * Makes `dir` and everything in it private to this user: directories 0700, files 0600.
 * PGlite creates its files 0666 and directories 0777 (less the umask), so the data directory
 * is made 0700 before PGlite writes anything in it (nothing inside is then reachable by another
 * user), and every file is tightened again once PGlite has started and when it closes (files
 * it created meanwhile), which also tightens a directory left open by an older version.
 */
export function makePrivate(dir: string): void {
  chmod(dir, 0o700);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed meanwhile
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) makePrivate(p);
    else if (e.isFile()) chmod(p, 0o600);
  }
}
