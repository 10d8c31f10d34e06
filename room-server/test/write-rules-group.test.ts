/**
 * Write rules for issue 13's group features, with stock clients on a real room-server: a member
 * chooses to pay their own overage in their own entry (and nobody else can choose it for them);
 * a chat message is written in the writer's own name.
 */
import { describe, expect, test } from 'vitest';
import {
  addComment,
  initRoom,
  joinMember,
  readComments,
  readMembers,
  setMeta,
  setPaysOverage,
} from '@patungan/model';
import { client, settled, startServer, token, waitFor } from './helpers.ts';

async function room(roomId: string) {
  const server = await startServer();
  const org = await client(server, roomId, await token(roomId, 'alice', 'organiser'));
  initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
  const bob = await client(server, roomId, await token(roomId, 'bob'));
  const carol = await client(server, roomId, await token(roomId, 'carol'));
  await waitFor(() => bob.doc.getMap('meta').get('status') === 'open');
  joinMember(bob.doc, 'bob', 'Bob', 1);
  joinMember(carol.doc, 'carol', 'Carol', 2);
  await waitFor(() => Object.keys(readMembers(org.doc)).length === 3);
  return { org, bob, carol };
}

describe('group write rules', () => {
  test('a member pays their own overage by their own choice; the organiser sets budgets, not that choice', async () => {
    const { org, bob, carol } = await room('g1');
    setPaysOverage(bob.doc, 'bob', true);
    await waitFor(() => readMembers(org.doc).bob?.paysOverage === true, 'bob’s choice arrives');
    expect(bob.denied).toEqual([]);

    // The organiser may change budgets while the room is open …
    setMeta(org.doc, 'budgets', { bob: 50_000, carol: 80_000 });
    await waitFor(() => carol.doc.getMap('meta').get('budgets') !== undefined);
    // … but not opt carol in, nor bob out; carol cannot touch bob's choice either.
    setPaysOverage(org.doc, 'carol', true);
    await waitFor(() => org.denied.length === 1, 'the organiser is refused');
    expect(org.denied[0]).toMatch(/own overage/);
    setPaysOverage(org.doc, 'bob', false);
    await waitFor(() => org.denied.length === 2);
    carol.doc.getMap('members').set('bob', { name: 'Bob', joinedAt: 1 });
    await waitFor(() => carol.denied.length === 1);
    // A member cannot change budgets.
    setMeta(bob.doc, 'budgets', { bob: 1_000_000 });
    await waitFor(() => bob.denied.length === 1);
    expect(bob.denied[0]).toMatch(/organiser/);
    // Only a boolean true or nothing.
    carol.doc.getMap('members').set('carol', { name: 'Carol', joinedAt: 2, paysOverage: 'yes' });
    await waitFor(() => carol.denied.length === 2);

    await settled(org, bob, carol);
    for (const c of [org, bob, carol]) {
      expect(readMembers(c.doc).bob?.paysOverage).toBe(true);
      expect(readMembers(c.doc).carol?.paysOverage).toBeUndefined();
      expect(c.doc.getMap('meta').get('budgets')).toEqual({ bob: 50_000, carol: 80_000 });
    }
  });

  test('a chat message is written in the writer’s own name', async () => {
    const { org, bob, carol } = await room('g2');
    addComment(bob.doc, { by: 'carol', text: 'I am carol, honest' });
    await waitFor(() => bob.denied.length === 1);
    expect(bob.denied[0]).toMatch(/own name/);
    addComment(bob.doc, { by: 'bob', text: 'halo semua' });
    await settled(org, bob, carol);
    for (const c of [org, bob, carol]) {
      expect(readComments(c.doc).map((m) => [m.by, m.text])).toEqual([['bob', 'halo semua']]);
    }
  });
});
