/**
 * The bound on a room's document (docs/contracts.md "Limits", `MAX_ROOM_BYTES`).
 *
 * The size is the encoded state (`Y.encodeStateAsUpdate`), which costs a pass over the whole
 * document; so it is measured once (on the first write after the room loaded) and then kept as
 * an upper bound by adding the size of every update the document emits. Only when an update
 * that adds content would take that bound past the limit is the document measured again
 * (deletions may have made it smaller); when it would still pass, the update is refused. An
 * update that adds nothing (only deletions) is never refused, so a full room can always be
 * made smaller.
 */
import * as Y from 'yjs';
import { sizeReason } from './write-rules.ts';

export class RoomSize {
  /** Upper bound of the encoded document size. */
  private bytes: number;
  /** Whether `bytes` is the measured size (nothing changed since the measurement). */
  private exact = true;

  constructor(
    private readonly doc: Y.Doc,
    readonly maxBytes: number,
  ) {
    this.bytes = Y.encodeStateAsUpdate(doc).byteLength;
    doc.on('update', (update: Uint8Array) => {
      this.bytes += update.byteLength;
      this.exact = false;
    });
  }

  /** The refusal reason for an update of `incoming` bytes that adds content, or null. */
  refusal(incoming: number): string | null {
    if (this.bytes + incoming <= this.maxBytes) return null;
    if (!this.exact) {
      this.bytes = Y.encodeStateAsUpdate(this.doc).byteLength;
      this.exact = true;
    }
    return this.bytes + incoming > this.maxBytes ? sizeReason(this.maxBytes) : null;
  }

  /** The size as last measured or bounded (for tests and logs). */
  get upperBound(): number {
    return this.bytes;
  }
}
