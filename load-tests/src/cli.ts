/** Entry point: `npm run load -- …`, `npx patungan-load …`. See `--help`. */
import { hardBoundS, runCli } from './main.ts';

const argv = process.argv.slice(2);
const abort = new AbortController();
let interrupted = 0;
process.on('SIGINT', () => {
  interrupted++;
  if (interrupted > 1) process.exit(130);
  process.stderr.write(
    '\nstopping: settling, closing every socket and writing the report (Ctrl-C again to quit)\n',
  );
  abort.abort();
});
// The run is bounded by design; this is the last line of defence if something hangs.
const bound = setTimeout(
  () => {
    process.stderr.write('patungan-load: hard time bound reached, exiting\n');
    process.exit(2);
  },
  hardBoundS(argv, process.env) * 1000,
);
bound.unref();

const code = await runCli(argv, process.env, undefined, abort.signal);
process.exitCode = code;
clearTimeout(bound);
// Sockets and timers are all closed by now; exit explicitly anyway so a stray handle in a
// dependency cannot keep a pipeline waiting.
setTimeout(() => process.exit(code), 200).unref();
