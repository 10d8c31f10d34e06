/**
 * A minimal server side of RFC 6455 over a `net.Socket`: the handshake, binary and text
 * messages (fragmented or not), ping / pong, close, and nothing else (no extensions, no
 * subprotocols). It exists for memory: the `ws` package keeps a `WebSocket`, a `Receiver`
 * (itself a `Writable` stream with its own state and listeners) and a `Sender` per socket,
 * about 1 KB more per connection than this one object — 20 MB at 20,000 connections
 * (docs/benchmarks.md). Every listener is a shared function; nothing here allocates per
 * frame beyond the frame itself.
 *
 * One `WsConnection` per socket. It is the core's `Transport`: `send` writes a binary frame
 * (built once per broadcast and shared by all recipients), `close` sends a close frame.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Connection, Transport } from './connection.ts';
import type { Room } from './room.ts';

export interface WsEvents {
  /** A complete binary message. */
  message(c: WsConnection, data: Buffer): void;
  /** A text message (the room protocol is binary only). */
  text(c: WsConnection): void;
  /** The peer broke the protocol; the connection is being closed with `code`. */
  protocolError(c: WsConnection, code: number, reason: string): void;
  /** Outgoing data passed `maxBufferedBytes`; the connection is being closed with 1013. */
  slow(c: WsConnection, buffered: number): void;
  /** The socket is gone. Called once. */
  closed(c: WsConnection): void;
}

export interface WsOptions {
  /** Largest message (after reassembly of fragments); larger ones close with 1009. */
  maxPayload: number;
  /** Unsent bytes above which the connection is closed with 1013. */
  maxBufferedBytes: number;
  /** How long a closing connection may take before its socket is destroyed. */
  closeTimeoutMs: number;
  events: WsEvents;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;
const PING = Buffer.from([0x89, 0x00]);
const SELF = Symbol('WsConnection');

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

/**
 * Completes the upgrade when the request is a valid WebSocket handshake: writes the 101
 * answer and returns the connection. Returns null (after answering 400) otherwise.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  opts: WsOptions,
): WsConnection | null {
  const key = req.headers['sec-websocket-key'];
  if (
    req.headers.upgrade?.toLowerCase() !== 'websocket' ||
    req.headers['sec-websocket-version'] !== '13' ||
    typeof key !== 'string' ||
    !KEY.test(key)
  ) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return null;
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  const c = new WsConnection(socket as Socket, opts);
  if (head.byteLength > 0) c.receive(Buffer.from(head));
  return c;
}

function onData(this: Socket, chunk: Buffer): void {
  (this as unknown as Record<symbol, WsConnection>)[SELF]!.receive(chunk);
}
function onEnd(this: Socket): void {
  this.end();
}
function onError(this: Socket): void {
  this.destroy();
}
function onClose(this: Socket): void {
  const c = (this as unknown as Record<symbol, WsConnection>)[SELF]!;
  c.state = CLOSED;
  c.opts.events.closed(c);
}

/** A binary frame (server → client, unmasked) around `payload`; the last one is cached. */
let lastPayload: Uint8Array | null = null;
let lastFrame: Buffer | null = null;
export function binaryFrame(payload: Uint8Array): Buffer {
  if (payload === lastPayload && lastFrame) return lastFrame;
  const frame = frameWith(0x82, payload);
  lastPayload = payload;
  lastFrame = frame;
  return frame;
}

function frameWith(first: number, payload: Uint8Array): Buffer {
  const n = payload.byteLength;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = first;
  if (n < 126) frame[1] = n;
  else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  frame.set(payload, head);
  return frame;
}

export class WsConnection implements Transport {
  /** The room core's view of this connection (set by the server once authenticated). */
  conn: Connection | null = null;
  /** The room, once loaded; messages that arrive before wait in `early`. */
  room: Room | null = null;
  early: Buffer[] | null = null;
  /** Cleared by each ping, set by any frame from the peer. */
  alive = true;
  state = OPEN;
  /** Bytes of an incomplete frame. */
  private pending: Buffer | null = null;
  /** Parts of a fragmented message, its opcode and size so far. */
  private parts: Buffer[] | null = null;
  private partsOpcode = 0;
  private partsSize = 0;

