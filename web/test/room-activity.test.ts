import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addComment,
  addLine,
  initRoom,
  removeLine,
  setLineQty,
  setMeta,
  settlementMap,
  vote,
} from '@patungan/model';
import { ActivityFeed } from '../src/lib/room/activity.ts';

/** Two docs wired together like two browsers through a server. */
function pair() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on(
    'update',
    (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b, u, 'remote'),
  );
  b.on(
    'update',
    (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(a, u, 'remote'),
  );
  return { a, b };
}

describe('activity feed', () => {
  it('describes remote and local cart changes with their author', () => {
    const { a, b } = pair();
    initRoom(a, { name: 'Kos', currency: 'IDR', organiser: 'ani', organiserName: 'Ani' });
    const clients = new Map([
      [a.clientID, 'ani'],
      [b.clientID, 'budi'],
    ]);
    const feed = new ActivityFeed(a, {
      me: 'ani',
      actorOf: (c) => clients.get(c) ?? null,
      now: () => 1,
    });
    feed.quiet = false;
    const id = addLine(b, { sku: 'indomie', qty: 2, addedBy: 'budi' });
    setLineQty(b, id, 5);
    vote(b, 'indomie', 'budi', 1);
    addComment(b, { by: 'budi', text: 'yang pedas ya', sku: 'indomie' });
    setMeta(a, 'storeId', 's1', 'me');
    removeLine(a, id, 'me');
    const kinds = [...feed.entries].reverse().map((e) => [e.actor, e.local, e.kind]);
    expect(kinds).toEqual([
      ['budi', false, { type: 'added', sku: 'indomie', qty: 2 }],
      ['budi', false, { type: 'qty', sku: 'indomie', from: 2, to: 5 }],
      ['budi', false, { type: 'voted', sku: 'indomie', value: 1 }],
      ['budi', false, { type: 'commented', sku: 'indomie', text: 'yang pedas ya' }],
      ['ani', true, { type: 'store', storeId: 's1' }],
      ['ani', true, { type: 'removed', sku: 'indomie', qty: 5 }],
    ]);
    feed.destroy();
  });

  it('stays quiet while the document loads, then reports', () => {
    const { a, b } = pair();
    const feed = new ActivityFeed(a, { me: 'ani', actorOf: () => null });
    addLine(b, { sku: 'teh', qty: 1, addedBy: 'budi' });
    expect(feed.entries).toEqual([]);
    feed.quiet = false;
    const id = addLine(b, { sku: 'kopi', qty: 1, addedBy: 'budi' });
    setLineQty(b, id, 3);
    expect(feed.entries.map((e) => e.kind.type)).toEqual(['qty', 'added']);
    // Unknown client: the qty change has no known author.
    expect(feed.entries[0]!.actor).toBeNull();
    feed.destroy();
  });

  it('reports room status changes once, and the service side without an author', () => {
    const { a, b } = pair();
    initRoom(a, { name: 'Kos', currency: 'IDR', organiser: 'ani', organiserName: 'Ani' });
    const clients = new Map([[a.clientID, 'ani']]);
    const feed = new ActivityFeed(b, { me: 'budi', actorOf: (c) => clients.get(c) ?? null });
    feed.quiet = false;
    setMeta(a, 'status', 'locked');
    // The service writes status and settlement together, and rewrites them on every delivery.
    const service = new Y.Doc();
    Y.applyUpdate(service, Y.encodeStateAsUpdate(b));
    service.on('update', (u: Uint8Array) => Y.applyUpdate(b, u, 'service'));
    for (let i = 0; i < 3; i++) {
      service.transact(() => {
        setMeta(service, 'status', 'settling');
        settlementMap(service).set('status', 'awaiting_payment');
      });
    }
    expect([...feed.entries].reverse().map((e) => [e.actor, e.kind])).toEqual([
      ['ani', { type: 'status', status: 'locked' }],
      [null, { type: 'status', status: 'settling' }],
      [null, { type: 'settlement', status: 'awaiting_payment' }],
    ]);
    feed.destroy();
  });
});
