/**
 * The WebSocket layer: the `ws` adapter between sockets and the room core. It takes the HTTP
 * upgrade (room path, connection caps, token check), turns each socket into the core's
 * `Transport` (backpressure: a slow consumer is closed with 1013), hands its frames to its
 * room, pings for liveness, and closes every socket with 1001 at shutdown. Decision 0004 says
 * why `ws` and not a hand-written WebSocket layer.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { TokenError, isRoomId } from '@patungan/model';
import { HttpError } from './errors.ts';
import { Connection, ConnectionCaps, clientAddress, trustedProxies } from './connection.ts';
import type { Transport } from './connection.ts';
import type { AuthenticateContext } from './hooks.ts';
import type { ServerLimits } from './limits.ts';
import type { Stats } from './metrics.ts';
import { CLOSE } from './protocol.ts';
import type { Room } from './room.ts';
import type { Rooms } from './rooms.ts';
import type { Principal } from './write-rules.ts';
import {
  decodeSegment,
  destroyOnError,
  lastResort,
  parseTarget,
  rawResponse,
} from './http/respond.ts';

export interface WebSocketDeps {
  log: Logger;
  stats: Stats;
  limits: ServerLimits;
  rooms: Rooms;
  /** The token check at the upgrade (an extension's, or the join-token check). */
  authenticate(ctx: AuthenticateContext): Promise<Principal>;
  /** How long a closing connection may take before it is cut. */
  closeTimeoutMs: number;
  /**
   * Liveness period: a socket not heard from for a period is pinged, and dropped when the
   * next period passes without anything from it (2–3 periods after the last thing it sent).
   */
  pingIntervalMs: number;
  /** TRUSTED_PROXIES (see `clientAddress`). */
  trustedProxies?: string[] | undefined;
  /** Whether the server is shutting down (upgrades get 503 then). */
  closing(): boolean;
}

export interface WebSocketLayer {
  /** Closes every socket with 1001 and resolves once they are closed (bounded). */
  closeAll(): Promise<void>;
}

/** The sockets are pinged in this many slices, one slice per 1/PING_SLICES of the period. */
const PING_SLICES = 10;

/** An unmasked ping frame without payload (RFC 6455 §5.5.2). */
const PING_FRAME = Buffer.from([0x89, 0x00]);

/** Retry-After (seconds) of a 429 at the upgrade. */
const CAP_RETRY_AFTER_S = 10;

/**
 * A message as one unmasked binary WebSocket frame (RFC 6455 §5.2: FIN, opcode 2, the payload
 * length, the payload), header and payload in one buffer. A server's frames are not masked,
 * so the same bytes are a valid frame for every recipient: a broadcast is framed once and each
 * recipient costs one `write` of the same buffer (through `ws`, each send allocated an options
 * object, a Buffer view and a header, and corked two writes into a `writev`: decision 0018).
 */
export function binaryFrame(message: Uint8Array): Buffer {
  const n = message.byteLength;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x82;
  if (n < 126) frame[1] = n;
  else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  frame.set(message, head);
  return frame;
}

/**
 * The last message framed and its frame: a broadcast sends one message to every connection
 * of a room in a row, so one slot is enough to frame it once.
 */
let lastMessage: Uint8Array | null = null;
let lastFrame: Buffer | null = null;

function frameOf(message: Uint8Array): Buffer {
  if (message !== lastMessage) {
    lastFrame = binaryFrame(message);
    lastMessage = message;
  }
  return lastFrame!;
}

/** What every socket of one server shares. */
interface Shell {
  limits: ServerLimits;
  stats: Stats;
  log: Logger;
  closeTimeoutMs: number;
}

/**
 * What the `ws` library object carries for us, and the core's `Transport` for its
 * connection: one object per socket on top of what `ws` keeps (a server holds ~20k).
 */
class RoomSocket extends WebSocket implements Transport {
  conn: Connection | null = null;
  room: Room | null = null;
  early: Buffer[] | null = null;
  /** Something (a message or a pong) arrived since this socket's last liveness check. */
  heard = true;
  /** A ping went out at the last check and nothing has arrived since. */
  pinged = false;
  shell: Shell | null = null;
  /** The client-address key this socket holds a slot under (null: not counted). */
  address: string | null = null;
  /**
   * The socket `ws` was handed at the upgrade: sends write their frames to it directly. `ws`
   * itself only ever queues frames while compressing, which is off (`perMessageDeflate:
   * false`), so a direct write is in order with its own (pings, the close frame), and its
   * `bufferedAmount` counts it.
   */
  raw: Duplex | null = null;

