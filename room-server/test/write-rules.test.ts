import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import {
  addComment,
  addLine,
  computeSplit,
  initRoom,
  joinMember,
  memberOrder,
  readActivity,
  readComments,
  readLines,
  recordActivity,
  setLineSharedWith,
  setMeta,
  vote,
} from '@patungan/model';
import type { CartLine, MemberShare } from '@patungan/model';
import type { Client } from './helpers.ts';
import {
  canonical,
  client,
  json,
  rawClient,
  settled,
  startServer,
  syncUpdateFrame,
  token,
  waitFor,
} from './helpers.ts';
import type { RoomServer } from '../src/index.ts';

/** A room with an organiser (alice), two members (bob, carol), and a watcher of every change carol sees. */
async function room(server: RoomServer, roomId: string) {
  const org = await client(server, roomId, await token(roomId, 'alice', 'organiser'));
  initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
  const bob = await client(server, roomId, await token(roomId, 'bob'));
  const carol = await client(server, roomId, await token(roomId, 'carol'));
  await waitFor(
    () =>
      carol.doc.getMap('meta').get('status') === 'open' &&
      bob.doc.getMap('meta').get('status') === 'open',
  );
  /** Every state carol's document went through. */
  const seen: string[] = [];
  carol.doc.on('afterTransaction', () => seen.push(JSON.stringify(json(carol.doc))));
  return { org, bob, carol, seen };
}

