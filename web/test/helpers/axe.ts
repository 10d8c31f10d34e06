/**
 * axe-core (the engine behind Lighthouse's accessibility checks) on a page as it is now, one
 * line per violation: the page's name, the impact, the rule, and up to three elements with
 * axe's summary of what fails. a11y.test.ts runs it on the main pages; a test that brings
 * pages of its own uses `seriousA11yViolations`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface A11yFindings {
  /** Impact serious or critical: what a test fails on. */
  serious: string[];
  /** Impact moderate or minor: printed, not failed. */
  minor: string[];
}

export async function a11yViolations(page: Page, name: string): Promise<A11yFindings> {
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    interface Finding {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: unknown[]; failureSummary?: string }[];
    }
    const axe = (window as unknown as { axe: { run: (o: object) => Promise<unknown> } }).axe;
    const r = (await axe.run({ resultTypes: ['violations'] })) as { violations: Finding[] };
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes
        .slice(0, 3)
        .map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
  const found: A11yFindings = { serious: [], minor: [] };
  for (const v of violations) {
    const where = v.nodes
      .map((n) => `${JSON.stringify(n.target)} ${n.failureSummary?.replace(/\s+/g, ' ') ?? ''}`)
      .join(' | ');
    const line = `${name}: ${v.impact} ${v.id} (${v.help}) at ${where}`;
    (v.impact === 'serious' || v.impact === 'critical' ? found.serious : found.minor).push(line);
  }
  return found;
}

export async function seriousA11yViolations(page: Page, name: string): Promise<string[]> {
  return (await a11yViolations(page, name)).serious;
}
