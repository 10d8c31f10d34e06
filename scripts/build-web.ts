/**
 * Builds the web app (`vite build` in web/) when `web/build` is missing or older than any of
 * its sources. Used by `npm start` and by the web e2e tests; callers that may run at the same
 * time serialise through a lock file (`flock`), and the freshness check runs inside the lock,
 * so the second caller finds the first one's build and does nothing.
 *
 *   npx tsx scripts/build-web.ts          # build if stale
 *   npx tsx scripts/build-web.ts --force  # always build
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB = join(ROOT, 'web');
export const BUILD_ENTRY = join(WEB, 'build', 'index.js');
const LOCK = join(ROOT, 'node_modules', '.cache', 'patungan-web-build.lock');

/** Newest modification time under these paths (files and folders), skipping node_modules. */
function newest(paths: string[]): number {
  let max = 0;
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    max = Math.max(max, st.mtimeMs);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) if (e !== 'node_modules') walk(join(p, e));
    }
  };
  paths.forEach(walk);
  return max;
}

/** Everything the build reads: web's sources and config, and the model package it bundles. */
const SOURCES = [
  join(WEB, 'src'),
  join(WEB, 'static'),
  join(WEB, 'svelte.config.js'),
  join(WEB, 'vite.config.ts'),
  join(WEB, 'package.json'),
  join(ROOT, 'model', 'src'),
];

export function webBuildIsFresh(): boolean {
  if (!existsSync(BUILD_ENTRY)) return false;
  return statSync(BUILD_ENTRY).mtimeMs >= newest(SOURCES);
}

/** Builds in this process's foreground (inherits stdio) unless fresh. Throws on failure. */
export function buildWebIfStale(o: { force?: boolean; quiet?: boolean } = {}): boolean {
  if (!o.force && webBuildIsFresh()) return false;
  const vite = join(WEB, 'node_modules', '.bin', 'vite');
  const r = spawnSync(
    existsSync(vite) ? vite : 'npx',
    existsSync(vite) ? ['build'] : ['vite', 'build'],
    {
      cwd: WEB,
      // Always a production build: under vitest NODE_ENV is `test`, and a build made from a
      // test run then carried Svelte's and Kit's development code (the room's first view
      // ~11 KB brotli larger), which the phone benchmark later measured as if it shipped.
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: o.quiet ? 'pipe' : 'inherit',
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) {
    const out = o.quiet ? `\n${r.stdout ?? ''}\n${r.stderr ?? ''}` : '';
    throw new Error(`vite build failed (exit ${r.status})${out}`);
  }
  return true;
}

/** Same, serialised with every other caller through `flock` on a shared lock file. */
export function buildWebLocked(o: { force?: boolean; quiet?: boolean } = {}): void {
  spawnSync('mkdir', ['-p', dirname(LOCK)]);
  const args = [LOCK, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url)];
  if (o.force) args.push('--force');
  const r = spawnSync('flock', args, {
    cwd: ROOT,
    stdio: o.quiet ? 'pipe' : 'inherit',
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`web build failed (exit ${r.status})\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = buildWebIfStale({ force: process.argv.includes('--force') });
  if (!built) console.log('web build is up to date');
}
