/**
 * The checkout scenario end to end: a real settlement service (PGlite in memory, a hold TTL of
 * two seconds) and a real room-server wired to it; many rooms finalise at once against three
 * units of one product at one store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStorage, startRoomServer, type RoomServer } from '@patungan/room-server';
import { startSettlement, type SettlementService } from '@patungan/settlement';
import { signToken } from '@patungan/model';
import { createServer } from 'node:net';
import { runCli } from '../src/main.ts';
import type { LoadReport } from '../src/report-types.ts';

const SECRET = 'checkout-load-secret-0123456789';
let settlement: SettlementService;
let rooms: RoomServer;
let dir = '';
const STORE = 'jkt-menteng';
let sku = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'patungan-load-co-'));
  // Each service needs the other's URL: reserve the room-server's port first.
  const roomPort = await freePort();
  settlement = await startSettlement({
    port: 0,
    secret: SECRET,
    dataDir: null,
    holdTtlSeconds: 2,
    workerPollMs: 100,
    dispatcherPollMs: 50,
    roomServerUrl: `http://127.0.0.1:${roomPort}`,
    env: { LOG_LEVEL: 'silent' },
  });
  rooms = await startRoomServer({
    port: roomPort,
    secret: SECRET,
    storage: createMemoryStorage(),
    settlementUrl: settlement.url,
    logLevel: 'silent',
  });
}, 60_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

afterAll(async () => {
  await rooms?.close();
  await settlement?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('checkout scenario', () => {
  it('gives holds to as many rooms as there is stock, never more, and sees them expire', async () => {
    const stock = (await (await fetch(`${settlement.url}/stores/${STORE}/stock`)).json()) as {
      items: { sku: string; available: number; held: number; committed: number }[];
    };
    const row = stock.items.find((i) => i.available > 0 && i.held === 0 && i.committed === 0)!;
    sku = row.sku;
    const staff = await signToken(
      { sub: 'staff-1', store: STORE, name: 'Staff', role: 'staff' },
      SECRET,
    );
    const put = await fetch(`${settlement.url}/stores/${STORE}/stock/${sku}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
      body: JSON.stringify({ onHand: 3 }),
    });
    expect(put.status).toBe(200);

    const json = join(dir, 'checkout.json');
    const out: string[] = [];
    const code = await runCli(
      [
        '--scenario',
        'checkout',
        '--url',
        rooms.url,
        '--secret',
        SECRET,
        '--settlement-url',
        settlement.url,
        '--store',
        STORE,
        '--sku',
        sku,
        '--rooms',
        '8',
        '--members',
        '2',
        '--duration',
        '5s',
        '--hold-wait',
        '20s',
        '--workers',
        '1',
        '--quiet',
        '--json',
        json,
        '--threshold',
        'oversell=0',
        '--threshold',
        'holds_ended=100%',
        '--threshold',
        'converged=100%',
      ],
      {},
      { out: (s) => out.push(s), err: (s) => out.push(s), tty: false, cwd: dir },
    );
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadReport;
    expect(code, out.join('')).toBe(0);
    const co = r.checkout!;
    expect(co.stockBefore?.available).toBe(3);
    expect(co.finalises).toBe(8);
    expect(co.holdsWon).toBe(3);
    expect(co.holdsRefused).toBe(5);
    expect(co.finaliseErrors).toBe(0);
    expect(co.oversell).toBe(0);
    expect(co.finaliseToStatus.count).toBe(3);
    expect(co.holdEndObserved).toBe(true);
    expect(co.holdsEnded).toBe(3);
    expect(co.stockAfter).toMatchObject({ held: 0, available: 3 });
    expect(r.convergence.percent).toBe(100);
    expect(r.connections.refusedWrites).toBe(0);
  });
});
