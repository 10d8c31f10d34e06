/**
 * Logged errors of the bundled, minified server (`bin/start.mjs`, as `npm start` runs it) name
 * the source file and line (issue 10 item 14): the stack of a real logged error points into
 * room-server/src/*.ts, at the line that made the failing call.
 */
import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import type { SourceMapPayload } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { keep, lookup } from '../bin/source-maps.mjs';
import { tempDir, token, waitFor } from './helpers.ts';
import { rawRequest, roomServerRoot, startChild, upgradeRequest } from './edge-helpers.ts';

test(
  'a logged error of the bundled server names room-server/src/<file>.ts:<line>',
  { timeout: 90_000 },
  async () => {
    const dataDir = await tempDir();
    // a room whose snapshot cannot be read (a directory where the file should be): loading it
    // fails, and the server logs 'room could not be loaded' with the error
    await mkdir(join(dataDir, 'rooms', 'broken.snapshot'), { recursive: true });
    const s = await startChild({}, dataDir);
    const tok = await token('broken', 'a');
    const r = await rawRequest(s.port, upgradeRequest(`/broken?token=${tok}`), 2000, false);
    expect(r.status).toBe(101);
    await waitFor(() => s.logs.some((l) => l.msg === 'room could not be loaded'), 'the error log');
    const line = s.logs.find((l) => l.msg === 'room could not be loaded')!;
    const stack = (line.err as { stack: string }).stack;
    expect(stack).toMatch(/^Error: EISDIR/);
    // no frame of the minified bundle is left for code that has a source
    const frames = [...stack.matchAll(/room-server\/src\/([\w/-]+\.ts):(\d+):(\d+)/g)];
    expect(frames.length, stack).toBeGreaterThan(0);
    expect(stack).not.toMatch(/patungan-room-server-[^/]+\/out\/main\.mjs/);
    // and the lines are the right ones: file.ts's frame is the line that reads the file
    const file = frames.find((f) => f[1] === 'storage/file.ts');
    expect(file, stack).toBeDefined();
    const src = readFileSync(join(roomServerRoot, 'src', file![1]!), 'utf8').split('\n');
    expect(src[Number(file![2]) - 1]).toMatch(/readFile|readIfExists/);
    expect(s.alive()).toBe(true);
  },
);

test(
  'the lazy lookup agrees with node:module SourceMap on the minified bundle',
  { timeout: 90_000 },
  async () => {
    const outdir = await tempDir();
    buildSync({
      entryPoints: [join(roomServerRoot, 'src/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      splitting: true,
      outdir,
      outExtension: { '.js': '.mjs' },
      minify: true,
      keepNames: true,
      charset: 'ascii',
      sourcemap: 'external',
      sourcesContent: false,
      logLevel: 'warning',
    });
    keep(outdir);
    const raw = readFileSync(join(outdir, 'main.mjs.map'), 'utf8');
    const reference = new SourceMap(JSON.parse(raw) as SourceMapPayload);
    const code = readFileSync(join(outdir, 'main.mjs'), 'utf8').split('\n');
    const file = pathToFileURL(join(outdir, 'main.mjs')).href;
    let compared = 0;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: code.length - 1 })
          .chain((l) =>
            fc.tuple(fc.constant(l), fc.integer({ min: 0, max: Math.max(0, code[l]!.length - 1) })),
          ),
        ([l, c]) => {
          const want = reference.findEntry(l, c) as {
            generatedLine?: number;
            originalSource?: string;
            originalLine?: number;
            originalColumn?: number;
          };
          const got = lookup(file, l + 1, c + 1);
          // node's lookup falls back to the previous line's last segment; ours only maps
          // positions on a line with mappings (where V8 frames point)
          if (want.originalSource === undefined || want.generatedLine !== l) return;
          compared++;
          expect(got).toEqual({
            source: resolve(outdir, want.originalSource),
            line: want.originalLine! + 1,
            column: want.originalColumn! + 1,
          });
        },
      ),
      { numRuns: 500 },
    );
    expect(compared).toBeGreaterThan(250);
  },
);
