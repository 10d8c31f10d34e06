/**
 * The VAPID key pair web signs its pushes with: `VAPID_PUBLIC_KEY` / `VAPID_PRIVATE_KEY`, or
 * generated once into `DATA_DIR/vapid.json` (mode 0600) when both are unset. Several web
 * instances must share one pair (set the variables): a browser's subscription is bound to the
 * public key it subscribed with.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import webpush from 'web-push';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  /** `VAPID_SUBJECT`: a mailto: or https: URL push services may contact. */
  subject: string;
}

function fromFile(dataDir: string): { publicKey: string; privateKey: string } {
  const file = join(dataDir, 'vapid.json');
  try {
    const k = JSON.parse(readFileSync(file, 'utf8')) as {
      publicKey?: unknown;
      privateKey?: unknown;
    };
    if (typeof k.publicKey === 'string' && typeof k.privateKey === 'string')
      return { publicKey: k.publicKey, privateKey: k.privateKey };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keys = webpush.generateVAPIDKeys();
  mkdirSync(dataDir, { recursive: true });
  // 'wx': two processes starting together must not overwrite each other's pair
  try {
    writeFileSync(file, JSON.stringify(keys), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fromFile(dataDir);
    throw err;
  }
  return keys;
}

export function loadVapidKeys(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  publicUrl: string,
): VapidKeys {
  const pub = env.VAPID_PUBLIC_KEY;
  const priv = env.VAPID_PRIVATE_KEY;
  if (!!pub !== !!priv)
    throw new Error('set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither');
  const keys = pub && priv ? { publicKey: pub, privateKey: priv } : fromFile(dataDir);
  const subject =
    env.VAPID_SUBJECT ||
    (publicUrl.startsWith('https://') ? publicUrl : 'mailto:notifications@patungan.invalid');
  return { ...keys, subject };
}
