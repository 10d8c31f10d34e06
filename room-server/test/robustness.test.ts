import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { addComment } from '@patungan/model';
import type { RoomServer } from '../src/index.ts';
import { client, rawClient, startServer, syncUpdateFrame, token, waitFor } from './helpers.ts';

async function health(server: RoomServer): Promise<{ connections: number; rooms: number }> {
  return (await fetch(`${server.httpUrl}/healthz`)).json() as Promise<{
    connections: number;
    rooms: number;
  }>;
}

/** A bystander that must keep working whatever happens to the bad connection. */
async function stillWorks(server: RoomServer, roomId: string, text: string) {
  const a = await client(server, roomId, await token(roomId, `a-${text}`));
  const b = await client(server, roomId, await token(roomId, `b-${text}`));
  addComment(a.doc, { by: `a-${text}`, text });
  await waitFor(
    () =>
      b.doc
        .getArray('comments')
        .toJSON()
        .some((c: { text: string }) => c.text === text),
    'bystander edit',
  );
}

function awarenessFrame(clientId: number, state: unknown): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  const aw = new Awareness(doc);
  aw.setLocalState(state as Record<string, unknown>);
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint8Array(e, encodeAwarenessUpdate(aw, [clientId]));
  aw.destroy();
  doc.destroy();
  return encoding.toUint8Array(e);
}

describe('bad frames close only their own connection', () => {
  test('an oversize message is closed with 1009', async () => {
    const server = await startServer({ limits: { maxMessageBytes: 1024 } });
    const bad = rawClient(server, 'big', await token('big', 'mallory'));
    await bad.opened;
    bad.ws.send(new Uint8Array(4096));
    expect((await bad.closed).code).toBe(1009);
    await stillWorks(server, 'big', 'after-oversize');
  });

  test('garbage, text frames, unknown message types and broken updates close with a protocol code', async () => {
    const server = await startServer();
    const frames: (Uint8Array | string)[] = [
      'hello', // text frame
      new Uint8Array([9, 1, 2]), // unknown message type
      new Uint8Array([0, 7, 0]), // unknown sync message
      syncUpdateFrame(new Uint8Array([1, 1, 200, 200, 200, 200, 1, 0])), // broken Yjs update
      new Uint8Array([0, 2, 50, 1]), // payload shorter than its length
      new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255, 255, 255]), // varint overflow
      new Uint8Array([1, 5, 1, 1, 1, 1, 123]), // awareness with bad JSON
    ];
    for (const f of frames) {
      const bad = rawClient(server, 'junk', await token('junk', 'mallory'));
      await bad.opened;
      bad.ws.send(f);
      const { code } = await bad.closed;
      expect([1002, 1003, 1007, 1008]).toContain(code);
    }
    // a frame that breaks the WebSocket framing itself (unmasked client frame)
    const bad = rawClient(server, 'junk', await token('junk', 'mallory'));
    await bad.opened;
    (bad.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(
      Buffer.from([0x82, 0x01, 0x00]),
    );
    expect((await bad.closed).code).toBe(1002);
    await stillWorks(server, 'junk', 'after-garbage');
    expect((await health(server)).connections).toBe(2);
  });

  test('a connection over its message rate is closed with 1008', async () => {
    const server = await startServer({ limits: { messagesPerSecond: 5, messageBurst: 5 } });
    const bad = rawClient(server, 'fast', await token('fast', 'mallory'));
    await bad.opened;
    const doc = new Y.Doc();
    doc.on('update', (u: Uint8Array) => bad.ws.send(syncUpdateFrame(u)));
    for (let i = 0; i < 30; i++) doc.getMap('votes').set(`x:mallory`, i % 2 ? 1 : -1);
    expect((await bad.closed).code).toBe(1008);
    await stillWorks(server, 'fast', 'after-rate');
  });
});

describe('liveness and backpressure', () => {
  test('a dead peer is dropped by ping/pong and its presence disappears for the others', async () => {
    const server = await startServer({ pingIntervalMs: 50 });
    const watcher = await client(server, 'live', await token('live', 'watcher'));
    const dead = rawClient(server, 'live', await token('live', 'ghost'));
    await dead.opened;
    dead.ws.send(awarenessFrame(4242, { user: 'ghost' }));
    await waitFor(() => watcher.provider.awareness.getStates().has(4242), 'ghost presence');
    // stop reading: no more pongs
    (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor(async () => (await health(server)).connections === 1, 'dead peer dropped');
    await waitFor(() => !watcher.provider.awareness.getStates().has(4242), 'presence removed');
    // the live client answers every ping: still connected after many more rounds
    await new Promise((r) => setTimeout(r, 500));
    expect((await health(server)).connections).toBe(1);
    expect(watcher.closes).toEqual([]);
  });

  test('a peer that talks is not pinged; once silent it is pinged, and kept while it answers', async () => {
    const server = await startServer({ pingIntervalMs: 60 });
    const peer = rawClient(server, 'talk', await token('talk', 'chatty'));
    await peer.opened;
    let pings = 0;
    peer.ws.on('ping', () => pings++);
    // a query-awareness message every 10 ms (not rate-limited): heard from in every period
    const query = new Uint8Array([3]);
    const talking = setInterval(() => peer.ws.send(query), 10);
    await new Promise((r) => setTimeout(r, 600)); // 10 periods
    clearInterval(talking);
    expect(pings).toBe(0);
    // silent now: pinged (every other period), and `ws` answers each ping with a pong
    await waitFor(() => pings >= 2, 'pinged once silent');
    expect((await health(server)).connections).toBe(1);
    expect(peer.ws.readyState).toBe(peer.ws.OPEN);
  });

  test('a slow consumer is closed with 1013 and the others are unaffected', async () => {
    const server = await startServer({
      limits: {
        maxBufferedBytes: 1024 * 1024,
        messagesPerSecond: 10_000,
        messageBurst: 10_000,
        maxMessageBytes: 1 << 20,
      },
      closeTimeoutMs: 100,
    });
    const writer = await client(server, 'slow', await token('slow', 'w', 'organiser'));
    const reader = await client(server, 'slow', await token('slow', 'r'));
    const slow = rawClient(server, 'slow', await token('slow', 'snail'));
    await slow.opened;
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(100_000);
    // Everything runs in this one process: let the reader read between writes, as a real
    // reader on its own machine would.
    for (let i = 0; i < 120; i++) {
      writer.doc.getMap('meta').set(`blob${i % 4}`, `${i}${big}`);
      await waitFor(
        () => reader.doc.getMap('meta').get(`blob${i % 4}`) === `${i}${big}`,
        'reader keeps up',
      );
    }
    await waitFor(
      async () => (await health(server)).connections === 2,
      'slow consumer closed',
      15_000,
    );
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics, metrics).toMatch(/patungan_room_closed_connections_total\{code="1013"\} 1/);
  });
});