  override send(message: Uint8Array): void {
    const shell = this.shell!;
    if (this.readyState !== WebSocket.OPEN) return;
    if (this.bufferedAmount > shell.limits.maxBufferedBytes) {
      // A slow consumer: close it rather than buffer without bound. It reconnects and
      // resyncs; the others are not held back.
      shell.stats.countClose(CLOSE.tryAgainLater);
      shell.log.warn(
        {
          roomId: this.conn?.roomId,
          memberId: this.conn?.principal.id,
          buffered: this.bufferedAmount,
        },
        'closing a slow connection',
      );
      if (this.conn) this.conn.closed = true;
      this.close(CLOSE.tryAgainLater, 'too slow, reconnect');
      return;
    }
    this.raw!.write(frameOf(message));
  }

  /** Closes with a close frame, and without waiting more than `closeTimeoutMs` for the peer. */
  override close(code?: number, reason?: string | Buffer): void {
    super.close(code, reason);
    setTimeout(terminate, this.shell?.closeTimeoutMs ?? 5000, this).unref();
  }
}

function terminate(ws: WebSocket): void {
  ws.terminate();
}

// Shared listeners (`this` is the socket): no closures per connection.
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const ws = this as RoomSocket;
  ws.heard = true;
  if (!isBinary) {
    ws.shell?.stats.countClose(CLOSE.unsupportedData);
    ws.conn?.close(CLOSE.unsupportedData, 'binary frames only');
    return;
  }
  if (ws.room) ws.room.receive(ws.conn!, data);
  else (ws.early ??= []).push(data);
}

function onPong(this: WebSocket): void {
  (this as RoomSocket).heard = true;
}

const ROOM_PATH = /^\/([^/?]+)$/;

