/**
 * Embedded mode: one demo staff login per store, so a fresh `npm start` can open every staff
 * page. Stores come from settlement (`GET /stores`), which may still be starting, so this
 * retries for a while. Logins (with their random passwords) are written to
 * DATA_DIR/web/demo-staff.json, which `npm start` prints; a login already in that file is
 * kept, a store's staff user without a known password gets a new one.
 */
import { hash } from '@node-rs/argon2';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SettlementClient } from '@patungan/model/settlement-client';
import { createStaff } from './auth.ts';
import type { Db } from '@patungan/db';
import { humanCode } from './ids.ts';
import { log } from './log.ts';

export interface DemoStaffLogin {
  storeId: string;
  storeName: string;
  email: string;
  password: string;
}

export const demoStaffFile = (dataDir: string) => join(dataDir, 'web', 'demo-staff.json');

export const demoStaffEmail = (storeId: string) =>
  `${storeId.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@staff.patungan.test`;

let seeded: DemoStaffLogin[] | null = null;
/** The seeded logins once the seed has run in this process (for /healthz), else null. */
export const demoStaffSeeded = () => seeded;

export function readDemoStaff(dataDir: string): DemoStaffLogin[] {
  try {
    const v = JSON.parse(readFileSync(demoStaffFile(dataDir), 'utf8')) as unknown;
    return Array.isArray(v) ? (v as DemoStaffLogin[]) : [];
  } catch {
    return [];
  }
}

async function fetchStores(settlementUrl: string): Promise<{ id: string; name: string }[]> {
  const client = new SettlementClient({ baseUrl: settlementUrl, timeoutMs: 5000 });
  const { items } = await client.stores({ limit: 100 });
  return items.map((s) => ({ id: s.id, name: s.name || s.id }));
}

export async function seedDemoStaff(
  db: Db,
  o: { settlementUrl: string; dataDir: string },
  retry = { attempts: 120, delayMs: 1000 },
  signal?: AbortSignal,
): Promise<DemoStaffLogin[]> {
  let stores: { id: string; name: string }[] | undefined;
  for (let i = 0; ; i++) {
    signal?.throwIfAborted();
    try {
      stores = await fetchStores(o.settlementUrl);
      break;
    } catch (err) {
      if (i + 1 >= retry.attempts) throw err;
      // Unref'd: a pending retry never keeps a stopping process alive.
      await new Promise((r) => setTimeout(r, retry.delayMs).unref());
    }
  }
  signal?.throwIfAborted();
  const known = new Map(readDemoStaff(o.dataDir).map((l) => [l.email, l]));
  const logins: DemoStaffLogin[] = [];
  for (const store of stores) {
    const email = demoStaffEmail(store.id);
    const [existing] = await db.query<{ id: string; staff_store_id: string | null }>(
      'SELECT id, staff_store_id FROM users WHERE email = $1',
      [email],
    );
    const prior = known.get(email);
    if (existing && prior && existing.staff_store_id === store.id) {
      logins.push({ ...prior, storeName: store.name });
      continue;
    }
    const password = humanCode(12).toLowerCase();
    if (existing) {
      await db.query('UPDATE users SET password_hash = $2, staff_store_id = $3 WHERE id = $1', [
        existing.id,
        await hash(password),
        store.id,
      ]);
    } else {
      await createStaff(db, {
        email,
        password,
        name: `Staff ${store.name}`.slice(0, 40),
        storeId: store.id,
      });
    }
    logins.push({ storeId: store.id, storeName: store.name, email, password });
  }
  mkdirSync(join(o.dataDir, 'web'), { recursive: true });
  writeFileSync(demoStaffFile(o.dataDir), JSON.stringify(logins, null, 2) + '\n', { mode: 0o600 });
  seeded = logins;
  log.info({ stores: logins.length }, 'demo staff logins ready');
  return logins;
}
