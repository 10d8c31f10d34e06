/**
 * `npm start`: Patungan on one machine, embedded mode.
 *
 * Builds the web app if it is missing or stale, then starts the room-server (:1234),
 * settlement API + worker (:4000) and web (:3000), waits for each /healthz, prints the URL
 * and the demo staff logins, and prefixes each child's output with its name. Ctrl-C or
 * SIGTERM stops every child (SIGTERM, a grace period, then SIGKILL) and exits; if any child
 * dies on its own, the others are stopped and this exits non-zero.
 *
 * Demo staff passwords are printed only when stdout is a terminal (else the path of the 0600
 * file that holds them); no log line carries them.
 *
 * Environment (all optional): DATA_DIR (./data), ROOM_TOKEN_SECRET (generated into DATA_DIR),
 * WEB_PORT (3000), ROOM_SERVER_PORT (1234), SETTLEMENT_PORT (4000), PUBLIC_HOST (localhost:
 * the host name browsers use), LOG_LEVEL. Other variables pass through to the children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dataDir, roomTokenSecret } from '@patungan/model/node';
import { BUILD_ENTRY, ROOT, buildWebLocked } from './build-web.ts';

const GRACE_MS = 10_000;
const HEALTH_TIMEOUT_MS = 90_000;

const env = { ...process.env };
env.DATA_DIR = dataDir(env);
try {
  env.ROOM_TOKEN_SECRET = roomTokenSecret(env);
} catch (err) {
  // REDIS_URL, REDIS_CLUSTER_NODES or DATABASE_URL in the environment with a missing or weak secret (scaled mode).
  console.error(`npm start cannot start: ${(err as Error).message}`);
  process.exit(1);
}
const ports = {
  web: Number(env.WEB_PORT || 3000),
  room: Number(env.ROOM_SERVER_PORT || 1234),
  settlement: Number(env.SETTLEMENT_PORT || 4000),
};
const publicHost = env.PUBLIC_HOST || 'localhost';
const urls = {
  web: `http://${publicHost}:${ports.web}`,
  room: `http://127.0.0.1:${ports.room}`,
  roomPublic: `ws://${publicHost}:${ports.room}`,
  settlement: `http://127.0.0.1:${ports.settlement}`,
  settlementPublic: `http://${publicHost}:${ports.settlement}`,
};

const colour = process.stdout.isTTY && !env.NO_COLOR;
const paint = (code: number, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}
const children: Child[] = [];
let stopping = false;

function start(
  name: string,
  code: number,
  cmd: string,
  args: string[],
  extra: NodeJS.ProcessEnv,
): Child {
  // Own process group (detached), so we can end the child and its own children (npm → tsx)
  // together with one signal to the group, and the terminal's Ctrl-C reaches only us.
  const proc = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const prefix = paint(code, `[${name}]`.padEnd(9));
  for (const stream of [proc.stdout, proc.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (l) => console.log(`${prefix} ${l}`));
  }
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    proc.on('error', (err) => {
      console.error(`${prefix} failed to start: ${err.message}`);
      resolve(1);
    });
  });
  const child = { name, proc, exited };
  children.push(child);
  void exited.then((c) => {
    if (stopping) return;
    console.error(paint(31, `\n${name} exited (${c}); stopping the others.`));
    void stopAll(1);
  });
  return child;
}

function signalGroup(c: Child, signal: NodeJS.Signals) {
  if (c.proc.pid === undefined || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  try {
    process.kill(-c.proc.pid, signal);
  } catch {
    // already gone
  }
}

async function stopAll(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const c of children) signalGroup(c, 'SIGTERM');
    const timer = setTimeout(() => {
      for (const c of children) {
        if (c.proc.exitCode === null && c.proc.signalCode === null) {
          console.error(`${c.name} did not stop within ${GRACE_MS / 1000} s; killing it.`);
          signalGroup(c, 'SIGKILL');
        }
      }
    }, GRACE_MS);
    await Promise.all(children.map((c) => c.exited));
    clearTimeout(timer);
  } else {
    await Promise.all(children.map((c) => c.exited));
  }
  process.exit(exitCode);
}

process.on('SIGINT', () => {
  // tsx relays Ctrl-C to us as well as the terminal: say it once.
  if (!stopping) console.log('\nStopping…');
  void stopAll(0);
});
process.on('SIGTERM', () => void stopAll(0));

async function waitHealthy(name: string, url: string, until?: (body: unknown) => boolean) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) {
        const body: unknown = await res.json().catch(() => null);
        if (!until || until(body)) return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${name} did not become healthy at ${url}/healthz within ${HEALTH_TIMEOUT_MS / 1000} s`,
  );
}

async function main() {
  console.log(paint(1, 'Patungan — embedded mode'), `(DATA_DIR ${env.DATA_DIR})`);
  console.log('Building the web app if needed…');
  buildWebLocked();

  const common = { HOST: '127.0.0.1', SETTLEMENT_URL: urls.settlement };
  start('room', 36, 'npm', ['start', '-w', 'room-server'], { ...common, PORT: String(ports.room) });
  start('settle', 35, 'npm', ['start', '-w', 'settlement'], {
    ...common,
    PORT: String(ports.settlement),
    ROOM_SERVER_INTERNAL_URL: urls.room,
    SETTLEMENT_PUBLIC_URL: urls.settlementPublic,
    // the pay page's link back to the room
    WEB_PUBLIC_URL: env.WEB_PUBLIC_URL || urls.web,
    // status events for web's notifications (retried until web is up)
    WEB_INTERNAL_URL: `http://127.0.0.1:${ports.web}`,
  });
  await Promise.all([
    waitHealthy('room-server', urls.room),
    waitHealthy('settlement', urls.settlement),
  ]);
  start('web', 32, process.execPath, [BUILD_ENTRY], {
    ...common,
    PORT: String(ports.web),
    ORIGIN: urls.web,
    ROOM_SERVER_URL: urls.roomPublic,
    ROOM_SERVER_INTERNAL_URL: urls.room,
    WEB_DEMO_STAFF: '1',
  });
  const webHealth = `http://127.0.0.1:${ports.web}`;
  await waitHealthy('web', webHealth);
  // The demo staff seed runs right after web's database opens; give it a moment.
  await waitHealthy(
    'web',
    webHealth,
    (b) => (b as { demoStaff?: unknown })?.demoStaff !== null,
  ).catch(() => undefined);
  if (stopping) return;

  const { readDemoStaff, demoStaffFile } = await import('../web/src/lib/server/staff-seed.ts');
  const staff = readDemoStaff(env.DATA_DIR!);
  // Passwords go to a person at a terminal, once; when the output goes to a file or a log
  // collector (not a TTY), only where to find them (the file is mode 0600).
  const showPasswords = process.stdout.isTTY === true;
  const lines = [
    '',
    paint(1, `  Patungan is running: ${paint(4, urls.web)}`),
    `  room-server ${urls.roomPublic} · settlement ${urls.settlementPublic}`,
    '',
    staff.length
      ? showPasswords
        ? '  Demo store staff logins (open /staff/<store> after logging in):'
        : `  Demo store staff logins: ${staff.length}, with their passwords in ${demoStaffFile(env.DATA_DIR!)}`
      : '  No demo staff logins yet (settlement had no stores).',
    ...(showPasswords
      ? staff.map((s) => `    ${s.storeName.padEnd(28)} ${s.email.padEnd(40)} ${s.password}`)
      : []),
    staff.length && showPasswords ? `  (kept in ${demoStaffFile(env.DATA_DIR!)})` : '',
    '',
    '  Press Ctrl-C to stop.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(paint(31, `npm start failed: ${(err as Error).message}`));
  void stopAll(1);
});
