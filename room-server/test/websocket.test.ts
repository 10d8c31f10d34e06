/**
 * The server's own WebSocket layer (src/websocket.ts), frame by frame over a raw TCP socket,
 * plus the `ws` client for the cases a real client produces (fragments, pings).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { describe, expect, onTestFinished, test } from 'vitest';
import WebSocket from 'ws';
import type { RoomServer } from '../src/index.ts';
import { rawClient, startServer, token, waitFor } from './helpers.ts';

/** A masked client frame. */
function frame(
  first: number,
  payload: Uint8Array,
  opts: { mask?: boolean; len?: number } = {},
): Buffer {
  const n = opts.len ?? payload.byteLength;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const mask = opts.mask === false ? null : randomBytes(4);
  const out = Buffer.alloc(head + (mask ? 4 : 0) + payload.byteLength);
  out[0] = first;
  out[1] = (mask ? 0x80 : 0) | (n < 126 ? n : n < 65536 ? 126 : 127);
  if (n >= 126 && n < 65536) out.writeUInt16BE(n, 2);
  if (n >= 65536) out.writeBigUInt64BE(BigInt(n), 2);
  if (mask) mask.copy(out, head);
  const body = head + (mask ? 4 : 0);
  for (let i = 0; i < payload.byteLength; i++)
    out[body + i] = payload[i]! ^ (mask ? mask[i & 3]! : 0);
  return out;
}

