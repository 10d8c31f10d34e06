import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, addLine, initRoom, readLines } from '@patungan/model';
import {
  SECRET,
  client,
  json,
  startServer,
  tempDir,
  token,
  upgradeStatus,
  waitFor,
} from './helpers.ts';

describe('stock y-websocket clients', () => {
  test('two clients converge and a late joiner gets the full state', async () => {
    const server = await startServer();
    const a = await client(server, 'r1', await token('r1', 'alice', 'organiser'));
    const b = await client(server, 'r1', await token('r1', 'bob'));
    initRoom(a.doc, {
      name: 'Picnic',
      currency: 'IDR',
      organiser: 'alice',
      organiserName: 'Alice',
    });
    addLine(b.doc, { sku: 'teh-botol', qty: 2, addedBy: 'bob' });
    addComment(a.doc, { by: 'alice', text: 'get ice too' });
    await waitFor(() => readLines(a.doc).length === 1 && b.doc.getArray('comments').length === 1);
    expect(json(a.doc)).toEqual(json(b.doc));

    const late = await client(server, 'r1', await token('r1', 'carol'));
    expect(json(late.doc)).toEqual(json(a.doc));
    expect(readLines(late.doc)[0]).toMatchObject({ sku: 'teh-botol', qty: 2 });
  });

  test('presence reaches the others and goes away with the connection', async () => {
    const server = await startServer();
    const a = await client(server, 'p1', await token('p1', 'alice'));
    const b = await client(server, 'p1', await token('p1', 'bob'));
    a.provider.awareness.setLocalStateField('user', { name: 'Alice' });
    await waitFor(
      () => b.provider.awareness.getStates().get(a.doc.clientID) !== undefined,
      'presence',
    );
    a.provider.disconnect();
    await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), 'presence removed');
  });

  test("stock clients echoing each other's presence are not kicked; a reconnecting client shows up at once", async () => {
    const server = await startServer();
    const a = await client(server, 'echo', await token('echo', 'alice'));
    const b = await client(server, 'echo', await token('echo', 'bob'));
    const c = await client(server, 'echo', await token('echo', 'carol'));
    for (let i = 0; i < 5; i++) {
      a.provider.awareness.setLocalStateField('cursor', i);
      b.provider.awareness.setLocalStateField('cursor', i * 10);
      await waitFor(
        () =>
          (c.provider.awareness.getStates().get(a.doc.clientID) as { cursor?: number } | undefined)
            ?.cursor === i &&
          (c.provider.awareness.getStates().get(b.doc.clientID) as { cursor?: number } | undefined)
            ?.cursor ===
            i * 10,
        'presence',
      );
    }
    expect([a.closes, b.closes, c.closes]).toEqual([[], [], []]);
    // A reconnect (same client id, same clock) is taken back by the server at once, so anyone
    // joining sees it. (Clients that saw the removal ignore the same clock until the stock
    // client's 15 s renewal: that is the awareness protocol, not the server.)
    a.provider.disconnect();
    await waitFor(() => !c.provider.awareness.getStates().has(a.doc.clientID), 'gone');
    a.provider.connect();
    await waitFor(
      () => server.rooms.get('echo')?.awareness.getStates().has(a.doc.clientID) === true,
      'back',
    );
    const d = await client(server, 'echo', await token('echo', 'dave'));
    await waitFor(() => d.provider.awareness.getStates().has(a.doc.clientID), 'seen by a newcomer');
  });

  test('a room survives a restart of the server', async () => {
    const dataDir = await tempDir();
    const first = await startServer({ dataDir });
    const a = await client(first, 'keep', await token('keep', 'alice', 'organiser'));
    initRoom(a.doc, { name: 'Keep me', currency: 'IDR', organiser: 'alice' });
    addLine(a.doc, { sku: 'kopi', qty: 3, addedBy: 'alice' });
    await waitFor(
      async () => (await fetch(`${first.httpUrl}/healthz`).then((r) => r.json())).rooms === 1,
    );
    a.provider.destroy();
    await first.close();

    const second = await startServer({ dataDir });
    const b = await client(second, 'keep', await token('keep', 'bob'));
    expect(readLines(b.doc)).toMatchObject([{ sku: 'kopi', qty: 3 }]);
    expect(b.doc.getMap('meta').get('name')).toBe('Keep me');
  });
});

