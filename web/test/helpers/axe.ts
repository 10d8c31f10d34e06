/**
 * axe-core (the engine behind Lighthouse's accessibility checks) on a page as it is now: the
 * serious and critical violations, one line each. The same check a11y.test.ts runs on the main
 * pages, for a test that brings pages of its own.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function seriousA11yViolations(page: Page, name: string): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply.
  await page.evaluate(AXE);
  return page.evaluate(async (name) => {
    interface Finding {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: unknown[] }[];
    }
    const axe = (window as unknown as { axe: { run: (o: object) => Promise<unknown> } }).axe;
    const r = (await axe.run({ resultTypes: ['violations'] })) as { violations: Finding[] };
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${name}: ${v.impact} ${v.id} (${v.help}) at ${JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target))}`,
      );
  }, name);
}
