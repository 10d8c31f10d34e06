/**
 * The settlement contracts as code (model/src/contracts): the request, the status delivered
 * into a room, a stock refusal and the catalog shapes accept what the contract allows and
 * refuse the rest, naming the field; the vocabulary is one list each.
 */
import { describe, expect, test } from 'vitest';
import {
  InsufficientStockDetailsSchema,
  NearbyStoreSchema,
  PAYMENT_METHODS,
  PAYMENT_STATUSES,
  ProductSchema,
  SETTLEMENT_STATUSES,
  SettlementErrorBodySchema,
  SettlementPutSchema,
  SettlementRequestSchema,
  roomStatusFor,
  type SettlementRequest,
} from '../src/contracts/index.ts';
import * as model from '../src/index.ts';

const request = (): SettlementRequest => ({
  roomId: 'shop-1',
  cartVersion: 'v1',
  currency: 'IDR',
  storeId: 'jkt-menteng',
  organiser: 'alice',
  split: { mode: 'equal' },
  members: [
    { id: 'alice', name: 'Alice', method: 'stripe' },
    { id: 'bob', name: 'Bob' },
  ],
  lines: [{ id: 'l1', sku: 'teh-botol', qty: 2, addedBy: 'bob', sharedWith: ['alice', 'bob'] }],
});

/** The dotted path of each issue of a failed parse. */
function failedPaths(schema: { safeParse(v: unknown): unknown }, value: unknown): string[] {
  const r = schema.safeParse(value) as {
    success: boolean;
    error?: { issues: { path: PropertyKey[] }[] };
  };
  expect(r.success).toBe(false);
  return r.error!.issues.map((i) => i.path.map(String).join('.'));
}

describe('settlement request (POST /settlements)', () => {
  test('a finalised cart parses; a member without a method pays `local`', () => {
    const r = SettlementRequestSchema.parse(request());
    expect(r.members.map((m) => m.method)).toEqual(['stripe', 'local']);
    expect(r.lines[0]).toMatchObject({ sku: 'teh-botol', qty: 2 });
  });

  test.each([
    [
      'an unknown payment method',
      { members: [{ id: 'a', name: 'A', method: 'cash' }] },
      'members.0.method',
    ],
    ['an empty cart', { lines: [] }, 'lines'],
    [
      'a fractional quantity',
      { lines: [{ id: 'l', sku: 's', qty: 1.5, addedBy: 'a' }] },
      'lines.0.qty',
    ],
    ['a zero quantity', { lines: [{ id: 'l', sku: 's', qty: 0, addedBy: 'a' }] }, 'lines.0.qty'],
    ['an unknown currency', { currency: 'XXQ' }, 'currency'],
    ['a room id with a slash', { roomId: 'a/b' }, 'roomId'],
    ['an unknown split mode', { split: { mode: 'random' } }, 'split.mode'],
    ['a NUL in a name', { members: [{ id: 'a', name: 'A\u0000' }] }, 'members.0.name'],
    ['no store', { storeId: '' }, 'storeId'],
  ])('%s is refused, naming the field', (_what, change, path) => {
    expect(failedPaths(SettlementRequestSchema, { ...request(), ...change })).toContain(path);
  });

  test('a body that is not an object is refused', () => {
    expect(SettlementRequestSchema.safeParse(null).success).toBe(false);
    expect(SettlementRequestSchema.safeParse('{}').success).toBe(false);
  });
});

