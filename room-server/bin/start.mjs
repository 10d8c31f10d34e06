// `npm start -w room-server`: compile src/main.ts (and what it imports) into ES modules
// with the esbuild binary, then run it in this plain Node process. Same sources as
// `tsx src/main.ts` (npm run start:tsx), but without tsx's loader thread and per-module
// source maps, which cost ~50 MB of resident memory per process — a third of the
// room-server's memory budget (docs/benchmarks.md). The compiler runs as a child process so
// none of it stays in this one. Nothing is kept on disk: the bundle goes to a temp dir that
// is removed once main has finished loading, so it can never be stale (src/main.ts does its
// dynamic imports, the scaled mode's chunk and the PostgreSQL storage's, at top level, before that). See docs/room-server.md "Running".
// Stack traces still name src/*.ts files and lines: external source maps, applied only when a
// stack is formatted (bin/source-maps.mjs).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as sourceMaps from './source-maps.mjs';

const esbuild = createRequire(import.meta.url).resolve('esbuild/bin/esbuild');
const dir = mkdtempSync(join(tmpdir(), 'patungan-room-server-'));
const outdir = join(dir, 'out');
// bin/esbuild is the native binary, or a small JS shim where no binary was installed
const head = Buffer.alloc(4);
const fd = openSync(esbuild, 'r');
readSync(fd, head, 0, 4, 0);
closeSync(fd);
const viaNode = head.toString('latin1') !== '\x7fELF';
execFileSync(
  viaNode ? process.execPath : esbuild,
  [
    ...(viaNode ? [esbuild] : []),
    fileURLToPath(new URL('../src/main.ts', import.meta.url)),
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    // the scaled mode's modules (ioredis, …) go into a chunk of their own that an embedded
    // server never loads
    '--splitting',
    `--outdir=${outdir}`,
    '--out-extension:.js=.mjs',
    // V8 keeps every module's source text in memory, as a two-byte string when it holds one
    // non-ASCII character (a comment's dash): 4 MB unminified, 0.8 MB minified, ASCII only.
    // Names are kept, and stack traces are mapped back to the sources (below).
    '--minify',
    '--keep-names',
    '--legal-comments=none',
    '--charset=ascii',
    '--log-level=warning',
    // maps as separate files, without the sources' text: read into memory below, applied
    // only when an error's stack is formatted
    '--sourcemap=external',
    '--sources-content=false',
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins
    "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  ],
  { stdio: 'inherit' },
);
sourceMaps.keep(outdir);
sourceMaps.install();
try {
  await import(pathToFileURL(join(outdir, 'main.mjs')).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
