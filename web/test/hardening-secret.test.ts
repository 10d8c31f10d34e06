/**
 * Issue 10 item 9: every part's real entry refuses to start in scaled mode (REDIS_URL or
 * DATABASE_URL set) with a missing, short or well-known ROOM_TOKEN_SECRET — it prints why and
 * exits non-zero — and embedded mode still starts, generating its secret into DATA_DIR (0600).
 * (Settlement's entry is covered in settlement's own tests.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../../scripts/cluster.ts';
import { BUILD_ENTRY, ROOT, buildWebLocked } from '../../scripts/build-web.ts';
import { freePort } from './helpers/stack.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'patungan-secret-'));
  dirs.push(d);
  return d;
};

beforeAll(() => buildWebLocked({ quiet: true }), 300_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  output: string;
  /** Set when the process became healthy (then it was stopped by the test). */
  healthy: boolean;
}

/** Runs an entry until it exits, or until `healthUrl` answers 200 (then stops it). */
function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  healthUrl?: string,
  timeoutMs = 60_000,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let healthy = false;
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${args.join(' ')}\n${output}`));
    }, timeoutMs);
    let poll: NodeJS.Timeout | undefined;
    if (healthUrl) {
      poll = setInterval(() => {
        fetch(healthUrl).then(
          (r) => {
            if (r.ok && !healthy) {
              healthy = true;
              child.kill('SIGTERM');
            }
          },
          () => undefined,
        );
      }, 200);
    }
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, output, healthy });
    });
  });
}

const WEAK: [string, string | undefined, RegExp][] = [
  ['missing', undefined, /ROOM_TOKEN_SECRET is not set/],
  ['the old compose default', 'change-me-in-production', /well-known/],
  ['short', 'only-twenty-bytes-xx', /20 bytes, fewer than 32/],
];

const ENTRIES: [string, string[]][] = [
  ['room-server (bin/start.mjs)', ['room-server/bin/start.mjs']],
  ['web (web/build/index.js)', [BUILD_ENTRY]],
  ['npm start (scripts/start.ts)', ['--import', 'tsx', 'scripts/start.ts']],
];

describe('a weak ROOM_TOKEN_SECRET in scaled mode', () => {
  for (const [entry, args] of ENTRIES) {
    it.each(WEAK)(`${entry} refuses to start with a %s secret`, async (_w, secret, why) => {
      const port = await freePort();
      const r = await run(
        args,
        {
          REDIS_URL: 'redis://127.0.0.1:6379',
          PORT: String(port),
          WEB_PORT: String(port),
          DATA_DIR: tempDir(),
          ...(secret !== undefined ? { ROOM_TOKEN_SECRET: secret } : {}),
        },
        `http://127.0.0.1:${port}/healthz`,
      );
      expect(r.healthy, r.output).toBe(false);
      expect(r.code, r.output).not.toBe(0);
      expect(r.code, r.output).not.toBeNull();
      expect(r.output).toMatch(why);
      expect(r.output).toMatch(/cannot start/);
    });
  }

  it('web refuses with DATABASE_URL set too', async () => {
    const port = await freePort();
    const r = await run([BUILD_ENTRY], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      PORT: String(port),
      DATA_DIR: tempDir(),
      ROOM_TOKEN_SECRET: 'secret',
    });
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/web cannot start: ROOM_TOKEN_SECRET is a well-known value/);
  });

  it('npm run cluster refuses a weak secret it is given', async () => {
    await expect(
      startCluster({
        instances: 1,
        basePort: 0,
        settlement: false,
        secret: 'short',
        output: 'ignore',
      }),
    ).rejects.toThrow(/fewer than 32/);
  });
});

describe('embedded mode', () => {
  it.each([
    ['room-server', ['room-server/bin/start.mjs']],
    ['web', [BUILD_ENTRY]],
  ])('%s starts without a secret and generates one into DATA_DIR (0600)', async (_n, args) => {
    const port = await freePort();
    const dir = tempDir();
    const r = await run(
      args,
      { PORT: String(port), DATA_DIR: dir },
      `http://127.0.0.1:${port}/healthz`,
    );
    expect(r.healthy, r.output).toBe(true);
    expect(statSync(join(dir, 'room-token-secret')).mode & 0o777).toBe(0o600);
  });
});

describe('npm start', () => {
  it('with its output going to a log (not a terminal) prints where the staff logins are, never their passwords', async () => {
    const dir = tempDir();
    const [web, room, settlement] = [await freePort(), await freePort(), await freePort()];
    const env = {
      DATA_DIR: dir,
      WEB_PORT: String(web),
      ROOM_SERVER_PORT: String(room),
      SETTLEMENT_PORT: String(settlement),
      LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const deadline = Date.now() + 170_000;
      while (!/Patungan is running/.test(output) && child.exitCode === null) {
        if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(output).toMatch(/Patungan is running/);
      const file = join(dir, 'web', 'demo-staff.json');
      const logins = JSON.parse(readFileSync(file, 'utf8')) as { password: string }[];
      expect(logins.length).toBeGreaterThan(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(output).toContain(file);
      for (const l of logins) expect(output).not.toContain(l.password);
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 200_000);
});