  constructor(
    readonly socket: Socket,
    readonly opts: WsOptions,
  ) {
    (socket as unknown as Record<symbol, WsConnection>)[SELF] = this;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  send(message: Uint8Array): void {
    if (this.state !== OPEN) return;
    const buffered = this.socket.writableLength;
    if (buffered > this.opts.maxBufferedBytes) {
      this.opts.events.slow(this, buffered);
      this.close(1013, 'too slow, reconnect');
      return;
    }
    this.socket.write(binaryFrame(message));
  }

  ping(): void {
    if (this.state === OPEN) this.socket.write(PING);
  }

  /** Sends a close frame and ends the socket; destroys it if the peer does not follow. */
  close(code: number, reason: string): void {
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    const text = Buffer.from(reason.slice(0, 100));
    const payload = Buffer.allocUnsafe(2 + text.byteLength);
    payload.writeUInt16BE(code, 0);
    text.copy(payload, 2);
    this.socket.end(frameWith(0x88, payload));
    setTimeout(() => this.socket.destroy(), this.opts.closeTimeoutMs).unref();
  }

  terminate(): void {
    this.socket.destroy();
  }

  private fail(code: number, reason: string): void {
    this.opts.events.protocolError(this, code, reason);
    this.close(code, reason);
  }

  /** Parses whatever arrived; complete frames are handled in order. */
  receive(chunk: Buffer): void {
    if (this.state !== OPEN) return; // after our close frame, incoming data is discarded
    this.alive = true;
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const max = this.opts.maxPayload;
    let off = 0;
    while (this.state === OPEN && buf.byteLength - off >= 2) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (b0 & 0x70) return this.fail(1002, 'reserved bits set');
      if (!(b1 & 0x80)) return this.fail(1002, 'client frames must be masked');
      let len = b1 & 0x7f;
      let p = off + 2;
      if (len === 126) {
        if (buf.byteLength - p < 2) break;
        len = buf.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (buf.byteLength - p < 8) break;
        const hi = buf.readUInt32BE(p);
        if (hi > 0) return this.fail(1009, 'message too big');
        len = buf.readUInt32BE(p + 4);
        p += 8;
      }
      if (opcode >= 8) {
        if (!fin || len > 125) return this.fail(1002, 'invalid control frame');
      } else if (len + (opcode === 0 ? this.partsSize : 0) > max) {
        return this.fail(1009, 'message too big');
      }
      if (buf.byteLength - p < 4 + len) break; // the rest has not arrived yet
      const mask = p;
      p += 4;
      for (let i = 0; i < len; i++) buf[p + i] = buf[p + i]! ^ buf[mask + (i & 3)]!;
      const data = buf.subarray(p, p + len);
      off = p + len;
      switch (opcode) {
        case 0x0: {
          if (!this.parts) return this.fail(1002, 'continuation without a message');
          this.parts.push(data);
          this.partsSize += len;
          if (fin) {
            const message = Buffer.concat(this.parts, this.partsSize);
            const op = this.partsOpcode;
            this.parts = null;
            this.partsSize = 0;
            this.deliver(op, message);
          }
          break;
        }
        case 0x1:
        case 0x2:
          if (this.parts) return this.fail(1002, 'expected a continuation frame');
          if (fin) this.deliver(opcode, data);
          else {
            this.parts = [data];
            this.partsOpcode = opcode;
            this.partsSize = len;
          }
          break;
        case 0x8: {
          // Echo the peer's close code and end: the close handshake, server side.
          const code = len >= 2 ? data.readUInt16BE(0) : 1000;
          this.close(
            code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000,
            '',
          );
          return;
        }
        case 0x9:
          this.socket.write(frameWith(0x8a, data));
          break;
        case 0xa:
          break; // pong: `alive` is already set
        default:
          return this.fail(1002, `unknown opcode ${opcode}`);
      }
    }
    if (off < buf.byteLength && this.state === OPEN) this.pending = buf.subarray(off);
  }

  private deliver(opcode: number, data: Buffer): void {
    if (opcode === 0x2) this.opts.events.message(this, data);
    else this.opts.events.text(this);
  }
}
