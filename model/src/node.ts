/**
 * The one piece of model/ that touches the file system, kept out of the pure entry point:
 * where the embedded-mode token secret comes from. Import as `@patungan/model/node`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DATA_DIR ?? './data');
}

/**
 * Scaled mode (docs/scaling.md): a part runs in scaled mode when REDIS_URL,
 * REDIS_CLUSTER_NODES or DATABASE_URL is set, that is when it shares state with other machines
 * and its tokens cross the network.
 */
export function scaledMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!(env.REDIS_URL || env.REDIS_CLUSTER_NODES || env.DATABASE_URL);
}

/**
 * `REDIS_CLUSTER_NODES` (`host:port,host:port,…`, any of the cluster's nodes; the client finds
 * the rest) → the nodes, or null when unset. A malformed entry throws with the variable's name.
 */
export function redisClusterNodes(
  env: NodeJS.ProcessEnv = process.env,
): { host: string; port: number }[] | null {
  const raw = env.REDIS_CLUSTER_NODES?.trim();
  if (!raw) return null;
  return raw.split(',').map((entry) => {
    const e = entry.trim();
    const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(e);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535)
      throw new Error(`REDIS_CLUSTER_NODES: expected host:port[,host:port…], got "${e}"`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** A token secret has at least this many bytes in scaled mode. */
export const MIN_SECRET_BYTES = 32;

/**
 * Secrets everybody knows: defaults and examples from this repository's history and docs, and
 * the usual placeholders. Compared case-insensitively, ignoring surrounding whitespace.
 */
export const WELL_KNOWN_SECRETS: readonly string[] = [
  'change-me-in-production',
  'change-me',
  'changeme',
  'change_me',
  'changeit',
  'secret',
  'password',
  'test',
  'test-secret',
  'dev-secret',
  'your-secret-here',
  'replace-me',
  'patungan',
  'bench-secret',
  'scale-bench-secret',
];

/** Refused at start (the part's main prints `message` and exits non-zero). */
export class RoomTokenSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RoomTokenSecretError';
  }
}

/** Why `secret` must not be used in scaled mode, or null when it is fine. */
export function weakSecretReason(secret: string | undefined): string | null {
  if (!secret) return 'ROOM_TOKEN_SECRET is not set';
  const lower = secret.trim().toLowerCase();
  if (WELL_KNOWN_SECRETS.includes(lower)) return 'ROOM_TOKEN_SECRET is a well-known value';
  // One character repeated (`aaaa…`) is as guessable as a well-known value.
  if (/^(.)\1*$/s.test(secret)) return 'ROOM_TOKEN_SECRET is one character repeated';
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    return `ROOM_TOKEN_SECRET has ${bytes} bytes, fewer than ${MIN_SECRET_BYTES}`;
  }
  return null;
}

/**
 * The HS256 secret of every token (join, staff, service).
 *
 * - Scaled mode ({@link scaledMode}): ROOM_TOKEN_SECRET must be set, at least
 *   {@link MIN_SECRET_BYTES} bytes and not a well-known value; otherwise this throws a
 *   {@link RoomTokenSecretError} saying why and how to make one.
 * - Embedded mode: ROOM_TOKEN_SECRET when set, else a secret generated once into
 *   `DATA_DIR/room-token-secret` (mode 0600, folder 0700) so that every part started on this
 *   machine shares it.
 */
export function roomTokenSecret(env: NodeJS.ProcessEnv = process.env): string {
  if (scaledMode(env)) {
    const why = weakSecretReason(env.ROOM_TOKEN_SECRET);
    if (why) {
      throw new RoomTokenSecretError(
        `${why}. In scaled mode (REDIS_URL, REDIS_CLUSTER_NODES or DATABASE_URL set) every part needs the same ` +
          `strong ROOM_TOKEN_SECRET, at least ${MIN_SECRET_BYTES} bytes, for example the output ` +
          `of: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
      );
    }
    return env.ROOM_TOKEN_SECRET!;
  }
  if (env.ROOM_TOKEN_SECRET) return env.ROOM_TOKEN_SECRET;
  const dir = dataDir(env);
  const file = join(dir, 'room-token-secret');
  try {
    const s = readFileSync(file, 'utf8').trim();
    if (s) return s;
  } catch {
    // first start: fall through and create it
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx' fails if another part created it meanwhile; then read theirs.
    writeFileSync(file, secret + '\n', { flag: 'wx', mode: 0o600 });
    return secret;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}
