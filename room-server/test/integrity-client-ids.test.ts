/**
 * Client-id takeover (issue 10 item 5): a member must not write with the Yjs client id of
 * another member, not even while that member is offline, after the room was unloaded, after a
 * restart, or through another instance. Otherwise the offline member's edits (same client id,
 * same clocks) are ignored as already known when it comes back, and its document diverges.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, addLine, initRoom, readComments, readLines } from '@patungan/model';
import { startRoomServer } from '../src/index.ts';
import type { RoomServer } from '../src/index.ts';
import { RedisScale } from '../src/scale/index.ts';
import type { Client } from './helpers.ts';
import {
  SECRET,
  client,
  rawClient,
  settled,
  startServer,
  syncUpdateFrame,
  tempDir,
  token,
  waitFor,
} from './helpers.ts';
import { REDIS_URL, dropPrefix, uniquePrefix } from './scale-helpers.ts';

/** An update that writes a comment under `clientID` at the next clock `known` has for it. */
function forge(known: Y.Doc, clientID: number, text: string): Uint8Array {
  const forged = new Y.Doc();
  Y.applyUpdate(forged, Y.encodeStateAsUpdate(known));
  forged.clientID = clientID;
  // in mallory's own name: only the client id is wrong
  forged.getArray('comments').push([{ id: `f${text}`, by: 'mallory', text, at: 0 }]);
  const update = Y.encodeStateAsUpdate(forged, Y.encodeStateVector(known));
  forged.destroy();
  return update;
}

const texts = (doc: Y.Doc) => readComments(doc).map((c) => c.text);

/**
 * Mallory sends `update` on a fresh connection. Resolves with the close code when the server
 * refuses it, or with 0 when `watcher` received the forged comment (accepted).
 */
async function mallorySends(
  server: RoomServer,
  roomId: string,
  update: Uint8Array,
  watcher: Client,
  text: string,
): Promise<number> {
  const mallory = rawClient(server, roomId, await token(roomId, 'mallory'));
  await mallory.opened;
  let code = -1;
  void mallory.closed.then((c) => (code = c.code));
  mallory.ws.send(syncUpdateFrame(update));
  await waitFor(() => code !== -1 || texts(watcher.doc).includes(text), 'refused or accepted');
  if (code !== -1) return code;
  mallory.ws.close();
  return 0;
}

interface Scaled {
  server: RoomServer;
  scale: RedisScale;
}

/** Starts two room-servers in scaled mode on one Redis prefix (pushed to `nodes` as they start). */
async function startScaled(prefix: string, nodes: Scaled[], seqCheckMs: number): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const o = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    const scale = new RedisScale({
      redis: new Redis(REDIS_URL, o),
      subscriber: new Redis(REDIS_URL, o),
      prefix,
      instanceId: `n${i}`,
      seqCheckMs,
      presenceCheckMs: 250,
      ownsClients: true,
      logger: pino({ level: 'silent' }),
    });
    expect(await scale.ready()).toBe(true);
    const server = await startRoomServer({
      port: 0,
      secret: SECRET,
      logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
      unloadDelayMs: 500,
      storage: scale.storage,
      bus: scale,
    });
    nodes.push({ server, scale });
  }
}

