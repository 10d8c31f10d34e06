/** Starts a settlement service on a fresh database, with helpers for tokens and requests. */
import { afterAll, beforeAll } from 'vitest';
import { signToken, type Role } from '@patungan/model';
import { pino } from 'pino';
import {
  startSettlement,
  type SettlementOptions,
  type SettlementService,
} from '../../src/server.ts';
import { freshDb, type Driver, type TestDb } from './db.ts';

export const SECRET = 'test-secret-for-settlement-0123456789';
export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface TestService extends SettlementService {
  tdb: TestDb;
  token(role: Role, sub: string, scope?: string): Promise<string>;
  request(
    method: string,
    path: string,
    o?: { token?: string; body?: unknown; headers?: Record<string, string> },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  ): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startTestService(
  driver: Driver,
  opts: SettlementOptions = {},
): Promise<TestService> {
  const tdb = await freshDb(driver);
  let svc: SettlementService;
  try {
    svc = await startSettlement({
      port: 0,
      db: tdb.db,
      secret: SECRET,
      roomServerUrl: null,
      stripe: null,
      midtrans: null,
      log: silent,
      // Work started in-process runs at once (kick); the poll only catches the rest, and a
      // slow poll keeps idle services from eating the CPU the other suites need.
      workerPollMs: 250,
      dispatcherPollMs: 250,
      env: {},
      ...opts,
    });
  } catch (err) {
    await tdb.drop();
    throw err;
  }
  return {
    ...svc,
    tdb,
    token: (role, sub, scope) =>
      signToken(
        role === 'staff'
          ? { sub, role, name: sub, store: scope ?? 'jkt-menteng' }
          : { sub, role, name: sub, room: scope ?? '*' },
        SECRET,
      ),
    async request(method, path, o = {}) {
      const res = await fetch(svc.url + path, {
        method,
        headers: {
          ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...o.headers,
        },
        ...(o.body !== undefined
          ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) }
          : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // HTML or empty
      }
      return { status: res.status, body, headers: res.headers };
    },
    async stop() {
      await svc.close();
      await tdb.drop();
    },
  };
}

/**
 * The test service of a describe block: started (on its own fresh database) before the block's
 * tests and stopped after them. The returned handle forwards to the running service, so the
 * block uses it like the service itself; touching it outside a test or hook is an error.
 * `opts` may be a function, read when the service starts (after the block's earlier hooks, so it
 * can name a fake provider they started; later-registered hooks stop first).
 */
export function serviceFor(
  driver: Driver,
  opts: SettlementOptions | (() => SettlementOptions) = {},
): TestService {
  let current: TestService | undefined;
  beforeAll(async () => {
    current = await startTestService(driver, typeof opts === 'function' ? opts() : opts);
  });
  afterAll(async () => current?.stop());
  return forwarding(() => current);
}

/** A handle on a value a beforeAll hook makes: it forwards to that value once it exists. */
export function forwarding<T extends object>(get: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const current = get();
      if (!current) throw new Error('this test fixture exists only inside tests and hooks');
      const value: unknown = Reflect.get(current, key, current);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}

/** Polls `fn` until it returns a truthy value (bounded; fails the test after `ms`). */
export async function until<T>(
  fn: () => Promise<T | undefined | null | false>,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let seq = 0;
/** A cart snapshot as the room-server sends it. */
export function snapshot(o: {
  roomId?: string;
  storeId?: string;
  members?: { id: string; name?: string; method?: string }[];
  lines?: { sku: string; qty: number; addedBy?: string; sharedWith?: string[]; note?: string }[];
  split?: Record<string, unknown>;
  currency?: string;
  collector?: string;
}) {
  const members = (o.members ?? [{ id: 'ana' }, { id: 'budi' }, { id: 'citra' }]).map((m) => ({
    id: m.id,
    name: m.name ?? m.id,
    method: m.method ?? 'local',
  }));
  seq++;
  return {
    roomId: o.roomId ?? `room-${seq}-${Math.random().toString(36).slice(2, 8)}`,
    cartVersion: `v${seq}`,
    currency: o.currency ?? 'IDR',
    storeId: o.storeId ?? 'jkt-menteng',
    organiser: members[0]!.id,
    split: o.split ?? { mode: 'equal' },
    members,
    lines: (o.lines ?? [{ sku: 'MIN-0001', qty: 1 }]).map((l, i) => ({
      id: `l${i + 1}`,
      sku: l.sku,
      qty: l.qty,
      addedBy: l.addedBy ?? members[0]!.id,
      ...(l.sharedWith ? { sharedWith: l.sharedWith } : {}),
      ...(l.note ? { note: l.note } : {}),
    })),
    ...(o.collector ? { collector: o.collector } : {}),
  };
}

/** Sets on-hand stock of one sku at one store (staff), so a test knows exactly what is there. */
export async function setStock(
  s: TestService,
  storeId: string,
  sku: string,
  onHand: number,
): Promise<void> {
  const r = await s.request('PUT', `/stores/${storeId}/stock/${sku}`, {
    token: await s.token('staff', 'staff-1', storeId),
    body: { onHand },
  });
  if (r.status !== 200) throw new Error(`setStock: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Checks the stock invariant and that the ledger sums to the stock table, everywhere. */
export async function checkStockInvariants(s: { db: TestService['db'] }): Promise<void> {
  const bad = await s.db.query(
    'SELECT * FROM stock WHERE on_hand - held - committed < 0 OR held < 0 OR committed < 0',
  );
  if (bad.length) throw new Error(`stock invariant broken: ${JSON.stringify(bad)}`);
  const drift = await s.db.query(
    `SELECT s.store_id, s.sku, s.on_hand, s.held, s.committed, l.on_hand AS l_on_hand, l.held AS l_held, l.committed AS l_committed
     FROM stock s LEFT JOIN (
       SELECT store_id, sku, sum(d_on_hand) AS on_hand, sum(d_held) AS held, sum(d_committed) AS committed
       FROM stock_ledger GROUP BY store_id, sku) l ON l.store_id = s.store_id AND l.sku = s.sku
     WHERE s.on_hand <> coalesce(l.on_hand, 0) OR s.held <> coalesce(l.held, 0) OR s.committed <> coalesce(l.committed, 0)`,
  );
  if (drift.length)
    throw new Error(`ledger does not balance: ${JSON.stringify(drift.slice(0, 5))}`);
  const held = await s.db.query(
    `SELECT s.store_id, s.sku FROM stock s LEFT JOIN (
       SELECT store_id, sku, sum(qty) AS q FROM holds WHERE status = 'held' GROUP BY store_id, sku) h
       ON h.store_id = s.store_id AND h.sku = s.sku
     WHERE s.held <> coalesce(h.q, 0)`,
  );
  if (held.length)
    throw new Error(`held stock does not match active holds: ${JSON.stringify(held.slice(0, 5))}`);
}