describe('status into the room (PUT /rooms/<id>/settlement)', () => {
  const put = {
    seq: 7,
    settlement: {
      id: 's_1',
      status: 'awaiting_payment',
      holdExpiresAt: '2030-01-01T00:15:00.000Z',
      total: 25000,
      currency: 'IDR',
      storeId: 'jkt-menteng',
      payments: {
        alice: { amount: 12500, currency: 'IDR', status: 'pending', method: 'local' },
        bob: {
          amount: 12500,
          currency: 'IDR',
          status: 'covered',
          method: 'store',
          coveredBy: 'alice',
        },
      },
    },
  };

  test("the outbox's full state parses, and fields beyond the contract pass through", () => {
    const r = SettlementPutSchema.parse({ ...put, settlement: { ...put.settlement, extra: 1 } });
    expect(r.settlement.payments).toEqual(put.settlement.payments);
    expect((r.settlement as Record<string, unknown>).extra).toBe(1);
  });

  test('only id and status are required (a late message about an ended settlement)', () => {
    expect(
      SettlementPutSchema.safeParse({ seq: 0, settlement: { id: 's', status: 'expired' } }).success,
    ).toBe(true);
  });

  test.each([
    ['a negative seq', { seq: -1 }, 'seq'],
    ['a fractional seq', { seq: 1.5 }, 'seq'],
    [
      'an unknown settlement status',
      { settlement: { id: 's', status: 'shipped' } },
      'settlement.status',
    ],
    ['an empty id', { settlement: { id: '', status: 'paid' } }, 'settlement.id'],
    [
      'an unknown payment status',
      {
        settlement: {
          id: 's',
          status: 'paid',
          payments: { a: { amount: 1, currency: 'IDR', status: 'lost', method: 'local' } },
        },
      },
      'settlement.payments',
    ],
  ])('%s is refused', (_what, change, path) => {
    expect(
      failedPaths(SettlementPutSchema, { ...put, ...change }).some((p) => p.startsWith(path)),
    ).toBe(true);
  });
});

describe('refusals', () => {
  test('409 insufficient_stock carries the store and each short product by name', () => {
    const body = {
      error: {
        code: 'insufficient_stock',
        message: 'Toko cannot hold 5 × Teh Botol (3 left)',
        details: {
          storeId: 'toko-bdg',
          storeName: 'Toko Bandung',
          short: [{ sku: 'teh-botol', name: 'Teh Botol', wanted: 5, available: 3 }],
        },
      },
    };
    const e = SettlementErrorBodySchema.parse(body);
    const d = InsufficientStockDetailsSchema.parse(e.error.details);
    expect(d.short[0]!.name).toBe('Teh Botol');
    // an older settlement's refusal naming only skus does not pass as a named one
    expect(
      InsufficientStockDetailsSchema.safeParse({
        short: [{ sku: 'teh-botol', wanted: 5, available: 3 }],
      }).success,
    ).toBe(false);
  });

  test('an error body without a code is not an error body', () => {
    expect(SettlementErrorBodySchema.safeParse({ error: { message: 'x' } }).success).toBe(false);
  });
});

describe('catalog shapes', () => {
  test('a product with an integer price parses; a fractional or negative price does not', () => {
    const p = {
      sku: 'teh-botol',
      name: 'Teh Botol',
      category: 'minuman',
      description: '',
      price: 5000,
      currency: 'IDR',
      image: '/img/products/teh-botol.svg',
    };
    expect(ProductSchema.parse(p)).toEqual(p);
    expect(failedPaths(ProductSchema, { ...p, price: 49.5 })).toEqual(['price']);
    expect(failedPaths(ProductSchema, { ...p, price: -1 })).toEqual(['price']);
  });

  test('a nearby store without a point has a null distance', () => {
    const s = {
      id: 'x',
      name: 'X',
      address: 'a',
      city: 'c',
      region: 'r',
      lat: 0,
      lng: 0,
      openingHours: '08-22',
      distanceKm: null,
      availability: [{ sku: 'a', wanted: 2, available: 1 }],
      canFulfil: false,
    };
    expect(NearbyStoreSchema.parse(s).distanceKm).toBeNull();
    expect(failedPaths(NearbyStoreSchema, { ...s, canFulfil: undefined })).toEqual(['canFulfil']);
  });
});

describe('vocabulary', () => {
  test('each list has no repeats and the package index exports the same lists', () => {
    for (const list of [SETTLEMENT_STATUSES, PAYMENT_STATUSES, PAYMENT_METHODS]) {
      expect(new Set(list).size).toBe(list.length);
    }
    expect(model.SETTLEMENT_STATUSES).toBe(SETTLEMENT_STATUSES);
    expect(model.PAYMENT_METHODS).toBe(PAYMENT_METHODS);
  });

  test('every settlement status maps to a room status', () => {
    const room = Object.fromEntries(SETTLEMENT_STATUSES.map((s) => [s, roomStatusFor(s)]));
    expect(room).toEqual({
      awaiting_payment: 'settling',
      paid: 'settling',
      packed: 'settling',
      ready_for_pickup: 'settling',
      completed: 'completed',
      expired: 'open',
      cancelled: 'open',
    });
  });
});
