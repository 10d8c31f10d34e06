import { describe, expect, test } from 'vitest';
import * as encoding from 'lib0/encoding';
import { encodeSyncUpdate } from '../src/protocol.ts';

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
});
