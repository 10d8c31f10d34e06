/**
 * Issue 10 item 13: what each server runs is listed under its `dependencies`, so an audit of
 * production dependencies (`npm audit --omit=dev`, `npm ls --omit=dev`) sees it. Web bundles
 * SvelteKit and Svelte into its server; settlement runs under tsx.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/build-web.ts';

interface Pkg {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}
const pkg = (w: string) => JSON.parse(readFileSync(join(ROOT, w, 'package.json'), 'utf8')) as Pkg;

/** Bare package names imported by the non-test sources under `dir`. */
function imports(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|mjs|svelte)$/.test(p) && !/\.test\./.test(p)) {
        const src = readFileSync(p, 'utf8');
        // Only the keywords, not the words in text or paths (`get('from')`, `'/stock/import'`,
        // `"before from"`): a keyword follows a space, `}`, `(`, `;` or `=`, and a module
        // specifier has no spaces.
        for (const m of src.matchAll(/(?<![^\s};(=])(?:from|import)\s*\(?\s*['"]([^'"\s]+)['"]/g)) {
          const spec = m[1]!;
          if (/^(\.|node:|\$)/.test(spec)) continue;
          const name = spec.startsWith('@')
            ? spec.split('/').slice(0, 2).join('/')
            : spec.split('/')[0]!;
          if (!found.has(name)) found.set(name, p);
        }
      }
    }
  };
  walk(dir);
  return found;
}

describe('runtime dependencies', () => {
  it.each(['web', 'room-server', 'settlement', 'model'])(
    '%s lists every package its sources import under dependencies',
    (w) => {
      const deps = pkg(w).dependencies ?? {};
      const missing = [...imports(join(ROOT, w, 'src'))].filter(([name]) => !(name in deps));
      expect(missing.map(([n, f]) => `${n} (${f})`)).toEqual([]);
    },
  );

  it('web lists what its built server bundles or loads (SvelteKit, Svelte, adapter-node)', () => {
    const web = pkg('web');
    for (const name of ['@sveltejs/kit', 'svelte', '@sveltejs/adapter-node']) {
      expect(web.dependencies?.[name], name).toBeDefined();
      expect(web.devDependencies?.[name], name).toBeUndefined();
    }
  });

  it('settlement lists tsx, which its start scripts and compose run it under', () => {
    expect(pkg('settlement').scripts?.start).toMatch(/^tsx /);
    expect(pkg('settlement').dependencies?.tsx).toBeDefined();
  });

  it('npm ls --omit=dev sees them', () => {
    const out = execFileSync(
      'npm',
      ['ls', '--omit=dev', '--depth=0', '-w', 'web', '-w', 'settlement'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    for (const name of ['@sveltejs/kit@', 'svelte@', 'tsx@']) expect(out).toContain(name);
  });
});
