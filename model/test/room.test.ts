import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import {
  addComment,
  addLine,
  cartSnapshot,
  initRoom,
  joinMember,
  memberOrder,
  readComments,
  readLines,
  readMeta,
  readVotes,
  removeLine,
  roomStatus,
  setLineNote,
  setLineQty,
  setLineSharedWith,
  setMeta,
  vote,
} from '../src/index.ts';

function room(): Y.Doc {
  const doc = new Y.Doc();
  initRoom(doc, { name: 'Kos', currency: 'IDR', organiser: 'org', organiserName: 'Ana', now: 1 });
  joinMember(doc, 'budi', 'Budi', 3);
  joinMember(doc, 'sari', 'Sari', 2);
  return doc;
}

describe('room document', () => {
  it('a room with no meta.status counts as open; initRoom runs once', () => {
    const doc = new Y.Doc();
    expect(roomStatus(doc)).toBe('open');
    expect(readMeta(doc)).toBeNull();
    initRoom(doc, { name: 'A', currency: 'IDR', organiser: 'o' });
    setMeta(doc, 'status', 'locked');
    initRoom(doc, { name: 'B', currency: 'USD', organiser: 'x' });
    expect(readMeta(doc)).toMatchObject({
      name: 'A',
      currency: 'IDR',
      organiser: 'o',
      status: 'locked',
    });
    expect(() => initRoom(new Y.Doc(), { name: 'A', currency: 'ZZZ', organiser: 'o' })).toThrow();
  });

  it('orders members organiser first, then by join time', () => {
    expect(memberOrder(room())).toEqual(['org', 'sari', 'budi']);
  });

  it('adds, changes and removes lines', () => {
    const doc = room();
    const id = addLine(doc, { sku: 'IDM-1', qty: 2, addedBy: 'budi' });
    setLineQty(doc, id, 3);
    setLineNote(doc, id, 'pedas');
    setLineSharedWith(doc, id, ['budi', 'sari']);
    expect(readLines(doc)).toEqual([
      { id, sku: 'IDM-1', qty: 3, addedBy: 'budi', note: 'pedas', sharedWith: ['budi', 'sari'] },
    ]);
    expect(() => setLineQty(doc, id, 0)).toThrow(/quantity/);
    expect(() => setLineQty(doc, id, 1.5)).toThrow(/quantity/);
    removeLine(doc, id);
    expect(readLines(doc)).toEqual([]);
  });

  it('keeps comments and flat votes', () => {
    const doc = room();
    addComment(doc, { by: 'sari', text: ' coba yang ini ', sku: 'TEH-1', at: 5 });
    expect(readComments(doc)).toMatchObject([{ by: 'sari', text: 'coba yang ini', sku: 'TEH-1' }]);
    expect(() => addComment(doc, { by: 'sari', text: '   ' })).toThrow();
    vote(doc, 'TEH-1', 'sari', 1);
    vote(doc, 'TEH-1', 'budi', -1);
    vote(doc, 'TEH-1', 'org', 1);
    vote(doc, 'TEH-1', 'org', 0);
    expect(readVotes(doc)).toEqual({ 'TEH-1': { score: 0, byMember: { sari: 1, budi: -1 } } });
  });

  it('concurrent votes by two members never conflict', () => {
    const a = room();
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    vote(a, 'X', 'sari', 1);
    vote(b, 'X', 'budi', 1);
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    expect(readVotes(a)).toEqual(readVotes(b));
    expect(readVotes(a).X?.score).toBe(2);
  });

  it('cart version is stable for equal carts and changes with the cart', () => {
    const a = room();
    addLine(a, { id: 'l1', sku: 'A', qty: 1, addedBy: 'org' });
    addLine(a, { id: 'l2', sku: 'B', qty: 2, addedBy: 'budi' });
    const b = room();
    // Same content added in another order, on another doc.
    addLine(b, { id: 'l2', sku: 'B', qty: 2, addedBy: 'budi' });
    addLine(b, { id: 'l1', sku: 'A', qty: 1, addedBy: 'org' });
    const sa = cartSnapshot(a, 'r1');
    expect(sa.cartVersion).toBe(cartSnapshot(b, 'r1').cartVersion);
    expect(sa.members.map((m) => m.id)).toEqual(['org', 'sari', 'budi']);
    setLineQty(b, 'l2', 3);
    expect(cartSnapshot(b, 'r1').cartVersion).not.toBe(sa.cartVersion);
  });
});
