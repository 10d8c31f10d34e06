import { describe, expect, test } from 'vitest';
import * as encoding from 'lib0/encoding';
import type { Writable } from 'node:stream';
import * as wsModule from 'ws';
import { encodeSyncUpdate } from '../src/protocol.ts';
import { binaryFrame } from '../src/websocket.ts';

describe('protocol frames', () => {
  test('encodeSyncUpdate gives the bytes y-protocols would, at every length-prefix size', () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 70_000, 2_100_000]) {
      const update = new Uint8Array(n).map((_, i) => i % 251);
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint8Array(e, update);
      expect(
        Buffer.from(encodeSyncUpdate(update)).equals(Buffer.from(encoding.toUint8Array(e))),
      ).toBe(true);
    }
  });

  test('a broadcast frame is what a WebSocket client reads as the message, at every length size', () => {
    // the client side of `ws` (what y-websocket uses in Node): it reads unmasked server frames
    const { Receiver } = wsModule as unknown as {
      Receiver: new (o: { isServer: boolean; maxPayload: number }) => Writable;
    };
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    const got: Buffer[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(true);
      got.push(Buffer.from(data));
    });
    const sizes = [0, 1, 125, 126, 300, 65_535, 65_536, 2_100_000];
    const messages = sizes.map((n) => new Uint8Array(n).map((_, i) => (i * 7) % 256));
    for (const m of messages) receiver.write(binaryFrame(m));
    expect(got.map((b) => b.byteLength)).toEqual(sizes);
    for (let i = 0; i < sizes.length; i++) expect(got[i]!.equals(messages[i]!)).toBe(true);
  });
});