/** Opens a raw upgraded socket; collects everything the server sends after the 101. */
async function raw(server: RoomServer, roomId: string, headers: Record<string, string> = {}) {
  const tok = await token(roomId, 'raw');
  const socket: Socket = connect(server.port, '127.0.0.1');
  onTestFinished(() => {
    socket.destroy();
  });
  let received = Buffer.alloc(0);
  const ended = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const hs = {
    Host: `127.0.0.1:${server.port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  socket.write(
    `GET /${roomId}?token=${tok} HTTP/1.1\r\n` +
      Object.entries(hs)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      '\r\n',
  );
  await waitFor(() => received.includes('\r\n\r\n'), 'handshake answer');
  const i = received.indexOf('\r\n\r\n');
  const status = received.subarray(0, i).toString().split(' ')[1];
  received = received.subarray(i + 4);
  return {
    socket,
    status: Number(status),
    ended,
    get received() {
      return received;
    },
    /** Close code of a close frame the server sent, if any. */
    closeCode(): number | null {
      let off = 0;
      while (off + 2 <= received.byteLength) {
        const op = received[off]! & 0x0f;
        let len = received[off + 1]! & 0x7f;
        let p = off + 2;
        if (len === 126) {
          len = received.readUInt16BE(p);
          p += 2;
        } else if (len === 127) {
          len = Number(received.readBigUInt64BE(p));
          p += 8;
        }
        if (op === 0x8) return len >= 2 ? received.readUInt16BE(p) : 1005;
        off = p + len;
      }
      return null;
    },
  };
}

describe('WebSocket layer', () => {
  test('a bad handshake is answered 400 and no socket is kept', async () => {
    const server = await startServer();
    const c = await raw(server, 'hs', { 'Sec-WebSocket-Version': '8' });
    expect(c.status).toBe(400);
    await c.ended;
  });

  test('ping gets a pong with the same payload; a close frame is echoed and the socket ends', async () => {
    const server = await startServer();
    const c = await raw(server, 'pp');
    expect(c.status).toBe(101);
    c.socket.write(frame(0x89, Buffer.from('hello')));
    await waitFor(
      () => c.received.includes(Buffer.from([0x8a, 5, ...Buffer.from('hello')])),
      'pong',
    );
    const close = Buffer.alloc(2);
    close.writeUInt16BE(4001, 0);
    c.socket.write(frame(0x88, close));
    await c.ended;
    expect(c.closeCode()).toBe(4001);
  });

  test.each([
    ['reserved bits', () => frame(0xc2, Buffer.from([1]))],
    ['unmasked client frame', () => frame(0x82, Buffer.from([1]), { mask: false })],
    ['control frame over 125 bytes', () => frame(0x89, Buffer.alloc(126))],
    ['fragmented control frame', () => frame(0x09, Buffer.alloc(1))],
    ['continuation without a message', () => frame(0x80, Buffer.from([1]))],
    ['unknown opcode', () => frame(0x83, Buffer.from([1]))],
  ])('%s closes with 1002', async (_name, make) => {
    const server = await startServer();
    const c = await raw(server, 'bad');
    c.socket.write(make());
    await c.ended;
    expect(c.closeCode()).toBe(1002);
  });

  test('a frame announcing more than the limit closes with 1009 before its body arrives', async () => {
    const server = await startServer({ limits: { maxMessageBytes: 1000 } });
    const c = await raw(server, 'big');
    c.socket.write(frame(0x82, Buffer.alloc(0), { len: 70_000 }).subarray(0, 14));
    await c.ended;
    expect(c.closeCode()).toBe(1009);
    // and fragments that add up to more than the limit
    const d = await raw(server, 'big');
    d.socket.write(frame(0x02, Buffer.alloc(600)));
    d.socket.write(frame(0x80, Buffer.alloc(600)));
    await d.ended;
    expect(d.closeCode()).toBe(1009);
  });

  test('fragmented messages, split TCP writes and 16/64-bit lengths are reassembled', async () => {
    const server = await startServer({ limits: { maxMessageBytes: 1 << 20 } });
    const c = await raw(server, 'frag');
    // sync step 1 with an empty state vector, in three fragments, written a byte at a time
    const bytes = Buffer.concat([
      frame(0x02, Buffer.from([0])),
      frame(0x00, Buffer.from([0])),
      frame(0x80, Buffer.from([1, 0])),
    ]);
    for (const b of bytes) c.socket.write(Buffer.from([b]));
    // the answer is sync step 2 (0, 1, …) after the server's own step 1
    await waitFor(
      () => c.received.includes(Buffer.from([0x82, 5, 0, 1, 2, 0, 0])),
      'step 2 answer',
    );
    // 16-bit and 64-bit lengths (query-awareness messages with trailing bytes the server ignores)
    const bigAwareness = Buffer.concat([Buffer.from([3]), Buffer.alloc(300)]);
    c.socket.write(frame(0x82, bigAwareness));
    const huge = Buffer.concat([Buffer.from([3]), Buffer.alloc(70_000)]);
    c.socket.write(frame(0x82, huge));
    await new Promise((r) => setTimeout(r, 50));
    expect(c.closeCode()).toBeNull();
  });

  test('the ws client: fragmented binary messages and pings work end to end', async () => {
    const server = await startServer();
    const r = rawClient(server, 'wsc', await token('wsc', 'a'));
    await r.opened;
    const pong = new Promise<Buffer>((res) => r.ws.once('pong', (d: Buffer) => res(d)));
    r.ws.ping(Buffer.from('x'));
    expect((await pong).toString()).toBe('x');
    // sync step 1 (empty state vector) in two fragments
    r.ws.send(Buffer.from([0, 0]), { fin: false, binary: true });
    r.ws.send(Buffer.from([1, 0]), { fin: true, binary: true });
    await waitFor(() => r.messages.some((m) => m[0] === 0 && m[1] === 1), 'step 2');
    r.ws.close(1000);
    expect((await r.closed).code).toBe(1000);
  });
});

test('a ws client close without a reason still frees the connection', async () => {
  const server = await startServer();
  const ws = new WebSocket(`${server.url}/free?token=${await token('free', 'a')}`);
  await new Promise((r) => ws.once('open', r));
  ws.terminate();
  await waitFor(
    async () => (await fetch(`${server.httpUrl}/healthz`).then((x) => x.json())).connections === 0,
    'freed',
  );
});
