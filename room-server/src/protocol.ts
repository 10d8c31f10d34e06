/**
 * The y-websocket wire protocol, as the stock client speaks it: every binary frame starts with
 * a varUint message type; sync messages carry a sub type (step 1 / step 2 / update) and a
 * varUint8Array payload. Encoders here build a whole frame in one buffer so that a broadcast
 * is encoded once and the same bytes go to every connection.
 */
import * as encoding from 'lib0/encoding';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

/** y-protocols/auth: the only auth message there is. */
export const AUTH_PERMISSION_DENIED = 0;

/** WebSocket close codes the server uses, named once (RFC 6455 §7.4.1). */
export const CLOSE = {
  /** Server shutting down; the client reconnects elsewhere / later. */
  goingAway: 1001,
  /** Not a y-websocket frame. */
  protocolError: 1002,
  /** Text frame or unknown message type. */
  unsupportedData: 1003,
  /** A frame whose Yjs / awareness payload does not decode. */
  invalidPayload: 1007,
  /** Rate limit, client id already in use, an update that depends on unknown state. */
  policyViolation: 1008,
  /** Larger than the maximum message size (sent by `ws` itself). */
  messageTooBig: 1009,
  /** Unexpected server error while handling this connection. */
  internalError: 1011,
  /** Slow consumer (send buffer over its bound) or room not loadable right now: reconnect. */
  tryAgainLater: 1013,
  /**
   * The member left or was removed from the room (`members[<id>].removedAt`): do not
   * reconnect (docs/contracts.md "Leaving and removal").
   */
  removed: 4401,
} as const;

function frame(type: number, sub: number, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  encoding.writeVarUint(e, sub);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

export const encodeSyncStep1 = (stateVector: Uint8Array): Uint8Array =>
  frame(MESSAGE_SYNC, SYNC_STEP1, stateVector);

export const encodeSyncStep2 = (update: Uint8Array): Uint8Array =>
  frame(MESSAGE_SYNC, SYNC_STEP2, update);

/**
 * A sync update message, allocated once at its exact size (this runs for every broadcast).
 * The same bytes as `frame(MESSAGE_SYNC, SYNC_UPDATE, update)`.
 */
export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  const n = update.byteLength;
  let lenBytes = 1;
  for (let v = n; v > 0x7f; v = Math.floor(v / 128)) lenBytes++;
  const out = new Uint8Array(2 + lenBytes + n);
  out[0] = MESSAGE_SYNC;
  out[1] = SYNC_UPDATE;
  let i = 2;
  let v = n;
  while (v > 0x7f) {
    out[i++] = 0x80 | (v & 0x7f);
    v = Math.floor(v / 128);
  }
  out[i++] = v;
  out.set(update, i);
  return out;
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

export function encodePermissionDenied(reason: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_AUTH);
  encoding.writeVarUint(e, AUTH_PERMISSION_DENIED);
  encoding.writeVarString(e, reason);
  return encoding.toUint8Array(e);
}

/** Thrown while handling a frame: the connection is closed with `code`, the process goes on. */
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
