/**
 * The command line around {@link runLoad}: options, live progress, reports, exit code.
 * Exit codes: 0 every threshold met, 1 a threshold missed, 2 bad usage or the run failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HELP, UsageError, parseOptions } from './options.ts';
import { runLoad, VERSION, type Progress } from './run.ts';
import { formatProgress, formatReport } from './report.ts';
import { renderHtml } from './html.ts';
import { CheckoutError } from './checkout.ts';

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  /** Whether stderr is a terminal (progress redraws one line) or a log (a line every 5 s). */
  tty: boolean;
  cwd: string;
}

const defaultIo: CliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: Boolean(process.stderr.isTTY),
  cwd: process.env.INIT_CWD ?? process.cwd(),
};

function writeFile(cwd: string, file: string, content: string): string {
  const path = resolve(cwd, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

export async function runCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = defaultIo,
  signal?: AbortSignal,
): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(argv, env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`patungan-load: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    io.out(HELP);
    return 0;
  }
  if (parsed.version) {
    io.out(`patungan-load ${VERSION}\n`);
    return 0;
  }
  const o = parsed.options;
  let lastLog = 0;
  const onProgress = (p: Progress) => {
    if (!o.progress) return;
    const line = formatProgress(p);
    if (io.tty) io.err(`\r\x1b[2K${line}`);
    else if (p.elapsedS - lastLog >= 5 || p.phase === 'settle') {
      lastLog = p.elapsedS;
      io.err(line + '\n');
    }
  };
  let report;
  try {
    report = await runLoad(o, { onProgress, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (io.tty && o.progress) io.err('\n');
    if (err instanceof CheckoutError || err instanceof UsageError) {
      io.err(`patungan-load: ${err.message}\n`);
      return 2;
    }
    io.err(`patungan-load: the run failed: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
  if (io.tty && o.progress) io.err('\n');
  io.out(formatReport(report) + '\n');
  try {
    if (o.json)
      io.err(`JSON report: ${writeFile(io.cwd, o.json, JSON.stringify(report, null, 2) + '\n')}\n`);
    if (o.html) io.err(`HTML report: ${writeFile(io.cwd, o.html, renderHtml(report))}\n`);
  } catch (err) {
    io.err(`patungan-load: could not write the report: ${(err as Error).message}\n`);
    return 2;
  }
  return report.passed ? 0 : 1;
}

/** Hard upper bound of a run, in seconds, after which the process exits whatever happens. */
export function hardBoundS(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  try {
    const { options: o } = parseOptions(argv, env);
    return o.durationS + o.settleS + (o.scenario === 'checkout' ? o.holdWaitS : 0) + 60;
  } catch {
    return 60;
  }
}
