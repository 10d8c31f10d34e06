/**
 * "Patungan lagi" on the room-server (issue 13 item 6): a service reads a room's cart (notes,
 * sharedWith, split, store, budgets) and seeds a new room with a repeat of it, once; clients
 * that connect afterwards see the whole first state.
 */
import { describe, expect, test } from 'vitest';
import {
  addLine,
  initRoom,
  joinMember,
  readLines,
  readMembers,
  readMeta,
  setMeta,
} from '@patungan/model';
import { client, startServer, token, waitFor } from './helpers.ts';

async function call(base: string, method: string, path: string, tok: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tok}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('Patungan lagi: cart and seed', () => {
  test('reads a room’s cart and seeds a new room with it, once', async () => {
    const server = await startServer();
    const org = await client(server, 'old1', await token('old1', 'alice', 'organiser'));
    initRoom(org.doc, {
      name: 'Mingguan',
      currency: 'IDR',
      organiser: 'alice',
      organiserName: 'Alice',
      budget: 50_000,
    });
    const bob = await client(server, 'old1', await token('old1', 'bob'));
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'open');
    joinMember(bob.doc, 'bob', 'Bob', Date.now() + 5);
    addLine(bob.doc, { id: 'l1', sku: 'kopi', qty: 2, addedBy: 'bob', note: 'less sugar' });
    await waitFor(() => readLines(org.doc).length === 1);
    addLine(org.doc, {
      id: 'l2',
      sku: 'teh',
      qty: 1,
      addedBy: 'alice',
      sharedWith: ['alice', 'bob'],
    });
    setMeta(org.doc, 'split', { mode: 'items' });
    setMeta(org.doc, 'storeId', 'bdg-dago');
    const service = await token('old1', 'web', 'service');
    let cart: Record<string, unknown> = {};
    await waitFor(async () => {
      const r = await call(server.httpUrl, 'GET', '/rooms/old1/cart', service);
      cart = r.body;
      return r.status === 200 && (r.body.lines as unknown[]).length === 2;
    }, 'the cart on the server');
    expect(cart).toMatchObject({
      name: 'Mingguan',
      status: 'open',
      storeId: 'bdg-dago',
      budget: 50_000,
      members: [
        { id: 'alice', name: 'Alice' },
        { id: 'bob', name: 'Bob' },
      ],
      lines: [
        { id: 'l1', sku: 'kopi', qty: 2, addedBy: 'bob', note: 'less sugar' },
        { id: 'l2', sku: 'teh', qty: 1, addedBy: 'alice', sharedWith: ['alice', 'bob'] },
      ],
    });
    // A member's token cannot read it.
    const bobToken = await token('old1', 'bob');
    expect((await call(server.httpUrl, 'GET', '/rooms/old1/cart', bobToken)).status).toBe(403);

    const seed = {
      name: 'Mingguan',
      currency: 'IDR',
      organiser: 'bob',
      members: [
        { id: 'bob', name: 'Bob' },
        { id: 'alice', name: 'Alice' },
      ],
      lines: [{ id: 'l1', sku: 'kopi', qty: 1, addedBy: 'bob', note: 'less sugar' }],
      split: { mode: 'items' },
      storeId: 'bdg-dago',
      budget: 50_000,
      again: { from: 'old1', changes: [{ kind: 'fewer', sku: 'kopi', wanted: 2, available: 1 }] },
    };
    const newService = await token('new1', 'web', 'service');
    const put = await call(server.httpUrl, 'PUT', '/rooms/new1/seed', newService, seed);
    expect(put.status).toBe(201);
    // The same request again is done already; another seed for it is a conflict.
    expect((await call(server.httpUrl, 'PUT', '/rooms/new1/seed', newService, seed)).status).toBe(
      200,
    );
    const other = { ...seed, again: { from: 'elsewhere', changes: [] } };
    expect((await call(server.httpUrl, 'PUT', '/rooms/new1/seed', newService, other)).status).toBe(
      409,
    );
    // Bad input is a clear 422, and changes nothing.
    const bad = await call(
      server.httpUrl,
      'PUT',
      '/rooms/new2/seed',
      await token('new2', 'web', 'service'),
      {
        ...seed,
        lines: [{ id: 'x', sku: 'kopi', qty: 0, addedBy: 'bob' }],
      },
    );
    expect(bad.status).toBe(422);

    const alice = await client(server, 'new1', await token('new1', 'alice'));
    await waitFor(() => readLines(alice.doc).length === 1);
    expect(readMeta(alice.doc)).toMatchObject({
      organiser: 'bob',
      status: 'open',
      storeId: 'bdg-dago',
      budget: 50_000,
      split: { mode: 'items' },
      again: seed.again,
    });
    expect(readLines(alice.doc)).toEqual([
      { id: 'l1', sku: 'kopi', qty: 1, addedBy: 'bob', note: 'less sugar' },
    ]);
    expect(Object.keys(readMembers(alice.doc)).sort()).toEqual(['alice', 'bob']);
  });
});