/** Waits until every client has the same document as `a`, then a little longer for stragglers. */
describe('write rules with stock clients', () => {
  test("a member's write to settlement is refused, seen by nobody, and undone in the sender's document", async () => {
    const server = await startServer();
    const { org, bob, carol, seen } = await room(server, 'w1');
    bob.doc.getMap('settlement').set('status', 'completed');
    expect(bob.doc.getMap('settlement').get('status')).toBe('completed'); // locally, for a moment
    await waitFor(() => bob.denied.length === 1, 'permission denied');
    expect(bob.denied[0]).toMatch(/settlement/);
    await waitFor(() => !bob.doc.getMap('settlement').has('status'), 'sender snaps back');
    // the next allowed edit of the sender still flows
    addComment(bob.doc, { by: 'bob', text: 'sorry' });
    await waitFor(
      () =>
        carol.doc.getArray('comments').length === 1 && org.doc.getArray('comments').length === 1,
    );
    await settled(bob, carol, org);
    expect(seen.some((s) => s.includes('completed'))).toBe(false);
    expect(json(org.doc).settlement).toEqual({});
  });

  test("a member's write to meta.status is refused", async () => {
    const server = await startServer();
    const { org, bob, carol, seen } = await room(server, 'w2');
    setMeta(bob.doc, 'status', 'completed');
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'open', 'sender snaps back');
    expect(bob.denied).toHaveLength(1);
    vote(bob.doc, 'kopi', 'bob', 1);
    await waitFor(() => carol.doc.getMap('votes').get('kopi:bob') === 1);
    await settled(bob, carol, org);
    expect(seen.some((s) => s.includes('completed'))).toBe(false);
  });

  test('cart edits in a locked room are refused; the allowed parts of an offline update stay; a reconnect resurrects nothing', async () => {
    const server = await startServer();
    const { org, bob, carol, seen } = await room(server, 'w3');
    const lineId = addLine(bob.doc, { sku: 'kopi', qty: 1, addedBy: 'bob' });
    await waitFor(() => readLines(org.doc).length === 1);
    setMeta(org.doc, 'status', 'locked');
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'locked');

    // live edit while locked: change qty of an existing line
    bob.doc.getMap<Y.Map<unknown>>('lines').get(lineId)!.set('qty', 5);
    await waitFor(() => bob.denied.includes('room is locked'), 'denied');
    await waitFor(() => readLines(bob.doc)[0]!.qty === 1, 'sender snaps back');

    // offline: a comment (always allowed) and a new line plus a deleted line (refused), in one step 2
    bob.provider.disconnect();
    addComment(bob.doc, { by: 'bob', text: 'written offline' });
    addLine(bob.doc, { sku: 'teh', qty: 2, addedBy: 'bob' });
    bob.doc.getMap('lines').delete(lineId);
    expect(readLines(bob.doc).map((l) => l.sku)).toEqual(['teh']);
    bob.provider.connect();
    await waitFor(() => carol.doc.getArray('comments').length === 1, 'offline comment arrives');
    await waitFor(
      () =>
        readLines(bob.doc)
          .map((l) => l.sku)
          .join() === 'kopi',
      'sender snaps back',
    );
    await settled(bob, carol, org);
    expect(readLines(carol.doc)).toMatchObject([{ id: lineId, sku: 'kopi', qty: 1 }]);
    expect(seen.some((s) => s.includes('"teh"') || s.includes('"qty":5'))).toBe(false);

    // a reconnect (new socket, same document) brings nothing back
    bob.provider.disconnect();
    bob.provider.connect();
    await waitFor(() => bob.provider.synced, 'resync');
    addComment(bob.doc, { by: 'bob', text: 'after reconnect' });
    await waitFor(() => carol.doc.getArray('comments').length === 2);
    await settled(bob, carol, org);
    expect(readLines(org.doc)).toMatchObject([{ id: lineId, sku: 'kopi', qty: 1 }]);
    // and a brand-new client loading the room from the server sees the same
    const dave = await client(server, 'w3', await token('w3', 'dave'));
    expect(json(dave.doc)).toEqual(json(org.doc));
  });

  test('members vote and edit only as themselves; only the refused keys are reverted', async () => {
    const server = await startServer();
    const { org, bob, carol, seen } = await room(server, 'w4');
    bob.doc.transact(() => {
      vote(bob.doc, 'kopi', 'bob', 1);
      vote(bob.doc, 'kopi', 'carol', -1);
      bob.doc.getMap('members').set('bob', { name: 'Bob', joinedAt: 1 });
      bob.doc.getMap('members').set('alice', { name: 'Hacked', joinedAt: 0 });
    });
    await waitFor(() => bob.denied.length === 1);
    await settled(bob, carol, org);
    expect(carol.doc.getMap('votes').toJSON()).toEqual({ 'kopi:bob': 1 });
    expect(carol.doc.getMap('members').toJSON()).toMatchObject({
      bob: { name: 'Bob' },
      alice: { name: 'Alice' },
    });
    expect(seen.some((s) => s.includes('Hacked') || s.includes('kopi:carol'))).toBe(false);
    expect(bob.denied[0]).toMatch(/own vote/);
    expect(bob.denied[0]).toMatch(/own entry/);
  });

  test('comments are append-only for members: a deleted comment comes back, a new one stays', async () => {
    const server = await startServer();
    const { org, bob, carol } = await room(server, 'w5');
    addComment(org.doc, { by: 'alice', text: 'keep me' });
    await waitFor(() => bob.doc.getArray('comments').length === 1);
    bob.doc.transact(() => {
      bob.doc.getArray('comments').delete(0, 1);
      addComment(bob.doc, { by: 'bob', text: 'mine' });
    });
    await waitFor(() => bob.denied.length === 1);
    await settled(bob, carol, org);
    expect(
      carol.doc
        .getArray('comments')
        .toJSON()
        .map((c: { text: string }) => c.text)
        .sort(),
    ).toEqual(['keep me', 'mine']);
  });

  test('the organiser locks and reopens, but cannot settle or write the settlement', async () => {
    const server = await startServer();
    const { org, bob, carol } = await room(server, 'w6');
    setMeta(org.doc, 'status', 'locked');
    await waitFor(() => carol.doc.getMap('meta').get('status') === 'locked');
    setMeta(org.doc, 'status', 'open');
    await waitFor(() => carol.doc.getMap('meta').get('status') === 'open');
    expect(org.denied).toEqual([]);
    setMeta(org.doc, 'status', 'settling');
    org.doc.getMap('settlement').set('id', 'fake');
    await waitFor(() => org.denied.length === 2, 'two refusals (two updates)');
    await settled(org, bob, carol);
    expect(carol.doc.getMap('meta').get('status')).toBe('open');
    expect(carol.doc.getMap('settlement').toJSON()).toEqual({});
    // the organiser may still edit settings and the cart
    setMeta(org.doc, 'name', 'Renamed');
    await waitFor(() => carol.doc.getMap('meta').get('name') === 'Renamed');
  });

  test("an update using another member's Yjs client id is refused and that member's edits keep flowing", async () => {
    const server = await startServer();
    const { bob, carol } = await room(server, 'w7');
    addComment(bob.doc, { by: 'bob', text: 'first' });
    await waitFor(() => carol.doc.getArray('comments').length === 1);
    // mallory forges content with bob's client id at bob's next clock
    const forged = new Y.Doc();
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(bob.doc));
    forged.clientID = bob.doc.clientID;
    forged.getArray('comments').push([{ id: 'x', by: 'bob', text: 'forged', at: 0 }]);
    const update = Y.encodeStateAsUpdate(forged, Y.encodeStateVector(bob.doc));
    const mallory = rawClient(server, 'w7', await token('w7', 'mallory'));
    await mallory.opened;
    mallory.ws.send(syncUpdateFrame(update));
    expect((await mallory.closed).code).toBe(1008);
    addComment(bob.doc, { by: 'bob', text: 'second' });
    await waitFor(() => carol.doc.getArray('comments').length === 2);
    expect(
      carol.doc
        .getArray('comments')
        .toJSON()
        .map((c: { text: string }) => c.text),
    ).toEqual(['first', 'second']);
  });
});

