/**
 * Bounds on what one member can put into a room (issue 10 item 8, docs/contracts.md
 * "Limits"): a comment's text, a line's note, a member's name, and the room's whole document
 * (`MAX_ROOM_BYTES`). A write past them is refused like any forbidden write — applied and
 * reverted in one step, so the sender snaps back and its next edits still flow — and the
 * refused bytes reach nobody. Also (item 12): a close reason never carries exception text.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { addLine, initRoom, joinMember, readComments, readLines } from '@patungan/model';
import { configFromEnv } from '../src/index.ts';
import type { RoomServer } from '../src/index.ts';
import type { Client } from './helpers.ts';
import {
  client,
  rawClient,
  settled,
  startServer,
  syncUpdateFrame,
  tempDir,
  token,
  waitFor,
} from './helpers.ts';

async function room(server: RoomServer, roomId: string) {
  const org = await client(server, roomId, await token(roomId, 'alice', 'organiser'));
  initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
  const bob = await client(server, roomId, await token(roomId, 'bob'));
  const carol = await client(server, roomId, await token(roomId, 'carol'));
  joinMember(bob.doc, 'bob', 'Bob', 1);
  await waitFor(() => carol.doc.getMap('members').has('bob'));
  return { org, bob, carol };
}

/** Pushes a comment as the stock client would, without the model's up-front length check. */
const push = (c: Client, by: string, text: string, id: string) =>
  c.doc.getArray('comments').push([{ id, by, text, at: 1 }]);

const size = (doc: Y.Doc) => Y.encodeStateAsUpdate(doc).byteLength;

