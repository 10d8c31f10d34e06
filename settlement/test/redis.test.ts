/**
 * Scaled mode: two API instances on one PostgreSQL with REDIS_URL. A stock change made
 * through one instance reaches a live stream held open on the other, through Redis pub/sub.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSettlement, type SettlementService } from '../src/server.ts';
import { createPgDatabase } from './support/db.ts';
import { openSse } from './support/sse.ts';
import { SECRET, silent } from './support/service.ts';
import { signToken } from '@patungan/model';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('two instances, one Redis', () => {
  let pg: Awaited<ReturnType<typeof createPgDatabase>>;
  let a: SettlementService;
  let b: SettlementService;
  beforeAll(async () => {
    pg = await createPgDatabase();
    const redisPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const common = {
      port: 0,
      databaseUrl: pg.url,
      redisUrl: REDIS_URL,
      redisPrefix,
      secret: SECRET,
      log: silent,
      roomServerUrl: null,
      dispatcherPollMs: 50,
      env: {},
    };
    a = await startSettlement(common);
    b = await startSettlement({ ...common, worker: false });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pg?.drop();
  });

  it('delivers a change made on A to a stream open on B', async () => {
    const sse = await openSse(`${b.url}/stores/mdn-kesawan/stock/stream`);
    try {
      await sse.next('snapshot');
      const staff = await signToken(
        { sub: 'sari', name: 'Sari', role: 'staff', store: 'mdn-kesawan' },
        SECRET,
      );
      for (const onHand of [11, 12]) {
        const r = await fetch(`${a.url}/stores/mdn-kesawan/stock/MIN-0007`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
          body: JSON.stringify({ onHand }),
        });
        expect(r.status).toBe(200);
        const ev = await sse.next('stock');
        expect(ev.data).toMatchObject({ storeId: 'mdn-kesawan', sku: 'MIN-0007', onHand });
      }
    } finally {
      await sse.close();
    }
  });
});
