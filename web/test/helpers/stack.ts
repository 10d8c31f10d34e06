/**
 * The whole Patungan stack on free ports, for browser tests: a real room-server
 * (`startRoomServer`), a real settlement API + worker (`startSettlement`, PGlite, demo catalog
 * and stores) and the built web app (`node web/build/index.js`, a child process exactly as in
 * production), sharing one token secret and one temporary DATA_DIR that `close()` removes.
 *
 *   const stack = await startStack();            // builds web first if stale (once per run)
 *   await page.goto(stack.webUrl);
 *   stack.staff[0]  // { storeId, storeName, email, password } — a demo staff login per store
 *   await stack.close();                         // stops all three, removes DATA_DIR
 *
 * Options: `databaseUrl` runs web on PostgreSQL instead of PGlite; `holdTtlSeconds` shortens
 * settlement holds; `webEnv` adds environment variables for the web process.
 * `stack.stopRoomServer()` / `stack.startRoomServer()` take the room-server down and bring it
 * back on the same port and DATA_DIR (a restart under open pages); `stack.roomServer` is the
 * running one.
 * `stack.logs()` returns the web process's output (print it when a test fails).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRoomServer, type RoomServer } from '@patungan/room-server';
import { startSettlement, type SettlementService } from '@patungan/settlement';
import { BUILD_ENTRY, ROOT, buildWebLocked } from '../../../scripts/build-web.ts';
import { readDemoStaff, type DemoStaffLogin } from '../../src/lib/server/staff-seed.ts';

export interface StackOptions {
  databaseUrl?: string;
  holdTtlSeconds?: number;
  webEnv?: Record<string, string>;
  logLevel?: string;
}

export interface Stack {
  /** `http://127.0.0.1:<port>` — the app; also its ORIGIN. */
  webUrl: string;
  /** `ws://127.0.0.1:<port>` */
  roomServerUrl: string;
  roomServerHttpUrl: string;
  settlementUrl: string;
  dataDir: string;
  secret: string;
  staff: DemoStaffLogin[];
  roomServer: RoomServer;
  settlement: SettlementService;
  /** Stops the room-server (sockets closed with 1001, rooms flushed); its port stops answering. */
  stopRoomServer(): Promise<void>;
  /** Starts the room-server again on the same port and DATA_DIR. */
  startRoomServer(): Promise<void>;
  logs(): string;
  close(): Promise<void>;
}

/** A port that was free a moment ago (for the child process and settlement's fixed URL). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  isDead?: () => string | null,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = isDead?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function stopChild(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  buildWebLocked({ quiet: true });
  const dataDir = await mkdtemp(join(tmpdir(), 'patungan-stack-'));
  const secret = randomBytes(24).toString('base64url');
  const logLevel = o.logLevel ?? 'warn';
  const cleanups: (() => Promise<unknown>)[] = [
    () => rm(dataDir, { recursive: true, force: true }),
  ];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    // Room-server and settlement name each other; settlement gets a port chosen up front.
    const settlementPort = await freePort();
    const settlementUrl = `http://127.0.0.1:${settlementPort}`;
    // A fixed port, so that web's ROOM_SERVER_URL stays right across a restart.
    const roomServerPort = await freePort();
    const roomServerOptions = {
      port: roomServerPort,
      host: '127.0.0.1',
      secret,
      dataDir: join(dataDir, 'room-server'),
      settlementUrl,
      logLevel,
    };
    // Settlement also tells web of status changes (notifications): web's port is chosen now.
    const webPort = await freePort();
    const webUrl = `http://127.0.0.1:${webPort}`;
    let roomServer: RoomServer | null = await startRoomServer(roomServerOptions);
    const firstRoomServer = roomServer;
    cleanups.push(() => roomServer?.close() ?? Promise.resolve());
    const settlement = await startSettlement({
      port: settlementPort,
      host: '127.0.0.1',
      secret,
      dataDir: join(dataDir, 'settlement'),
      roomServerUrl: firstRoomServer.httpUrl,
      webInternalUrl: webUrl,
      publicUrl: settlementUrl,
      ...(o.holdTtlSeconds !== undefined ? { holdTtlSeconds: o.holdTtlSeconds } : {}),
      stripe: null,
      midtrans: null,
      env: { LOG_LEVEL: logLevel },
    });
    cleanups.push(() => settlement.close());

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(webPort),
      HOST: '127.0.0.1',
      ORIGIN: webUrl,
      DATA_DIR: dataDir,
      ROOM_TOKEN_SECRET: secret,
      ROOM_SERVER_URL: firstRoomServer.url,
      ROOM_SERVER_INTERNAL_URL: firstRoomServer.httpUrl,
      SETTLEMENT_URL: settlementUrl,
      WEB_DEMO_STAFF: '1',
      LOG_LEVEL: logLevel,
      ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
      ...o.webEnv,
    };
    let output = '';
    const web = spawn(process.execPath, [BUILD_ENTRY], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-200_000);
    };
    web.stdout?.on('data', keep);
    web.stderr?.on('data', keep);
    cleanups.push(() => stopChild(web));
    const dead = () =>
      web.exitCode !== null || web.signalCode !== null
        ? `web exited (${web.exitCode ?? web.signalCode})\n${output}`
        : null;

    await waitFor(
      'web /healthz with demo staff',
      async () => {
        const res = await fetch(`${webUrl}/healthz`);
        const body = (await res.json()) as { status?: string; demoStaff?: number | null };
        return res.ok && typeof body.demoStaff === 'number' ? body : undefined;
      },
      // A loaded machine (several test runs sharing two cores) can take over a minute.
      120_000,
      dead,
    );
    return {
      webUrl,
      roomServerUrl: firstRoomServer.url,
      roomServerHttpUrl: firstRoomServer.httpUrl,
      settlementUrl,
      dataDir,
      secret,
      staff: readDemoStaff(dataDir),
      get roomServer() {
        if (!roomServer) throw new Error('the room-server is stopped');
        return roomServer;
      },
      settlement,
      async stopRoomServer() {
        const rs = roomServer;
        roomServer = null;
        await rs?.close();
      },
      async startRoomServer() {
        if (roomServer) return;
        roomServer = await startRoomServer(roomServerOptions);
      },
      logs: () => output,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