describe('a Yjs client id belongs to the member who first wrote with it', () => {
  test("an offline member's client id cannot be taken over; its offline edits merge when it comes back", async () => {
    const server = await startServer();
    const org = await client(server, 'c1', await token('c1', 'alice', 'organiser'));
    initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
    const bob = await client(server, 'c1', await token('c1', 'bob'));
    const carol = await client(server, 'c1', await token('c1', 'carol'));
    addComment(bob.doc, { by: 'bob', text: 'online' });
    await waitFor(() => texts(carol.doc).includes('online'));

    bob.provider.disconnect();
    await waitFor(() => server.rooms.get('c1')?.conns.size === 2, 'bob gone');
    addComment(bob.doc, { by: 'bob', text: 'offline 1' });
    addLine(bob.doc, { sku: 'kopi', qty: 2, addedBy: 'bob' });

    // nobody but the server writes the record of who owns which client id
    carol.doc.getMap('clients').set(String(bob.doc.clientID), 'carol');
    org.doc.getMap('clients').set(String(bob.doc.clientID), 'alice');
    await waitFor(() => carol.denied.length === 1 && org.denied.length === 1, 'refused');
    expect(carol.denied[0]).toMatch(/not writable/);
    await waitFor(() => carol.doc.getMap('clients').get(String(bob.doc.clientID)) === 'bob');

    const code = await mallorySends(
      server,
      'c1',
      forge(carol.doc, bob.doc.clientID, 'forged'),
      carol,
      'forged',
    );
    expect(code).toBe(1008);

    bob.provider.connect();
    await waitFor(
      () => texts(carol.doc).includes('offline 1') && readLines(carol.doc).length === 1,
    );
    await settled(org, bob, carol);
    expect(texts(org.doc)).toEqual(['online', 'offline 1']);
  });

  test('the owner is remembered across an unload and a restart of the room-server', async () => {
    const dataDir = await tempDir();
    const first = await startServer({ dataDir });
    const org = await client(first, 'c2', await token('c2', 'alice', 'organiser'));
    initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
    const bobToken = await token('c2', 'bob');
    const bob = await client(first, 'c2', bobToken);
    addComment(bob.doc, { by: 'bob', text: 'online' });
    await waitFor(() => texts(org.doc).includes('online'));
    bob.provider.disconnect();
    org.provider.destroy();
    addComment(bob.doc, { by: 'bob', text: 'offline 1' });
    await waitFor(() => first.rooms.size === 0, 'room unloaded');

    // after the unload
    const carol = await client(first, 'c2', await token('c2', 'carol'));
    expect(texts(carol.doc)).toEqual(['online']);
    expect(
      await mallorySends(
        first,
        'c2',
        forge(carol.doc, bob.doc.clientID, 'forged 1'),
        carol,
        'forged 1',
      ),
    ).toBe(1008);
    carol.provider.destroy();
    await first.close();

    // after a restart
    const second = await startServer({ dataDir });
    const dave = await client(second, 'c2', await token('c2', 'dave'));
    expect(texts(dave.doc)).toEqual(['online']);
    expect(
      await mallorySends(
        second,
        'c2',
        forge(dave.doc, bob.doc.clientID, 'forged 2'),
        dave,
        'forged 2',
      ),
    ).toBe(1008);

    // bob comes back (same document, same client id): his offline edit merges
    bob.provider.destroy();
    const bobAgain = await client(second, 'c2', bobToken, { doc: bob.doc });
    await waitFor(() => texts(dave.doc).includes('offline 1'));
    await settled(dave, bobAgain);
    expect(texts(dave.doc)).toEqual(['online', 'offline 1']);
  });

  test('scaled mode: a client id owned through one instance cannot be taken over through another', async () => {
    const prefix = uniquePrefix('owners');
    const nodes: Scaled[] = [];
    try {
      await startScaled(prefix, nodes, 200);
      const [n0, n1] = nodes.map((n) => n.server) as [RoomServer, RoomServer];
      const org = await client(n0, 'c3', await token('c3', 'alice', 'organiser'));
      initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
      const bobToken = await token('c3', 'bob');
      const bob = await client(n0, 'c3', bobToken);
      const carol = await client(n1, 'c3', await token('c3', 'carol'));
      addComment(bob.doc, { by: 'bob', text: 'online' });
      await waitFor(() => texts(carol.doc).includes('online'));
      bob.provider.destroy();
      addComment(bob.doc, { by: 'bob', text: 'offline 1' });

      expect(
        await mallorySends(n1, 'c3', forge(carol.doc, bob.doc.clientID, 'forged'), carol, 'forged'),
      ).toBe(1008);

      const bobAgain = await client(n1, 'c3', bobToken, { doc: bob.doc });
      await waitFor(
        () => texts(org.doc).includes('offline 1') && texts(carol.doc).includes('offline 1'),
      );
      await settled(org, bobAgain, carol);
      expect(texts(org.doc)).toEqual(['online', 'offline 1']);
    } finally {
      for (const n of nodes) await n.server.close();
      await dropPrefix(REDIS_URL, prefix);
    }
  });

  test("scaled mode: re-sending another member's update an instance has not seen yet is accepted; new content under that id is still refused", async () => {
    const prefix = uniquePrefix('owners');
    const nodes: Scaled[] = [];
    try {
      // Sequence checks effectively off: only the catch-up before judging can fill the gap.
      await startScaled(prefix, nodes, 60_000);
      const [n0, n1] = nodes as [Scaled, Scaled];
      const org = await client(n0.server, 'c4', await token('c4', 'alice', 'organiser'));
      initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'alice', organiserName: 'Alice' });
      const bob = await client(n0.server, 'c4', await token('c4', 'bob'));
      const carol = await client(n1.server, 'c4', await token('c4', 'carol'));
      await settled(org, bob, carol);

      // n1 misses bob's first write, and with it the record that his client id is his.
      n1.scale.testing.dropIncomingUpdates('c4', 1);
      addComment(bob.doc, { by: 'bob', text: 'unseen' });
      await waitFor(() => texts(org.doc).includes('unseen'), 'org has it');
      expect(texts(carol.doc)).not.toContain('unseen');

      // Yuni, on n1, re-sends everything she has (as a y-websocket client does in its sync
      // step 2 after a reconnect): bob's comment included, nothing new under his client id.
      const yuni = rawClient(n1.server, 'c4', await token('c4', 'yuni'));
      await yuni.opened;
      let close: { code: number; reason: string } | null = null;
      void yuni.closed.then((c) => (close = c));
      const seen = yuni.messages.length;
      yuni.ws.send(syncUpdateFrame(Y.encodeStateAsUpdate(org.doc)));
      // A sync step 1 after it: its answer (a step 2) proves the relay was handled first.
      yuni.ws.send(syncUpdateFrame(Y.encodeStateVector(org.doc), 0));
      const answered = () => yuni.messages.slice(seen).some((m) => m[0] === 0 && m[1] === 1);
      await waitFor(() => close !== null || answered(), 'relay handled');
      expect(close).toBeNull();
      await waitFor(() => texts(carol.doc).includes('unseen'), 'n1 caught up');
      yuni.ws.close();

      // Catching up must not open a hole: NEW content under bob's client id, sent to n1 with
      // his unseen comment, is still refused (n1 has his ownership from Redis by then).
      n1.scale.testing.dropIncomingUpdates('c4', 1);
      addComment(bob.doc, { by: 'bob', text: 'unseen 2' });
      await waitFor(() => texts(org.doc).includes('unseen 2'), 'org has the second');
      expect(
        await mallorySends(
          n1.server,
          'c4',
          forge(org.doc, bob.doc.clientID, 'forged'),
          carol,
          'forged',
        ),
      ).toBe(1008);
      await settled(org, bob, carol);
      expect(texts(carol.doc)).toEqual(['unseen', 'unseen 2']);
    } finally {
      for (const n of nodes) await n.server.close();
      await dropPrefix(REDIS_URL, prefix);
    }
  });
});
