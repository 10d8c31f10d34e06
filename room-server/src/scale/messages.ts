/**
 * What instances say to each other on a room's sharded channel (and on an instance's inbox).
 *
 *   update     type 0 | instance id | seq (decimal string) | Yjs update (rest of the frame)
 *   awareness  type 1 | instance id | awareness update (rest)
 *   query      type 2 | instance id                      "send me your clients' presence"
 *   presence   type 3 | instance id | room id | awareness update (rest)   (inbox only)
 *
 * Strings are lib0 var-strings (a varuint length, then UTF-8). The update frame is built by
 * the append script in Lua (see store.ts), which is why its sequence number is a short
 * decimal string: a string of < 128 bytes is one length byte followed by its bytes, which Lua
 * can write with `string.char(#s) .. s`.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export const MSG_UPDATE = 0;
export const MSG_AWARENESS = 1;
export const MSG_QUERY = 2;
export const MSG_PRESENCE = 3;

export type ScaleMessage =
  | { type: typeof MSG_UPDATE; from: string; seq: number; update: Uint8Array }
  | { type: typeof MSG_AWARENESS; from: string; update: Uint8Array }
  | { type: typeof MSG_QUERY; from: string }
  | { type: typeof MSG_PRESENCE; from: string; roomId: string; update: Uint8Array };

/** The bytes in front of the seq of an update frame; the Lua script appends seq and update. */
export function updateHeader(instanceId: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_UPDATE);
  encoding.writeVarString(e, instanceId);
  return encoding.toUint8Array(e);
}

/** The same frame as the Lua script builds (used by tests and by the test hooks). */
export function encodeUpdate(instanceId: string, seq: number, update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_UPDATE);
  encoding.writeVarString(e, instanceId);
  encoding.writeVarString(e, String(seq));
  encoding.writeUint8Array(e, update);
  return encoding.toUint8Array(e);
}

export function encodeAwareness(instanceId: string, update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_AWARENESS);
  encoding.writeVarString(e, instanceId);
  encoding.writeUint8Array(e, update);
  return encoding.toUint8Array(e);
}

export function encodeQuery(instanceId: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_QUERY);
  encoding.writeVarString(e, instanceId);
  return encoding.toUint8Array(e);
}

export function encodePresence(instanceId: string, roomId: string, update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_PRESENCE);
  encoding.writeVarString(e, instanceId);
  encoding.writeVarString(e, roomId);
  encoding.writeUint8Array(e, update);
  return encoding.toUint8Array(e);
}

/** Decodes a frame; throws on a malformed one (the caller counts and drops it). */
export function decodeMessage(bytes: Uint8Array): ScaleMessage {
  const d = decoding.createDecoder(bytes);
  const type = decoding.readVarUint(d);
  const from = decoding.readVarString(d);
  const rest = () => bytes.subarray(d.pos);
  switch (type) {
    case MSG_UPDATE: {
      const seq = Number(decoding.readVarString(d));
      if (!Number.isSafeInteger(seq) || seq < 1) throw new Error('bad sequence number');
      return { type, from, seq, update: rest() };
    }
    case MSG_AWARENESS:
      return { type, from, update: rest() };
    case MSG_QUERY:
      return { type, from };
    case MSG_PRESENCE: {
      const roomId = decoding.readVarString(d);
      return { type, from, roomId, update: rest() };
    }
    default:
      throw new Error(`unknown scale message type ${type}`);
  }
}
