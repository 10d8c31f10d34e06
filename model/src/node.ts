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
 * ROOM_TOKEN_SECRET from the environment, or (embedded mode) a secret generated once into
 * `DATA_DIR/room-token-secret` so that every part started on this machine shares it.
 */
export function roomTokenSecret(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ROOM_TOKEN_SECRET) return env.ROOM_TOKEN_SECRET;
  const dir = dataDir(env);
  const file = join(dir, 'room-token-secret');
  try {
    const s = readFileSync(file, 'utf8').trim();
    if (s) return s;
  } catch {
    // first start: fall through and create it
  }
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx' fails if another part created it meanwhile; then read theirs.
    writeFileSync(file, secret + '\n', { flag: 'wx', mode: 0o600 });
    return secret;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}
