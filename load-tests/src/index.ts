/** `@patungan/load-tests`: run simulated rooms programmatically (the CLI is `src/cli.ts`). */
export { runLoad, buildReport, VERSION, type Progress, type RunHooks } from './run.ts';
export { runCli } from './main.ts';
export { parseOptions, parseDuration, HELP, UsageError, type LoadOptions } from './options.ts';
export { Histogram, type HistogramJson, type LatencySummary } from './histogram.ts';
export {
  parseThreshold,
  evaluateThreshold,
  evaluateThresholds,
  ThresholdError,
  METRICS,
  type Threshold,
  type ThresholdResult,
} from './thresholds.ts';
export { checkRoom, digestDoc, type DocDigest, type RoomCheck } from './convergence.ts';
export { formatReport } from './report.ts';
export { renderHtml } from './html.ts';
export { parsePrometheus } from './scrape.ts';
export type * from './report-types.ts';
