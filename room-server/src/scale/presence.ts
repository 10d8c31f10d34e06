/**
 * Presence across instances. Each instance holds a short lease in Redis and renews it; every
 * other instance remembers which remote awareness client ids belong to which instance, and
 * when an instance's lease is gone, removes its clients' presence at once instead of waiting
 * for the 30 s awareness timeout. With the defaults (lease 2 s, renewed every 500 ms, checked
 * every second) a dead instance's clients disappear within about 3 s.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { Awareness } from 'y-protocols/awareness';
import type { RoomHandle } from '../hooks.ts';
import { REMOTE_ORIGIN } from '../origins.ts';

/** The client ids in an awareness update, and whether each one is a removal (`null` state). */
export function awarenessClients(update: Uint8Array): { clientId: number; removed: boolean }[] {
  const d = decoding.createDecoder(update);
  const n = decoding.readVarUint(d);
  const out: { clientId: number; removed: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const clientId = decoding.readVarUint(d);
    decoding.readVarUint(d); // clock
    const state = decoding.readVarString(d);
    out.push({ clientId, removed: state === 'null' });
  }
  return out;
}

/**
 * Drops the removals of clients that are connected HERE from an awareness update sent by
 * another instance. A client that moved from instance A to this one is announced as removed
 * by A when A notices the old connection closed, which can be after the client re-announced
 * itself here with the same clock; applied as is, that removal would hide a live client.
 * Returns the update unchanged (same array) when nothing was dropped.
 */
export function withoutLocalRemovals(
  update: Uint8Array,
  isLocal: (clientId: number) => boolean,
): Uint8Array | null {
  const d = decoding.createDecoder(update);
  const n = decoding.readVarUint(d);
  const keep: { clientId: number; clock: number; state: string }[] = [];
  let dropped = false;
  for (let i = 0; i < n; i++) {
    const clientId = decoding.readVarUint(d);
    const clock = decoding.readVarUint(d);
    const state = decoding.readVarString(d);
    if (state === 'null' && isLocal(clientId)) dropped = true;
    else keep.push({ clientId, clock, state });
  }
  if (!dropped) return update;
  if (keep.length === 0) return null;
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, keep.length);
  for (const k of keep) {
    encoding.writeVarUint(e, k.clientId);
    encoding.writeVarUint(e, k.clock);
    encoding.writeVarString(e, k.state);
  }
  return encoding.toUint8Array(e);
}

/** Who owns which remote awareness client of one room. */
export class RemoteClients {
  readonly #owner = new Map<number, string>();

  /** Records the owners named by an awareness update that came from `instanceId`. */
  note(instanceId: string, update: Uint8Array): void {
    for (const { clientId, removed } of awarenessClients(update)) {
      if (removed) this.#owner.delete(clientId);
      else this.#owner.set(clientId, instanceId);
    }
  }

  isRemote(clientId: number): boolean {
    return this.#owner.has(clientId);
  }

  /** A client that showed up on a local connection is ours now (it moved instances). */
  claim(clientId: number): void {
    this.#owner.delete(clientId);
  }

  forget(clientId: number): void {
    this.#owner.delete(clientId);
  }

  instances(): Set<string> {
    return new Set(this.#owner.values());
  }

  /**
   * Removes the presence of every client of a dead instance. The host deletes the awareness
   * meta too: otherwise the same client reconnecting here with the same clock would be ignored
   * by `applyAwarenessUpdate` until its next renewal.
   */
  expire(instanceId: string, host: RoomHandle): number {
    const gone: number[] = [];
    for (const [clientId, owner] of this.#owner) if (owner === instanceId) gone.push(clientId);
    for (const id of gone) this.#owner.delete(id);
    if (gone.length === 0) return 0;
    host.removeRemoteAwareness(gone, REMOTE_ORIGIN);
    return gone.length;
  }

  /** Client ids with a state in `awareness` that belong to local connections. */
  localClients(awareness: Awareness): number[] {
    const out: number[] = [];
    for (const id of awareness.getStates().keys()) {
      if (id !== awareness.clientID && !this.#owner.has(id)) out.push(id);
    }
    return out;
  }
}