/** The `items` split of a room's cart, every sku at 1,000 a unit. */
function itemsSplit(doc: Y.Doc): MemberShare[] {
  return computeSplit({
    members: memberOrder(doc),
    lines: readLines(doc).map((l) => ({
      id: l.id,
      amount: l.qty * 1000,
      addedBy: l.addedBy,
      ...(l.sharedWith ? { sharedWith: l.sharedWith } : {}),
    })),
    split: { mode: 'items' },
  });
}

const attribution = (lines: CartLine[]) =>
  lines.map((l) => `${l.sku}:${l.addedBy}:${(l.sharedWith ?? []).join('+')}`).join(' ');

describe("attribution is the writer's (docs/contracts.md, write rules)", () => {
  /** The room of `room()` with bob and carol joined, one line each, and carol's history. */
  async function joined(server: RoomServer, roomId: string) {
    const r = await room(server, roomId);
    joinMember(r.bob.doc, 'bob', 'Bob', 1);
    joinMember(r.carol.doc, 'carol', 'Carol', 2);
    addLine(r.bob.doc, { sku: 'kopi', qty: 2, addedBy: 'bob', id: 'l-bob' });
    addLine(r.carol.doc, { sku: 'teh', qty: 1, addedBy: 'carol', id: 'l-carol' });
    await waitFor(() => readLines(r.org.doc).length === 2 && memberOrder(r.org.doc).length === 3);
    await settled(r.org, r.bob, r.carol);
    /** Every (lines, comments) state carol's document went through. */
    const history: { lines: string; comments: string }[] = [];
    r.carol.doc.on('afterTransaction', () =>
      history.push({
        lines: attribution(readLines(r.carol.doc)),
        comments: readComments(r.carol.doc)
          .map((c) => `${c.by}:${c.text}`)
          .join(' '),
      }),
    );
    return { ...r, history };
  }

  /** Waits for the refusal, and for every client to be back where `before` was. */
  async function refused(who: Client, n: number, reason: RegExp, all: Client[], before: string) {
    await waitFor(() => who.denied.length === n, 'permission denied');
    expect(who.denied[n - 1]).toMatch(reason);
    await waitFor(() => all.every((c) => canonical(c.doc) === before), 'every client snaps back');
  }

  test('a new line must carry its writer as addedBy, for members and the organiser; the victim is not charged', async () => {
    const server = await startServer();
    const { org, bob, carol, history } = await joined(server, 'a1');
    const all = [org, bob, carol];
    const before = canonical(carol.doc);
    const split = itemsSplit(carol.doc);
    expect(split).toEqual([
      { memberId: 'alice', amount: 0 },
      { memberId: 'bob', amount: 2000 },
      { memberId: 'carol', amount: 1000 },
    ]);

    // bob pins a line on carol
    addLine(bob.doc, { sku: 'forged-1', qty: 50, addedBy: 'carol' });
    await refused(bob, 1, /own name|addedBy/, all, before);
    // the organiser may not either
    addLine(org.doc, { sku: 'forged-2', qty: 50, addedBy: 'bob' });
    await refused(org, 1, /own name|addedBy/, all, before);
    // nor may bob replace carol's line with one still "added by" her
    bob.doc.transact(() => {
      const m = new Y.Map<unknown>();
      m.set('sku', 'forged-3');
      m.set('qty', 99);
      m.set('addedBy', 'carol');
      bob.doc.getMap('lines').set('l-carol', m);
    });
    await refused(bob, 2, /own name|addedBy/, all, before);

    for (const c of all) expect(itemsSplit(c.doc)).toEqual(split);
    expect(history.some((h) => h.lines.includes('forged'))).toBe(false);

    // the sender's next allowed edit still flows, and so does a qty edit of another's line
    addLine(bob.doc, { sku: 'roti', qty: 1, addedBy: 'bob', id: 'l-roti' });
    bob.doc.getMap<Y.Map<unknown>>('lines').get('l-carol')!.set('qty', 3);
    await waitFor(
      () => readLines(carol.doc).length === 3 && readLines(carol.doc)[1]!.qty === 3,
      'allowed edits',
    );
    await settled(org, bob, carol);
    expect(itemsSplit(org.doc)).toEqual([
      { memberId: 'alice', amount: 0 },
      { memberId: 'bob', amount: 3000 },
      { memberId: 'carol', amount: 3000 },
    ]);
    expect(bob.denied).toHaveLength(2);
  });

  test('addedBy of an existing line cannot change, not even to the writer', async () => {
    const server = await startServer();
    const { org, bob, carol, history } = await joined(server, 'a2');
    const all = [org, bob, carol];
    const before = canonical(carol.doc);
    const split = itemsSplit(carol.doc);
    bob.doc.getMap<Y.Map<unknown>>('lines').get('l-bob')!.set('addedBy', 'carol');
    await refused(bob, 1, /addedBy/, all, before);
    bob.doc.getMap<Y.Map<unknown>>('lines').get('l-carol')!.set('addedBy', 'bob');
    await refused(bob, 2, /addedBy/, all, before);
    org.doc.getMap<Y.Map<unknown>>('lines').get('l-bob')!.set('addedBy', 'carol');
    await refused(org, 1, /addedBy/, all, before);
    for (const c of all) expect(itemsSplit(c.doc)).toEqual(split);
    expect(history.every((h) => h.lines === 'kopi:bob: teh:carol:')).toBe(true);
  });

  test('sharedWith names only current members', async () => {
    const server = await startServer();
    const { org, bob, carol, history } = await joined(server, 'a3');
    const all = [org, bob, carol];
    // dave joined once and was removed by the organiser
    org.doc
      .getMap('members')
      .set('dave', { name: 'Dave', joinedAt: 3, removedAt: '2026-01-01T00:00:00Z' });
    await waitFor(() => carol.doc.getMap('members').has('dave'));
    await settled(org, bob, carol);
    const before = canonical(carol.doc);
    const split = itemsSplit(carol.doc);

    addLine(bob.doc, { sku: 'forged-1', qty: 9, addedBy: 'bob', sharedWith: ['bob', 'zed'] });
    await refused(bob, 1, /sharedWith|current members/, all, before);
    setLineSharedWith(bob.doc, 'l-bob', ['bob', 'dave']);
    await refused(bob, 2, /sharedWith|current members/, all, before);
    // a member who joins in the same update is no excuse: bob cannot add carol's friend
    bob.doc.transact(() => {
      bob.doc.getMap('members').set('eve', { name: 'Eve', joinedAt: 4 });
      setLineSharedWith(bob.doc, 'l-bob', ['bob', 'eve']);
    });
    await refused(bob, 3, /sharedWith|current members/, all, before);
    for (const c of all) expect(itemsSplit(c.doc)).toEqual(split);
    expect(history.some((h) => /zed|dave|eve|forged/.test(h.lines))).toBe(false);

    // sharing with current members is allowed, also on another member's line
    setLineSharedWith(bob.doc, 'l-carol', ['bob', 'carol']);
    await waitFor(() => attribution(readLines(org.doc)).includes('teh:carol:bob+carol'));
    await settled(org, bob, carol);
    expect(bob.denied).toHaveLength(3);
  });

  test("a new comment must be by its writer; the sender's next comment still flows", async () => {
    const server = await startServer();
    const { org, bob, carol, history } = await joined(server, 'a4');
    const all = [org, bob, carol];
    const before = canonical(carol.doc);
    addComment(bob.doc, { by: 'carol', text: 'forged: I will pay for everything' });
    await refused(bob, 1, /your own name|by/, all, before);
    addComment(org.doc, { by: 'bob', text: 'forged: bob agrees' });
    await refused(org, 1, /your own name|by/, all, before);
    addComment(bob.doc, { by: 'bob', text: 'mine' });
    await waitFor(() => readComments(carol.doc).length === 1);
    await settled(org, bob, carol);
    expect(readComments(org.doc).map((c) => `${c.by}:${c.text}`)).toEqual(['bob:mine']);
    expect(history.some((h) => h.comments.includes('forged'))).toBe(false);
  });
});

