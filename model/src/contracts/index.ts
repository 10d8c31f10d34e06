/**
 * `@patungan/model/contracts`: the contracts between the parts as code (docs/contracts.md,
 * decision 0010). The vocabulary (no dependencies) is also exported from `@patungan/model`;
 * the zod schemas are here only, so a page that needs just the words does not load zod.
 */
export * from './vocabulary.ts';
export * from './text.ts';
export * from './catalog.ts';
export * from './settlement.ts';
export * from './again.ts';
export * from './reports.ts';
export * from './reviews.ts';
