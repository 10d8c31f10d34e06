/**
 * The activity feed is the room's history, read from the document: the same on every device
 * and after a reload, with who did what (a removal names who removed), payments and covers
 * from the settlement map.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addComment,
  addLine,
  initRoom,
  joinMember,
  recordActivity,
  removeLine,
  setLineNote,
  setLineQty,
  setLineSharedWith,
  setMeta,
  settlementMap,
  vote,
} from '@patungan/model';
import {
  ActivityFeed,
  diffActivity,
  readFeed,
  snapshotForActivity,
} from '../src/lib/room/activity.ts';

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

let clock = 1000;
const tick = () => ++clock;

/** A write as the room page makes it: the change and its history entry in one transaction. */
function write(doc: Y.Doc, me: string, fn: () => void): void {
  doc.transact(() => {
    const before = snapshotForActivity(doc, me);
    fn();
    recordActivity(doc, me, diffActivity(before, snapshotForActivity(doc, me), doc), tick());
  });
}

/** A device that opens the room later: a fresh document from the stored state. */
function reload(doc: Y.Doc): Y.Doc {
  const fresh = new Y.Doc();
  Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc));
  return fresh;
}

const plain = (doc: Y.Doc) => readFeed(doc).map((e) => [e.actor, e.kind]);

describe('activity feed', () => {
  it('is the same on a reload and on a second device, and names who removed a line', () => {
    const { a, b } = pair();
    initRoom(a, { name: 'Kos', currency: 'IDR', organiser: 'ani', organiserName: 'Ani', now: 1 });
    joinMember(b, 'budi', 'Budi', 2);
    let line = '';
    write(a, 'ani', () => (line = addLine(a, { sku: 'indomie', qty: 2, addedBy: 'ani' })));
    write(b, 'budi', () => setLineQty(b, line, 5));
    write(b, 'budi', () => vote(b, 'indomie', 'budi', 1));
    addComment(b, { by: 'budi', text: 'yang pedas ya', sku: 'indomie', at: tick() });
    write(b, 'budi', () => removeLine(b, line));
    write(a, 'ani', () => setMeta(a, 'storeId', 's1'));

    const want = [
      ['ani', { type: 'store', storeId: 's1' }],
      ['budi', { type: 'removed', line, sku: 'indomie', qty: 5 }],
      ['budi', { type: 'commented', sku: 'indomie', text: 'yang pedas ya' }],
      ['budi', { type: 'voted', sku: 'indomie', value: 1 }],
      ['budi', { type: 'qty', line, sku: 'indomie', from: 2, to: 5 }],
      ['ani', { type: 'added', line, sku: 'indomie', qty: 2 }],
      ['budi', { type: 'joined' }],
      ['ani', { type: 'joined' }],
    ];
    expect(plain(a)).toEqual(want);
    expect(plain(b)).toEqual(want);
    expect(plain(reload(a))).toEqual(want);
    // The live feed of a device that opens the room now starts with the whole history.
    const feed = new ActivityFeed(reload(b));
    expect(feed.entries.map((e) => [e.actor, e.kind])).toEqual(want);
    feed.destroy();
  });

  it('records notes, sharing, votes taken back and the organiser’s settings', () => {
    const doc = new Y.Doc();
    initRoom(doc, { name: 'Kos', currency: 'IDR', organiser: 'ani', organiserName: 'Ani' });
    joinMember(doc, 'budi', 'Budi');
    let line = '';
    write(doc, 'ani', () => (line = addLine(doc, { sku: 'teh', qty: 1, addedBy: 'ani' })));
    write(doc, 'ani', () => setLineNote(doc, line, 'yang dingin'));
    write(doc, 'ani', () => setLineSharedWith(doc, line, ['ani', 'budi']));
    write(doc, 'ani', () => vote(doc, 'teh', 'ani', -1));
    write(doc, 'ani', () => vote(doc, 'teh', 'ani', 0));
    write(doc, 'ani', () => setMeta(doc, 'split', { mode: 'half' }));
    write(doc, 'ani', () => setMeta(doc, 'status', 'locked'));
    const kinds = readFeed(doc)
      .filter((e) => e.kind.type !== 'joined')
      .map((e) => e.kind)
      .reverse();
    expect(kinds).toEqual([
      { type: 'added', line, sku: 'teh', qty: 1 },
      { type: 'note', line, sku: 'teh', note: 'yang dingin' },
      { type: 'shared', line, sku: 'teh', count: 2 },
      { type: 'voted', sku: 'teh', value: -1 },
      { type: 'voted', sku: 'teh', value: 0 },
      { type: 'split', mode: 'half' },
      { type: 'status', status: 'locked' },
    ]);
  });

  it('shows payments and covers from the settlement map, after the finalise', () => {
    const doc = new Y.Doc();
    initRoom(doc, {
      name: 'Kos',
      currency: 'IDR',
      organiser: 'ani',
      organiserName: 'Ani',
      now: tick(),
    });
    joinMember(doc, 'budi', 'Budi', tick());
    joinMember(doc, 'citra', 'Citra', tick());
    write(doc, 'ani', () => addLine(doc, { sku: 'teh', qty: 3, addedBy: 'ani' }));
    recordActivity(doc, 'ani', [{ type: 'finalised' }], tick());
    const s = settlementMap(doc);
    s.set('id', 'set1');
    s.set('status', 'awaiting_payment');
    s.set('payments', {
      ani: { amount: 5000, currency: 'IDR', status: 'captured', method: 'local' },
      budi: { amount: 5000, currency: 'IDR', status: 'pending', method: 'local' },
      citra: {
        amount: 5000,
        currency: 'IDR',
        status: 'covered',
        method: 'local',
        coveredBy: 'ani',
      },
    });
    const feed = readFeed(reload(doc));
    const top = feed.slice(0, 4).map((e) => [e.actor, e.at, e.kind]);
    expect(top).toEqual([
      [null, null, { type: 'settlement', status: 'awaiting_payment' }],
      [
        'ani',
        null,
        {
          type: 'payment',
          member: 'citra',
          status: 'covered',
          amount: 5000,
          currency: 'IDR',
          coveredBy: 'ani',
        },
      ],
      [
        'ani',
        null,
        { type: 'payment', member: 'ani', status: 'captured', amount: 5000, currency: 'IDR' },
      ],
      ['ani', expect.any(Number), { type: 'finalised' }],
    ]);
    // Budi has not paid: no entry for a pending payment.
    expect(feed.some((e) => e.kind.type === 'payment' && e.kind.member === 'budi')).toBe(false);
  });

  it('orders payments and joins the same on every device, whatever order they arrived in', () => {
    // Two devices that integrate the same members in another order: a Y.Map then iterates
    // them in that order. The feed must not follow it.
    const members = new Y.Doc();
    initRoom(members, {
      name: 'Kos',
      currency: 'IDR',
      organiser: 'ani',
      organiserName: 'Ani',
      now: 5,
    });
    const budi = new Y.Doc();
    joinMember(budi, 'budi', 'Budi', 5);
    const a = new Y.Doc();
    const b = new Y.Doc();
    for (const [doc, first, second] of [
      [a, members, budi],
      [b, budi, members],
    ] as const) {
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(first));
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(second));
    }
    const s = settlementMap(members);
    members.transact(() => {
      s.set('id', 'set1');
      s.set('status', 'paid');
      s.set('payments', {
        budi: {
          amount: 4500,
          currency: 'IDR',
          status: 'covered',
          method: 'local',
          coveredBy: 'ani',
        },
        ani: { amount: 4500, currency: 'IDR', status: 'captured', method: 'local' },
      });
    });
    const paid = Y.encodeStateAsUpdate(members);
    Y.applyUpdate(a, paid);
    Y.applyUpdate(b, paid);
    const ids = (doc: Y.Doc) => readFeed(doc).map((e) => e.id);
    expect(ids(a)).toEqual(ids(b));
    // organiser first (member order), then the others
    expect(ids(a).filter((id) => id.startsWith('p:'))).toEqual([
      'p:set1:budi:covered',
      'p:set1:ani:captured',
    ]);
  });
});
