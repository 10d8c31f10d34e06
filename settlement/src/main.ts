/**
 * `npm start -w settlement`: the API from the environment (see README.md for every
 * variable). Runs the worker in this process too unless SETTLEMENT_WORKER=off.
 * SETTLEMENT_FAULT_CRASH_AT names a crash-test point (context.ts) where the process kills
 * itself with SIGKILL — for crash tests only.
 */
import { guardProcess, startSettlement } from './server.ts';
import { createLogger } from './log.ts';
import type { FaultPoint } from './context.ts';

const log = createLogger();
// Last resort: a bug that escapes every handler is logged and the process keeps serving
// (state lives in the database, written in transactions; nothing half-done stays).
guardProcess(log);
const crashAt = process.env.SETTLEMENT_FAULT_CRASH_AT as FaultPoint | undefined;

const service = await startSettlement({
  log,
  processMetrics: true,
  api: process.env.SETTLEMENT_API !== 'off',
  ...(crashAt ? { faults: { [crashAt]: () => void process.kill(process.pid, 'SIGKILL') } } : {}),
}).catch((err: unknown) => {
  log.fatal({ err }, 'settlement failed to start');
  process.exit(1);
});

// One line on stdout that scripts and tests can wait for.
console.log(JSON.stringify({ ready: true, url: service.url, port: service.port }));

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'settlement shutting down');
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  });
}