describe('limits on what a member writes', () => {
  test('a comment of 2,000 characters is accepted, 2,001 refused; 22 comments of 1.9 MB do not grow the room', async () => {
    const server = await startServer();
    const { org, bob, carol } = await room(server, 'l1');
    push(bob, 'bob', 'a'.repeat(2000), 'c1');
    await waitFor(() => readComments(carol.doc).length === 1, 'a 2,000-character comment');
    push(bob, 'bob', 'b'.repeat(2001), 'c2');
    await waitFor(() => bob.denied.length === 1, 'refused');
    expect(bob.denied[0]).toMatch(/2,000 characters/);
    await waitFor(() => readComments(bob.doc).length === 1, 'the sender snaps back');

    const before = size(server.rooms.get('l1')!.doc);
    for (let i = 0; i < 22; i++) {
      push(bob, 'bob', 'x'.repeat(1_900_000), `big${i}`);
      await waitFor(() => bob.denied.length === 2 + i, `big comment ${i} refused`);
    }
    push(bob, 'bob', 'still here', 'c3');
    await waitFor(() => readComments(carol.doc).length === 2, 'the next comment flows');
    await settled(org, bob, carol);
    expect(readComments(carol.doc).map((c) => c.id)).toEqual(['c1', 'c3']);
    // the room did not grow by the refused bytes, and nobody holds them
    const after = size(server.rooms.get('l1')!.doc);
    expect(after - before).toBeLessThan(10_000);
    for (const c of [org, bob, carol]) expect(size(c.doc)).toBeLessThan(after + 10_000);
  });

  test('a line note has at most 500 characters and a member name at most 200', async () => {
    const server = await startServer();
    const { org, bob, carol } = await room(server, 'l2');
    addLine(bob.doc, { sku: 'kopi', qty: 1, addedBy: 'bob', id: 'l-bob' });
    await waitFor(() => readLines(carol.doc).length === 1);
    const line = bob.doc.getMap<Y.Map<unknown>>('lines').get('l-bob')!;
    line.set('note', 'n'.repeat(501));
    await waitFor(() => bob.denied.length === 1, 'long note refused');
    expect(bob.denied[0]).toMatch(/note/);
    await waitFor(() => !line.has('note'), 'the sender snaps back');
    line.set('note', 'n'.repeat(500));
    await waitFor(() => readLines(carol.doc)[0]?.note?.length === 500, 'a 500-character note');

    bob.doc.getMap('members').set('bob', { name: 'B'.repeat(201), joinedAt: 1 });
    await waitFor(() => bob.denied.length === 2, 'long name refused');
    expect(bob.denied[1]).toMatch(/name/);
    await waitFor(() => (bob.doc.getMap('members').get('bob') as { name: string }).name === 'Bob');
    joinMember(bob.doc, 'bob', 'B'.repeat(200), 1);
    await waitFor(
      () => (carol.doc.getMap('members').get('bob') as { name: string }).name.length === 200,
    );
    await settled(org, bob, carol);
    expect(bob.denied).toHaveLength(2);
  });

  test('a room at its size limit refuses what adds to it and still accepts deletions', async () => {
    const maxRoomBytes = 40_000;
    const server = await startServer({ limits: { maxRoomBytes } });
    const { org, bob, carol } = await room(server, 'l3');
    let accepted = 0;
    /** Pushes comments of `chars` until one is refused (at most `max`). */
    const fill = async (chars: number, max: number) => {
      const refusals = org.denied.length;
      for (let i = 0; i < max && org.denied.length === refusals; i++) {
        push(org, 'alice', `${accepted} ${'z'.repeat(chars)}`, `c${chars}-${i}`);
        await waitFor(
          () => readComments(carol.doc).length === accepted + 1 || org.denied.length > refusals,
          `comment ${accepted}`,
        );
        if (org.denied.length === refusals) accepted++;
      }
    };
    await fill(1900, 40);
    expect(org.denied[0]).toMatch(/room is full/);
    expect(accepted).toBeGreaterThan(10);
    await fill(20, 200); // the last few bytes
    expect(org.denied).toHaveLength(2);
    await settled(org, bob, carol);
    const full = server.rooms.get('l3')!.doc;
    expect(size(full)).toBeLessThanOrEqual(maxRoomBytes);
    expect(readComments(org.doc)).toHaveLength(accepted);

    // a member's new line is refused too; the sender snaps back
    const note = 'n'.repeat(300);
    addLine(bob.doc, { sku: 'kopi', qty: 1, addedBy: 'bob', note });
    await waitFor(() => bob.denied.length === 1, 'line refused');
    expect(bob.denied[0]).toMatch(/room is full/);
    await waitFor(() => readLines(bob.doc).length === 0, 'the sender snaps back');

    // deleting is always possible, and makes room again
    org.doc.getArray('comments').delete(0, 10);
    await waitFor(() => readComments(carol.doc).length === accepted - 10, 'deletion accepted');
    expect(org.denied).toHaveLength(2);
    addLine(bob.doc, { sku: 'kopi', qty: 1, addedBy: 'bob', note });
    await waitFor(() => readLines(carol.doc).length === 1, 'a new line fits again');
    await settled(org, bob, carol);
    expect(bob.denied).toHaveLength(1);
  });

  test('MAX_ROOM_BYTES sets the room size limit', async () => {
    const dataDir = await tempDir();
    const opts = configFromEnv({
      MAX_ROOM_BYTES: '123456',
      DATA_DIR: dataDir,
      ROOM_TOKEN_SECRET: 'x'.repeat(48),
    });
    expect(opts.limits?.maxRoomBytes).toBe(123_456);
  });
});

describe('close reasons', () => {
  test('an internal exception closes with a generic reason; the real error is logged with room and member', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
          done();
        },
      }),
    );
    const server = await startServer({ logger });
    // a Yjs update whose struct count and client cannot be read: the decoder throws
    const bad = rawClient(server, 'e1', await token('e1', 'mallory'));
    await bad.opened;
    bad.ws.send(syncUpdateFrame(new Uint8Array([1, 1, 200, 200, 200, 200, 1, 0])));
    const closed = await bad.closed;
    expect(closed.code).toBe(1007);
    expect(closed.reason).toBe('message could not be processed');
    await waitFor(() => lines.some((l) => l.msg === 'closing connection'), 'logged');
    const logged = lines.find((l) => l.msg === 'closing connection')!;
    expect(logged).toMatchObject({ roomId: 'e1', memberId: 'mallory', code: 1007 });
    expect((logged.err as { message?: string } | undefined)?.message).toBeTruthy();

    // our own reasons still go out as written
    const unknown = rawClient(server, 'e1', await token('e1', 'mallory'));
    await unknown.opened;
    unknown.ws.send(new Uint8Array([9, 1, 2]));
    expect(await unknown.closed).toEqual({ code: 1003, reason: 'unknown message type 9' });
  });
});