describe('the history (activity)', () => {
  const kinds = (doc: Y.Doc) =>
    readActivity(doc)
      .map((r) => `${r.by}:${r.type}`)
      .join(' ');

  test("entries travel with the change in the writer's name; others' names, deletions and cart entries of a locked room are refused", async () => {
    const server = await startServer();
    const { org, bob, carol } = await room(server, 'h1');
    // an edit and its entry in one transaction, as the web app writes them
    bob.doc.transact(() => {
      addLine(bob.doc, { sku: 'kopi', qty: 1, addedBy: 'bob', id: 'l1' });
      recordActivity(bob.doc, 'bob', [{ type: 'added', line: 'l1', sku: 'kopi', qty: 1 }]);
    });
    await waitFor(() => kinds(carol.doc) === 'bob:added', 'the entry arrives');
    expect(bob.denied).toEqual([]);

    const before = canonical(carol.doc);
    recordActivity(bob.doc, 'carol', [{ type: 'voted', sku: 'kopi', value: -1 }]);
    await waitFor(() => bob.denied.length === 1, 'an entry in another name is refused');
    recordActivity(bob.doc, 'bob', [{ type: 'finalised' }]);
    await waitFor(() => bob.denied.length === 2, "an organiser's kind is refused");
    bob.doc.getArray('activity').delete(0, 1);
    await waitFor(() => bob.denied.length === 3, 'a deletion is refused');
    expect(bob.denied.every((r) => /history/.test(r))).toBe(true);
    await waitFor(() => [org, bob, carol].every((c) => canonical(c.doc) === before), 'snap back');

    setMeta(org.doc, 'status', 'locked');
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'locked');
    recordActivity(bob.doc, 'bob', [{ type: 'voted', sku: 'kopi', value: 1 }]);
    await waitFor(() => bob.denied.length === 4, 'a cart entry in a locked room is refused');
    recordActivity(org.doc, 'alice', [{ type: 'status', status: 'locked' }]);
    await waitFor(() => kinds(carol.doc) === 'bob:added alice:status', "the organiser's entry");
    await settled(org, bob, carol);
    expect(org.denied).toEqual([]);
  });
});
