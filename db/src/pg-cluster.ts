/**
 * Throw-away PostgreSQL clusters for tests, benchmarks and `npm run cluster -- --regions N`
 * (`@patungan/db/pg-cluster`): `initdb` into a directory of their own, started with `pg_ctl`
 * on a free port with `wal_level=logical` (so they can publish and subscribe), stopped and
 * removed by the caller. Needs the PostgreSQL server binaries (PG_BIN_DIR, default the
 * newest /usr/lib/postgresql/<version>/bin). Run as root, the clusters run as the `postgres`
 * user (PostgreSQL refuses to run as root).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The server binaries: PG_BIN_DIR, else the newest /usr/lib/postgresql/<n>/bin. */
export function pgBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0])
    throw new Error('No PostgreSQL server binaries: install postgresql or set PG_BIN_DIR');
  return join(root, versions[0], 'bin');
}

/** A TCP port nobody listens on right now (127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a server binary, as `postgres` when we are root. */
async function pg(bin: string, args: string[]): Promise<string> {
  const file = join(pgBinDir(), bin);
  const r = asRoot
    ? await run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 60_000 })
    : await run(file, args, { timeout: 60_000 });
  return r.stdout;
}

export interface PgCluster {
  readonly name: string;
  readonly port: number;
  /** Data directory. */
  readonly dir: string;
  /** URL of a database on it (default `postgres`), user postgres, trust auth. */
  url(database?: string): string;
  /** Stops the server (fast: open connections are cut). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

export interface PgClusterSet {
  readonly clusters: PgCluster[];
  /** Stops every cluster and removes every data directory (safe to call twice). */
  remove(): Promise<void>;
}

export interface PgClusterOptions {
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  /** fsync / synchronous commit off (tests; default true). */
  unsafeFast?: boolean;
}

/**
 * initdb + start one cluster per name, each in its own directory under one temporary
 * directory, on free ports. On any failure what was started is stopped and removed.
 */
export async function startPgClusters(
  names: readonly string[],
  o: PgClusterOptions = {},
): Promise<PgClusterSet> {
  const base = mkdtempSync(join(tmpdir(), 'patungan-pg-'));
  if (asRoot) chownSync(base, uidOf('postgres'), gidOf('postgres'));
  const clusters: PgCluster[] = [];
  let removed = false;
  const set: PgClusterSet = {
    clusters,
    async remove() {
      if (removed) return;
      removed = true;
      await Promise.all(clusters.map((c) => c.stop().catch(() => {})));
      rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(
      names.map(async (name) => {
        const dir = join(base, name);
        await pg('initdb', [
          '-D',
          dir,
          '-U',
          'postgres',
          '-A',
          'trust',
          '-E',
          'UTF8',
          '--locale=C',
          '--no-sync',
        ]);
        const port = await freePort();
        const settings: Record<string, string | number> = {
          port,
          listen_addresses: '127.0.0.1',
          unix_socket_directories: dir,
          wal_level: 'logical',
          max_wal_senders: 20,
          max_replication_slots: 20,
          max_logical_replication_workers: 20,
          max_worker_processes: 32,
          max_connections: 200,
          ...((o.unsafeFast ?? true)
            ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }
            : {}),
          ...o.settings,
        };
        const opts = Object.entries(settings)
          .map(([k, v]) => `-c ${k}=${v}`)
          .join(' ');
        let running = false;
        const cluster: PgCluster = {
          name,
          port,
          dir,
          url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
          async start() {
            await pg('pg_ctl', [
              '-D',
              dir,
              '-l',
              join(dir, 'server.log'),
              '-o',
              opts,
              '-w',
              '-t',
              '60',
              'start',
            ]);
            running = true;
          },
          async stop() {
            if (!running) return;
            running = false;
            await pg('pg_ctl', ['-D', dir, '-m', 'fast', '-w', '-t', '60', 'stop']);
          },
        };
        clusters.push(cluster);
        await cluster.start();
      }),
    );
    clusters.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
    return set;
  } catch (err) {
    await set.remove();
    throw err;
  }
}

/** A user's uid / gid (only needed as root, to hand the directory to `postgres`). */
function idOf(flag: '-u' | '-g', user: string): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
}
const uidOf = (u: string) => idOf('-u', u);
const gidOf = (u: string) => idOf('-g', u);
