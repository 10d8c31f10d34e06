/**
 * The tool end to end: the real CLI (a child process, so exit codes are real) against a real
 * room-server this test starts on a free port, with real WebSockets and worker threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryStorage, startRoomServer, type RoomServer } from '@patungan/room-server';
import { signToken } from '@patungan/model';
import { runCli as runCliInProcess } from '../src/main.ts';
import type { LoadReport } from '../src/report-types.ts';

const SECRET = 'load-test-secret-0123456789';
const here = fileURLToPath(new URL('.', import.meta.url));
const cli = join(here, '..', 'src', 'cli.ts');
const tsx = join(here, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

let server: RoomServer;
let tokenServer: Server;
let tokenUrl = '';
let tokensServed = 0;
let dir = '';

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsx, cli, ...args], {
      env: { ...process.env, ROOM_TOKEN_SECRET: '', ROOM_SERVER_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'patungan-load-'));
  server = await startRoomServer({
    port: 0,
    secret: SECRET,
    storage: createMemoryStorage(),
    logLevel: 'silent',
  });
  // A token URL as a deployment would offer it: mints for whatever member the tool asks.
  tokenServer = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const role = q.get('role') === 'organiser' ? 'organiser' : 'member';
    void signToken(
      { sub: q.get('member') ?? '', room: q.get('room') ?? '', name: q.get('name') ?? '', role },
      SECRET,
    ).then((token) => {
      tokensServed++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token }));
    });
  });
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
  const addr = tokenServer.address();
  tokenUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/token`;
});

afterAll(async () => {
  await server?.close();
  await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a short real run', () => {
  it('drives 50 members in 10 rooms over two worker threads and reports sane numbers', async () => {
    const json = join(dir, 'run.json');
    const html = join(dir, 'run.html');
    const { code, stdout, stderr } = await runCli([
      '--url',
      server.url,
      '--secret',
      SECRET,
      '--rooms',
      '10',
      '--members',
      '5',
      '--rate',
      '4',
      '--churn',
      '6',
      '--duration',
      '4s',
      '--settle',
      '10s',
      '--workers',
      '2',
      '--seed',
      '7',
      '--quiet',
      '--json',
      json,
      '--html',
      html,
      '--threshold',
      'converged=100%',
      '--threshold',
      'errors<5%',
      '--threshold',
      'p99<5s',
    ]);
    expect(stderr).not.toMatch(/run failed/);
    expect(code, stdout + stderr).toBe(0);
    expect(stdout).toContain('PASSED');
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadReport;

    expect(r.connections.target).toBe(50);
    expect(r.connections.peak).toBeGreaterThanOrEqual(45);
    expect(r.connections.peak).toBeLessThanOrEqual(50);
    expect(r.connections.opened).toBeGreaterThanOrEqual(50);
    expect(r.connections.failed).toBe(0);
    expect(r.connections.openAtEnd).toBe(0); // every socket closed
    expect(r.connections.reconnects).toBeGreaterThan(0); // churn happened …
    expect(r.connections.refusedWrites).toBe(0); // … and every edit respected the write rules

    expect(r.edits.sent).toBeGreaterThan(40);
    // every edit reaches (almost) every other member of its room: 4 receivers each
    expect(r.latency.all.count).toBeGreaterThan(r.edits.sent * 2);
    expect(r.latency.all.count).toBeLessThanOrEqual(r.edits.sent * 4);
    expect(r.latency.same.count).toBe(r.latency.all.count); // one URL: all same-instance
    expect(r.latency.steady.count).toBeGreaterThan(0); // intervals after the ramp
    expect(r.latency.steady.count).toBeLessThanOrEqual(r.latency.all.count);
    expect(r.latency.all.p50).toBeGreaterThan(0);
    expect(r.latency.all.p50!).toBeLessThanOrEqual(r.latency.all.p99!);
    expect(r.latency.all.p99!).toBeLessThanOrEqual(r.latency.all.max!);
    expect(r.messages.updates).toBeGreaterThanOrEqual(r.latency.all.count);
    expect(r.messages.awareness).toBeGreaterThan(0);

    expect(r.convergence).toMatchObject({ rooms: 10, checked: 10, converged: 10, percent: 100 });
    expect(r.generator.workers).toBe(2);
    expect(r.servers[0]!.scrapes).toBeGreaterThan(0);
    expect(r.timeline.length).toBeGreaterThanOrEqual(3);
    expect(r.thresholds.every((t) => t.ok)).toBe(true);
    expect(readFileSync(html, 'utf8')).toContain('<svg');
  });

  it('exits 1 when a threshold is missed, with tokens from a token URL', async () => {
    const json = join(dir, 'missed.json');
    const before = tokensServed;
    const { code, stdout } = await runCli([
      '--url',
      server.url,
      '--token-url',
      tokenUrl,
      '--rooms',
      '3',
      '--members',
      '3',
      '--rate',
      '5',
      '--duration',
      '2s',
      '--workers',
      '1',
      '--quiet',
      '--json',
      json,
      '--threshold',
      'converged=100%',
      '--threshold',
      'p50<1us',
    ]);
    expect(code, stdout).toBe(1);
    expect(stdout).toMatch(/✗ p50<1us: MISSED/);
    expect(stdout).toMatch(/✓ converged=100%: ok/);
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadReport;
    expect(r.passed).toBe(false);
    expect(r.convergence.percent).toBe(100);
    expect(tokensServed - before).toBe(9);
  });

  it('idle: connects, syncs and holds every connection without edits', async () => {
    const json = join(dir, 'idle.json');
    const out: string[] = [];
    const code = await runCliInProcess(
      [
        '--scenario',
        'idle',
        '--url',
        server.url,
        '--secret',
        SECRET,
        '--rooms',
        '5',
        '--members',
        '4',
        '--duration',
        '1500ms',
        '--quiet',
        '--json',
        json,
        '--threshold',
        'connections=20',
      ],
      {},
      { out: (s) => out.push(s), err: (s) => out.push(s), tty: false, cwd: dir },
    );
    expect(code, out.join('')).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadReport;
    expect(r.edits.sent).toBe(0);
    expect(r.connections).toMatchObject({ peak: 20, failed: 0, reconnects: 0, openAtEnd: 0 });
    expect(r.convergence.percent).toBe(100);
  });

  it('exits 2 with a clear message on bad usage, before connecting anything', async () => {
    const { code, stderr } = await runCli([
      '--url',
      server.url,
      '--secret',
      SECRET,
      '--rooms',
      'lots',
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--rooms must be an integer/);
  });
});
