/**
 * A room's presence (awareness) store: what y-protocols' `Awareness` keeps for a server that
 * has no presence of its own, without the rest (an event emitter with a map of listener sets,
 * the document, a destroy listener on it, a local-state slot): ~1.2 KB less per room, ~4.7 MB
 * at 3,900 rooms (docs/decisions/0018-room-server-per-edit-and-presence.md).
 *
 * Same wire protocol (an awareness update: count, then per client its id, clock and JSON state,
 * `null` for a removal) and the same rules as y-protocols: an entry is taken when its clock is
 * newer than the stored one, or equal and a removal of a known state. The stock client works
 * with it unchanged.
 *
 * It also has the shape y-protocols' functions read and write (views `states` and `meta`,
 * `clientID`, `getStates`, `getLocalState`, `emit`), so `applyAwarenessUpdate`, `encodeAwarenessUpdate`
 * and `removeAwarenessStates` from y-protocols work on it too (the scaled mode's room sync
 * uses them): `RoomHandle.awareness` keeps y-protocols' `Awareness` type for them.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export interface PresenceChanges {
  added: number[];
  updated: number[];
  removed: number[];
}

/** One client's presence: its clock, when it was last renewed, its state as JSON text. */
export interface PresenceEntry {
  clock: number;
  lastUpdated: number;
  /** The JSON text the client sent (validated), or null once removed. */
  state: string | null;
}

export class Presence {
  /**
   * Client id → its entry. One map, one small object per client, the state kept as the JSON
   * text it arrived as (smaller than the parsed value, and sent on as it is). An entry stays
   * after a removal (its clock), like y-protocols' `meta`.
   */
  readonly entries = new Map<number, PresenceEntry>();
  /** Called with what an update or a removal changed (y-protocols' 'update' event). */
  onUpdate: ((changes: PresenceChanges, origin: unknown) => void) | null = null;

  /** `clientID`: the server's own awareness id (y-protocols' `Awareness.clientID`); it never has a state. */
  constructor(readonly clientID: number) {}

  /** Whether `client` has a state now. */
  has(client: number): boolean {
    const e = this.entries.get(client);
    return e !== undefined && e.state !== null;
  }

  /** The clients with a state now. */
  clients(): number[] {
    const out: number[] = [];
    for (const [client, e] of this.entries) if (e.state !== null) out.push(client);
    return out;
  }

  /** Forgets a client entirely (its clock too: the same clock is accepted again). */
  forget(client: number): void {
    this.entries.delete(client);
  }

  /**
   * Applies an awareness update (throws on one that does not decode, or a state that is not
   * JSON). Same semantics as y-protocols' `applyAwarenessUpdate`.
   */
  apply(update: Uint8Array, origin: unknown): void {
    const d = decoding.createDecoder(update);
    const now = Date.now();
    const n = decoding.readVarUint(d);
    let changes: PresenceChanges | null = null;
    for (let i = 0; i < n; i++) {
      const client = decoding.readVarUint(d);
      const clock = decoding.readVarUint(d);
      const text = decoding.readVarString(d);
      // validated here, so that no client is sent a state it cannot parse
      const state = JSON.parse(text) === null ? null : text;
      const e = this.entries.get(client);
      const current = e === undefined ? 0 : e.clock;
      if (!(current < clock || (current === clock && state === null && e?.state != null))) {
        continue;
      }
      if (e) {
        e.clock = clock;
        e.lastUpdated = now;
      } else {
        this.entries.set(client, { clock, lastUpdated: now, state });
      }
      changes ??= { added: [], updated: [], removed: [] };
      if (e === undefined) {
        if (state !== null) changes.added.push(client);
      } else {
        e.state = state;
        if (state === null) changes.removed.push(client);
        else changes.updated.push(client);
      }
    }
    if (changes && this.onUpdate) this.onUpdate(changes, origin);
  }

  /** An awareness update with the current state (or `null`) and clock of each of `clients`. */
  encode(clients: readonly number[]): Uint8Array {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, clients.length);
    for (const client of clients) {
      const entry = this.entries.get(client);
      encoding.writeVarUint(e, client);
      encoding.writeVarUint(e, entry?.clock ?? 0);
      encoding.writeVarString(e, entry?.state ?? 'null');
    }
    return encoding.toUint8Array(e);
  }

  /** Removes the states of `clients` (their clock goes up by one, as in y-protocols). */
  remove(clients: readonly number[], origin: unknown): void {
    const removed: number[] = [];
    const now = Date.now();
    for (const client of clients) {
      const e = this.entries.get(client);
      if (!e || e.state === null) continue;
      e.state = null;
      e.clock++;
      e.lastUpdated = now;
      removed.push(client);
    }
    if (removed.length > 0 && this.onUpdate) {
      this.onUpdate({ added: [], updated: [], removed }, origin);
    }
  }

  destroy(): void {
    this.onUpdate = null;
    this.entries.clear();
  }

  // ------------------------------------------ the shape y-protocols' functions read and write

  /** y-protocols' `Awareness.states`: client id → parsed state (a view, made on each access). */
  get states(): MapView<unknown> {
    const entries = this.entries;
    const live = () => [...entries].filter(([, e]) => e.state !== null);
    return {
      get: (c) => {
        const s = entries.get(c)?.state;
        return s == null ? undefined : (JSON.parse(s) as unknown);
      },
      has: (c) => this.has(c),
      set: (c, v) => {
        const e = entries.get(c);
        const state = JSON.stringify(v ?? null);
        if (e) e.state = v == null ? null : state;
        else entries.set(c, { clock: 0, lastUpdated: Date.now(), state: v == null ? null : state });
      },
      delete: (c) => {
        const e = entries.get(c);
        if (!e || e.state === null) return false;
        e.state = null;
        return true;
      },
      keys: () => this.clients().values(),
      forEach: (f) => {
        for (const [c, e] of live()) f(JSON.parse(e.state!) as unknown, c);
      },
      get size() {
        return live().length;
      },
    };
  }

  /** y-protocols' `Awareness.meta`: client id → { clock, lastUpdated } (a view). */
  get meta(): MapView<{ clock: number; lastUpdated: number }> {
    const entries = this.entries;
    return {
      get: (c) => entries.get(c),
      has: (c) => entries.has(c),
      set: (c, m) => {
        const e = entries.get(c);
        if (e) {
          e.clock = m.clock;
          e.lastUpdated = m.lastUpdated;
        } else entries.set(c, { clock: m.clock, lastUpdated: m.lastUpdated, state: null });
      },
      delete: (c) => entries.delete(c),
      keys: () => entries.keys(),
      forEach: (f) => entries.forEach((e, c) => f(e, c)),
      get size() {
        return entries.size;
      },
    };
  }

  getStates(): MapView<unknown> {
    return this.states;
  }

  /** The server never has a presence of its own. */
  getLocalState(): null {
    return null;
  }

  /** For y-protocols' functions: their 'update' event is `onUpdate`; 'change' has no listener. */
  emit(name: string, args: unknown[]): void {
    if (name === 'update' && this.onUpdate) {
      this.onUpdate(args[0] as PresenceChanges, args[1]);
    }
  }
}

/** The part of `Map` that y-protocols' awareness functions and the scaled mode's sync use. */
export interface MapView<V> {
  get(client: number): V | undefined;
  has(client: number): boolean;
  set(client: number, value: V): void;
  delete(client: number): boolean;
  keys(): IterableIterator<number>;
  forEach(f: (value: V, client: number) => void): void;
  readonly size: number;
}
