import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, addLine, initRoom, readLines, setMeta, vote } from '@patungan/model';
import type { Client } from './helpers.ts';
import {
  client,
  json,
  rawClient,
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
async function settled(...clients: Client[]) {
  const [first, ...rest] = clients;
  await waitFor(
    () => rest.every((c) => JSON.stringify(json(c.doc)) === JSON.stringify(json(first!.doc))),
    'convergence',
  );
}

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
