/**
 * The one settlement HTTP client (model/src/settlement-client.ts) against a real local HTTP
 * server answering like settlement: answers are checked against the contract, refusals come
 * back as typed errors with settlement's code, status and details, transient failures are
 * retried with the same request, and a silent or absent server is status 0, not a hang.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { SettlementApiError, SettlementClient } from '../src/settlement-client.ts';
import type { SettlementRequest } from '../src/contracts/index.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const request: SettlementRequest = {
  roomId: 'shop',
  cartVersion: 'v1',
  currency: 'IDR',
  storeId: 'toko-bdg',
  organiser: 'alice',
  split: { mode: 'equal' },
  members: [{ id: 'alice', name: 'Alice', method: 'local' }],
  lines: [{ id: 'l1', sku: 'teh-botol', qty: 5, addedBy: 'alice' }],
};

const answer = {
  id: 's_1',
  status: 'awaiting_payment',
  holdExpiresAt: '2030-01-01T00:15:00.000Z',
  total: 25000,
  payments: [
    {
      memberId: 'alice',
      paymentId: 'p_1',
      amount: 25000,
      currency: 'IDR',
      method: 'local',
      status: 'pending',
    },
  ],
};

async function failure(p: Promise<unknown>): Promise<SettlementApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SettlementApiError);
  return err as SettlementApiError;
}

describe('SettlementClient', () => {
  test('createSettlement sends the body, the token and the key, and checks the answer', async () => {
    const seen: { auth?: string; key?: string; body?: unknown }[] = [];
    const url = await serve((req, body, res) => {
      seen.push({
        auth: req.headers.authorization,
        key: req.headers['idempotency-key'] as string,
        body: JSON.parse(body),
      });
      send(res, 201, answer);
    });
    const r = await new SettlementClient({ baseUrl: url + '/' }).createSettlement(request, {
      token: 'tok',
      idempotencyKey: 'shop:v1',
    });
    expect(r.status).toBe(201);
    expect(r.settlement.id).toBe('s_1');
    expect(seen).toEqual([{ auth: 'Bearer tok', key: 'shop:v1', body: request }]);
  });

  test("a refusal is a typed error with settlement's code, status and details", async () => {
    const details = {
      storeId: 'toko-bdg',
      storeName: 'Toko Bandung',
      short: [{ sku: 'teh-botol', name: 'Teh Botol', wanted: 5, available: 3 }],
    };
    const url = await serve((_req, _body, res) =>
      send(res, 409, { error: { code: 'insufficient_stock', message: 'short', details } }),
    );
    const err = await failure(
      new SettlementClient({ baseUrl: url }).createSettlement(request, {
        token: 't',
        idempotencyKey: 'k',
        retries: 3,
      }),
    );
    expect(err).toMatchObject({ status: 409, code: 'insufficient_stock', details });
    expect(err.transient).toBe(false);
    expect(err.body).toEqual({ error: { code: 'insufficient_stock', message: 'short', details } });
  });

  test('transient failures are retried with the same request, then succeed', async () => {
    const keys: string[] = [];
    const url = await serve((req, _body, res) => {
      keys.push(req.headers['idempotency-key'] as string);
      if (keys.length <= 2)
        return send(res, 503, { error: { code: 'internal', message: 'later' } });
      send(res, 201, answer);
    });
    const retried: number[] = [];
    const r = await new SettlementClient({ baseUrl: url }).createSettlement(request, {
      token: 't',
      idempotencyKey: 'shop:v1',
      retries: 3,
      retryDelayMs: 1,
      onRetry: (e) => retried.push(e.status),
    });
    expect(r.settlement.id).toBe('s_1');
    expect(keys).toEqual(['shop:v1', 'shop:v1', 'shop:v1']);
    expect(retried).toEqual([503, 503]);
  });

  test('an answer outside the contract is bad_answer; a non-JSON error is bad_response', async () => {
    let n = 0;
    const url = await serve((_req, _body, res) =>
      ++n === 1 ? send(res, 201, { id: 's_1', status: 'shipped' }) : send(res, 400, 'oops'),
    );
    const client = new SettlementClient({ baseUrl: url });
    const bad = await failure(
      client.createSettlement(request, { token: 't', idempotencyKey: 'k' }),
    );
    expect(bad).toMatchObject({ status: 201, code: 'bad_answer' });
    const text = await failure(client.product('x'));
    expect(text).toMatchObject({ status: 400, code: 'bad_response', message: 'oops' });
  });

  test('settlement not listening, or not answering in time, is status 0 (transient)', async () => {
    const silent = await serve(() => {});
    const err = await failure(new SettlementClient({ baseUrl: silent, timeoutMs: 100 }).stock('x'));
    expect(err).toMatchObject({ status: 0, code: 'unreachable' });
    expect(err.transient).toBe(true);
    const closed = await failure(
      new SettlementClient({ baseUrl: 'http://127.0.0.1:1' }).stock('x'),
    );
    expect(closed.status).toBe(0);
  });

  test('raw passes any answer through and only throws when settlement is not reached', async () => {
    const url = await serve((_req, _body, res) =>
      send(res, 404, { error: { code: 'not_found', message: 'no' } }),
    );
    const res = await new SettlementClient({ baseUrl: url }).raw('/products/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no' } });
  });
});