/** Serves WebSocket upgrades on `server` (its 'upgrade' event) and pings the sockets. */
export function serveWebSockets(server: Server, deps: WebSocketDeps): WebSocketLayer {
  const { log, stats, limits, rooms } = deps;
  const shell: Shell = { limits, stats, log, closeTimeoutMs: deps.closeTimeoutMs };
  const sockets = new Set<RoomSocket>();
  const proxies = deps.trustedProxies?.length ? trustedProxies(deps.trustedProxies) : null;
  const caps = new ConnectionCaps(
    limits.maxConnectionsPerMember,
    limits.maxConnectionsPerIp,
    limits.countLoopbackPerIp,
  );

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: limits.maxMessageBytes,
    skipUTF8Validation: true,
    WebSocket: RoomSocket,
  });

  function onClose(this: WebSocket): void {
    const ws = this as RoomSocket;
    sockets.delete(ws);
    stats.connections--;
    if (ws.address !== null) caps.releaseAddress(ws.address);
    ws.address = null;
    const conn = ws.conn;
    if (!conn) return;
    caps.releaseMember(conn.roomId, conn.principal.id);
    if (ws.room) ws.room.disconnect(conn);
    else conn.closed = true;
    ws.room = null;
    ws.early = null;
    ws.raw = null;
  }

  function onError(this: WebSocket, err: Error & { code?: string }): void {
    const ws = this as RoomSocket;
    // ws closes the socket itself (1002 / 1007 / 1009); just record it
    const code =
      err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? CLOSE.messageTooBig : CLOSE.protocolError;
    stats.countClose(code);
    log.warn(
      { roomId: ws.conn?.roomId, memberId: ws.conn?.principal.id, err: err.message },
      'bad frame, connection closed',
    );
  }

  function accept(ws: RoomSocket, roomId: string, who: Principal): void {
    sockets.add(ws);
    stats.connections++;
    ws.shell = shell;
    const conn = new Connection(roomId, who, ws, limits.messageBurst);
    ws.conn = conn;
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
    ws.on('error', onError);
    rooms.acquire(roomId).then(
      (room) => {
        if (conn.closed) return; // gone while the room loaded; it unloads in due course
        ws.room = room;
        room.connect(conn);
        const early = ws.early;
        ws.early = null;
        if (early) for (const d of early) room.receive(conn, d);
      },
      (err: unknown) => {
        log.error({ roomId, err }, 'room could not be loaded');
        stats.countClose(CLOSE.tryAgainLater);
        conn.close(CLOSE.tryAgainLater, 'room not available, try again');
      },
    );
  }

  function refuseUpgrade(
    socket: Duplex,
    status: number,
    message: string,
    headers?: Record<string, string | number>,
  ): void {
    socket.end(rawResponse(status, message, headers));
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      upgrade(req, socket, head);
    } catch (err) {
      lastResort(log, 'upgrade', err, req, socket);
    }
  });

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroyOnError);
    if (deps.closing()) return refuseUpgrade(socket, 503, 'server shutting down');
    const target = parseTarget(req.url);
    if (!target) return refuseUpgrade(socket, 400, 'the request target cannot be parsed');
    const m = ROOM_PATH.exec(target.path);
    if (!m) return refuseUpgrade(socket, 404, 'no such room path');
    const roomId = decodeSegment(m[1]!);
    if (roomId === null) return refuseUpgrade(socket, 400, 'the room path cannot be parsed');
    if (!isRoomId(roomId)) return refuseUpgrade(socket, 404, 'no such room path');
    // The address's slot is held from here (pending upgrades count: a flood of handshakes is
    // capped too) until the socket closes, or given back if no WebSocket comes of it.
    const remoteAddress = clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      proxies,
    );
    const address = caps.addressKey(remoteAddress);
    if (address !== null && !caps.takeAddress(address)) {
      log.info(
        { roomId, remoteAddress },
        'upgrade refused: too many connections from this address',
      );
      return refuseUpgrade(socket, 429, 'too many connections from this address', {
        'Retry-After': CAP_RETRY_AFTER_S,
      });
    }
    let handedOver = false;
    try {
      deps
        .authenticate({ roomId, token: target.query.get('token'), headers: req.headers })
        .then(async (who) => {
          if (who.role !== 'service' && (await removedFrom(roomId, who.id))) {
            throw new HttpError(403, 'removed', 'you are no longer a member of this room');
          }
          return who;
        })
        .then(
          (who) => {
            if (deps.closing()) return refuseUpgrade(socket, 503, 'server shutting down');
            if (!caps.takeMember(roomId, who.id)) {
              log.info(
                { roomId, memberId: who.id },
                'upgrade refused: too many connections of this member',
              );
              return refuseUpgrade(
                socket,
                429,
                'too many connections of this member in this room',
                {
                  'Retry-After': CAP_RETRY_AFTER_S,
                },
              );
            }
            // handleUpgrade calls back synchronously, or not at all (a bad handshake it answers
            // itself, a socket already gone)
            wss.handleUpgrade(req, socket, head, (ws) => {
              handedOver = true;
              // ws handles socket errors from here on; one listener less per connection
              socket.off('error', destroyOnError);
              (ws as RoomSocket).address = address;
              (ws as RoomSocket).raw = socket;
              accept(ws as RoomSocket, roomId, who);
            });
            if (!handedOver) caps.releaseMember(roomId, who.id);
          },
          (err: unknown) => {
            const status =
              err instanceof TokenError ? err.status : err instanceof HttpError ? err.status : 401;
            log.info({ roomId, reason: (err as Error).message }, 'upgrade refused');
            refuseUpgrade(socket, status, (err as Error).message);
          },
        )
        .catch((err: unknown) => lastResort(log, 'upgrade', err, req, socket))
        .finally(() => {
          if (!handedOver && address !== null) caps.releaseAddress(address);
        });
    } catch (err) {
      if (address !== null) caps.releaseAddress(address);
      throw err;
    }
  }

  /**
   * Whether the member left or was removed (docs/contracts.md "Leaving and removal"): read from
   * the room, loaded for it (kept loaded meanwhile; the connection that follows finds it in
   * memory). A room that cannot be loaded now is not judged here: the connection gets 1013
   * as before, and `Room.connect` checks again.
   */
  async function removedFrom(roomId: string, memberId: string): Promise<boolean> {
    let room: Room;
    try {
      room = await rooms.acquire(roomId);
    } catch {
      return false;
    }
    room.hold();
    try {
      return room.isRemoved(memberId);
    } finally {
      room.release();
    }
  }

  // Liveness: every socket is checked once per `pingIntervalMs`. One we heard from since its
  // last check (a message, or the pong to a ping) is alive and is not pinged; one we did not
  // is pinged, and dropped at its next check if nothing arrived by then. So a dead peer is
  // dropped 2–3 periods after the last thing it sent, a peer that talks (the stock client
  // renews its presence every 15 s) is never pinged, and a silent one every other period: the
  // pings and their pongs were most of the idle CPU (docs/benchmarks.md). The sockets are
  // checked a tenth at a time, every tenth of the period: 19,500 pings at once were a burst
  // of ~0.3 s of CPU (a `write` each).
  let pingTick = 0;
  const pingTimer = setInterval(() => {
    const slice = pingTick++ % PING_SLICES;
    for (const ws of sockets) {
      if (ws.conn!.id % PING_SLICES !== slice) continue;
      if (ws.heard) {
        ws.heard = false;
        ws.pinged = false;
        continue;
      }
      if (ws.pinged) {
        stats.countClose(1006);
        ws.terminate();
        continue;
      }
      ws.pinged = true;
      // an empty ping frame, written like a broadcast (one `write` of a shared buffer)
      if (ws.readyState === WebSocket.OPEN) ws.raw!.write(PING_FRAME);
    }
  }, deps.pingIntervalMs / PING_SLICES);
  pingTimer.unref();

  return {
    async closeAll(): Promise<void> {
      clearInterval(pingTimer);
      // Close every socket with 1001 and wait for them (bounded): updates still arriving
      // during the close handshake are applied and stored before the rooms are flushed.
      await Promise.all(
        [...sockets].map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === WebSocket.CLOSED) return resolve();
              ws.once('close', () => resolve());
              if (ws.conn) ws.conn.closed = true;
              ws.close(CLOSE.goingAway, 'server shutting down'); // terminates after closeTimeoutMs
            }),
        ),
      );
    },
  };
}