describe('auth at the upgrade', () => {
  test('missing, forged, expired and other-room tokens are refused before any socket opens', async () => {
    const server = await startServer();
    const ok = await token('room-a', 'alice');
    expect(await upgradeStatus(server, `/room-a?token=${ok}`)).toBe(101);
    expect(await upgradeStatus(server, '/room-a')).toBe(401);
    const forged = await token('room-a', 'alice', 'member', { secret: 'not-the-secret' });
    expect(await upgradeStatus(server, `/room-a?token=${forged}`)).toBe(401);
    const expired = await token('room-a', 'alice', 'member', {
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    expect(await upgradeStatus(server, `/room-a?token=${expired}`)).toBe(401);
    expect(await upgradeStatus(server, `/room-b?token=${ok}`)).toBe(403);
    expect(await upgradeStatus(server, `/not%20a%20room?token=${ok}`)).toBe(404);
    const health = await fetch(`${server.httpUrl}/healthz`).then((r) => r.json());
    expect(health).toMatchObject({ status: 'ok' });
  });

  test('a staff token cannot open a room', async () => {
    const server = await startServer();
    const { signToken } = await import('@patungan/model');
    const staff = await signToken(
      { sub: 's1', store: 'toko-1', name: 'Staff', role: 'staff' },
      SECRET,
    );
    expect(await upgradeStatus(server, `/room-a?token=${staff}`)).toBe(403);
  });
});

describe('unload and reload', () => {
  test('a room leaves memory after its last client and comes back on demand', async () => {
    const dataDir = await tempDir();
    const server = await startServer({ dataDir, unloadDelayMs: 50 });
    const a = await client(server, 'u1', await token('u1', 'alice'));
    a.doc.getArray('comments').push([{ id: 'c1', by: 'alice', text: 'hi', at: 1 }]);
    await waitFor(() => server.rooms.size === 1);
    a.provider.destroy();
    await waitFor(() => server.rooms.size === 0, 'unload');
    const b = await client(server, 'u1', await token('u1', 'bob'), { doc: new Y.Doc() });
    expect(b.doc.getArray('comments').toJSON()).toEqual([
      { id: 'c1', by: 'alice', text: 'hi', at: 1 },
    ]);
  });
});

describe('operations', () => {
  test('graceful shutdown closes sockets with 1001 and flushes what just arrived', async () => {
    const dataDir = await tempDir();
    const first = await startServer({ dataDir, flushIntervalMs: 60_000 });
    const a = await client(first, 'bye', await token('bye', 'alice'));
    const b = await client(first, 'bye', await token('bye', 'bob'));
    addComment(a.doc, { by: 'alice', text: 'last words' });
    await waitFor(() => b.doc.getArray('comments').length === 1);
    a.provider.shouldReconnect = () => false;
    await first.close();
    await waitFor(() => a.closes.includes(1001) && b.closes.includes(1001), 'close 1001');
    a.provider.destroy();
    b.provider.destroy();
    const second = await startServer({ dataDir });
    const c = await client(second, 'bye', await token('bye', 'carol'));
    expect(c.doc.getArray('comments').toJSON()).toMatchObject([{ text: 'last words' }]);
  });

  test('healthz and metrics report rooms, connections and traffic', async () => {
    const server = await startServer();
    const a = await client(server, 'm1', await token('m1', 'alice'));
    addComment(a.doc, { by: 'alice', text: 'hello' });
    const messagesIn = async () =>
      Number(
        /patungan_room_messages_in_total (\d+)/.exec(
          await fetch(`${server.httpUrl}/metrics`).then((r) => r.text()),
        )?.[1] ?? 0,
      );
    await waitFor(async () => (await messagesIn()) >= 3, 'step 1, step 2 and the update counted');
    const health = await fetch(`${server.httpUrl}/healthz`).then((r) => r.json());
    expect(health).toEqual({ status: 'ok', rooms: 1, connections: 1 });
    const metrics = await fetch(`${server.httpUrl}/metrics`).then((r) => r.text());
    for (const name of [
      'connections 1',
      'rooms 1',
      'bytes_in_total',
      'bytes_out_total',
      'refused_writes_total 0',
      'persist_seconds',
      'event_loop_lag_seconds',
    ]) {
      expect(metrics).toContain(`patungan_room_${name}`);
    }
  });
});
