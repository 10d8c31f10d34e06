/**
 * Crash safety: kill the process (SIGKILL) between hold and payment creation, and between a
 * capture and its commit; on restart the work is completed or compensated — no stock lost,
 * nothing charged twice. Runs on PostgreSQL and on PGlite (its data directory on disk).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { signToken } from '@patungan/model';
import { openDb, type Db } from '@patungan/db';
import { startSettlement, type SettlementOptions, type SettlementService } from '../src/server.ts';
import { createPgDatabase, DRIVERS, pgliteCopy, type Driver } from './support/db.ts';
import { fakeStripe, sendStripeEvent, type FakeStripe } from './support/fake-stripe.ts';
import { SECRET, checkStockInvariants, silent, snapshot, until } from './support/service.ts';

const WHSEC = 'whsec_crash';
const CHILD = join(import.meta.dirname, 'fixtures', 'crash-child.ts');
// A PGlite case starts a child and then a second service on the same data directory; each
// loads the WASM database before it answers (~15 s on a loaded 2-core machine), so the cases get
// a budget that fits both starts and the work, not the default 30 s.
const TIMEOUT = 90_000;

// Every child ever spawned, until it exits: a failed or timed-out test must not leave one
// running (the child also dies on its own when this process goes away — see crash-child.ts).
const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}
afterEach(killChildren);
afterAll(killChildren);
process.once('exit', killChildren);

interface Place {
  db: SettlementOptions;
  open(): Promise<Db>;
  drop(): Promise<void>;
}

async function place(driver: Driver): Promise<Place> {
  if (driver === 'postgres') {
    const pg = await createPgDatabase();
    return {
      db: { databaseUrl: pg.url },
      open: () => openDb({ databaseUrl: pg.url, poolSize: 2 }),
      drop: pg.drop,
    };
  }
  const dir = await pgliteCopy();
  return {
    db: { dataDir: dir },
    open: () => openDb({ dataDir: dir }),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function startChild(
  opts: object,
): Promise<{ child: ChildProcess; url: string; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, CRASH_CHILD_OPTIONS: JSON.stringify(opts) },
    // stdin is a pipe the child watches: its end means this process died
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const exited = new Promise<NodeJS.Signals | null>((r) =>
    child.once('exit', (_code, sig) => r(sig)),
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line)
        resolve({ child, url: (JSON.parse(line) as { url: string }).url, exited });
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
}

describe.each(DRIVERS)('crash safety (%s)', { timeout: TIMEOUT }, (driver) => {
  let stripe: FakeStripe;
  let service: string;
  beforeAll(async () => {
    stripe = await fakeStripe();
    service = await signToken(
      { sub: 'room-server', name: 'room-server', role: 'service', room: '*' },
      SECRET,
    );
  });
  afterAll(async () => stripe?.close());

  const common = () => ({
    secret: SECRET,
    roomServerUrl: null,
    workerPollMs: 50,
    dispatcherPollMs: 50,
    leaseSeconds: 1,
    stripe: {
      secretKey: 'sk_test_crash',
      webhookSecret: WHSEC,
      host: '127.0.0.1',
      port: stripe.port,
      protocol: 'http' as const,
    },
  });

  async function setup(holdTtlSeconds: number) {
    const p = await place(driver);
    let svc: SettlementService | null = null;
    let child: ChildProcess | null = null;
    onTestFinished(async () => {
      child?.kill('SIGKILL');
      await svc?.close();
      await p.drop();
    });
    return {
      p,
      async child(crashAt: string) {
        const c = await startChild({ ...p.db, ...common(), holdTtlSeconds, crashAt });
        child = c.child;
        return c;
      },
      async restart() {
        svc = await startSettlement({
          ...p.db,
          ...common(),
          holdTtlSeconds,
          port: 0,
          log: silent,
          env: {},
        });
        return svc;
      },
    };
  }

  const post = (url: string, snap: object, key: string) =>
    fetch(`${url}/settlements`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${service}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(snap),
    });
  const members = [
    { id: 'ana', method: 'stripe' },
    { id: 'budi', method: 'stripe' },
  ];
  const intentsOf = (settlementId: string) =>
    [...stripe.intents.values()].filter((i) => i.metadata.settlement_id === settlementId);
  const opsOn = (settlementId: string, op: string) => {
    const ids = new Set(intentsOf(settlementId).map((i) => i.id));
    return stripe.ops.filter((o) => o.op === op && ids.has(o.id)).length;
  };

  it('killed between hold and payment creation: the restart creates each payment once and the group can pay', async () => {
    const t = await setup(120);
    const snap = snapshot({
      storeId: 'jkt-menteng',
      members,
      lines: [{ sku: 'MIN-0004', qty: 2 }],
    });
    const c = await t.child('after_hold');
    await expect(post(c.url, snap, 'crash-1')).rejects.toThrow();
    expect(await c.exited).toBe('SIGKILL');

    const svc = await t.restart();
    const [row] = await svc.db.query<{ id: string }>(
      'SELECT id FROM settlements WHERE room_id = $1',
      [snap.roomId],
    );
    const id = row!.id;
    await until(async () => intentsOf(id).length === 2, 10_000, 'intents created by the worker');
    const replay = async () => {
      const res = await post(svc.url, snap, 'crash-1');
      const body = (await res.json()) as { id: string; payments: { payUrl?: string }[] };
      return { status: res.status, body };
    };
    // Stripe has the intents before the worker has saved their pay links: wait for the links
    // (bounded generously: on a loaded machine the worker's write can lag by seconds)
    await expect
      .poll(async () => (await replay()).body.payments.map((p) => Boolean(p.payUrl)), {
        timeout: 20_000,
        interval: 50,
      })
      .toEqual([true, true]);
    const { status, body } = await replay();
    expect(status).toBe(201);
    expect(body.id).toBe(id);
    expect(body.payments.every((p) => p.payUrl)).toBe(true);
    const holds = await svc.db.query('SELECT * FROM holds WHERE settlement_id = $1', [id]);
    expect(holds).toHaveLength(1);
    expect(opsOn(id, 'create')).toBe(2);

    for (const pi of intentsOf(id)) {
      stripe.authorize(pi.id);
      await sendStripeEvent(svc.url, WHSEC, 'payment_intent.amount_capturable_updated', pi);
    }
    await until(
      async () =>
        (
          await svc.db.query<{ status: string }>('SELECT status FROM settlements WHERE id = $1', [
            id,
          ])
        )[0]?.status === 'paid',
    );
    expect(opsOn(id, 'capture')).toBe(2);
    await checkStockInvariants(svc);
  });

  it('killed between hold and payment creation, restarted after the hold expired: released, nothing charged', async () => {
    const t = await setup(1);
    const snap = snapshot({
      storeId: 'jkt-menteng',
      members,
      lines: [{ sku: 'MIN-0005', qty: 1 }],
    });
    const c = await t.child('after_hold');
    await expect(post(c.url, snap, 'crash-2')).rejects.toThrow();
    await c.exited;
    await new Promise((r) => setTimeout(r, 1100));
    const svc = await t.restart();
    const [row] = await svc.db.query<{ id: string }>(
      'SELECT id FROM settlements WHERE room_id = $1',
      [snap.roomId],
    );
    await until(
      async () => {
        const [x] = await svc.db.query<{ status: string }>(
          'SELECT status FROM settlements WHERE id = $1',
          [row!.id],
        );
        const [open] = await svc.db.query<{ n: number }>(
          `SELECT count(*) AS n FROM payment_attempts WHERE settlement_id = $1 AND status <> 'voided'`,
          [row!.id],
        );
        return x?.status === 'expired' && open?.n === 0;
      },
      10_000,
      'expired and voided',
    );
    // whatever reached Stripe was cancelled; nothing was captured
    expect(intentsOf(row!.id).every((i) => i.status === 'canceled')).toBe(true);
    expect(opsOn(row!.id, 'capture')).toBe(0);
    const [st] = await svc.db.query(
      `SELECT held FROM stock WHERE store_id = 'jkt-menteng' AND sku = 'MIN-0005'`,
    );
    expect(st).toEqual({ held: 0 });
    await checkStockInvariants(svc);
  });

  it('killed between a capture and its commit: the restart finishes without a second charge', async () => {
    const t = await setup(120);
    const snap = snapshot({
      storeId: 'jkt-menteng',
      members,
      lines: [{ sku: 'MIN-0006', qty: 3 }],
    });
    const c = await t.child('after_capture');
    const res = await post(c.url, snap, 'crash-3');
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    for (const pi of intentsOf(id)) {
      stripe.authorize(pi.id);
      // the second webhook may find the child already dead: that is the point
      await sendStripeEvent(c.url, WHSEC, 'payment_intent.amount_capturable_updated', pi).catch(
        () => {},
      );
    }
    expect(await c.exited).toBe('SIGKILL');
    // Stripe charged at least one card; the process died before recording it
    expect(opsOn(id, 'capture')).toBeGreaterThanOrEqual(1);
    const [recorded] = await (async () => {
      const db = await t.p.open();
      try {
        return await db.query<{ n: number }>(
          `SELECT count(*) AS n FROM payment_attempts WHERE settlement_id = $1 AND status = 'captured'`,
          [id],
        );
      } finally {
        await db.close();
      }
    })();
    expect(recorded!.n).toBe(0);

    const svc = await t.restart();
    // an authorisation the dead process never heard of arrives again (Stripe retries webhooks)
    for (const pi of intentsOf(id))
      await sendStripeEvent(svc.url, WHSEC, 'payment_intent.amount_capturable_updated', pi);
    await until(
      async () =>
        (
          await svc.db.query<{ status: string }>('SELECT status FROM settlements WHERE id = $1', [
            id,
          ])
        )[0]?.status === 'paid',
      15_000,
      'paid after restart',
    );
    expect(opsOn(id, 'capture')).toBe(2);
    expect(intentsOf(id).map((i) => i.status)).toEqual(['succeeded', 'succeeded']);
    const [st] = await svc.db.query(
      `SELECT held, committed FROM stock WHERE store_id = 'jkt-menteng' AND sku = 'MIN-0006'`,
    );
    expect(st).toEqual({ held: 0, committed: 3 });
    await checkStockInvariants(svc);
  });
});
