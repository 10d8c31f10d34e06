/**
 * What an extension may see and do. An extension is one object with any of the typed hooks
 * of the room lifecycle below; the server runs the extensions in the order given. A room is
 * handed to a hook as a `RoomHandle` (its document, its awareness, and the three ways to
 * apply what is durable elsewhere), never as the core's `Room` class.
 *
 * Storage (`RoomStorage`, storage/types.ts) and cross-instance fan-out (`RoomBus`, bus.ts)
 * are not extensions: they are the two seams of the room core (docs/decisions/0006).
 */
import type { Registry } from 'prom-client';
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { Connection } from './connection.ts';
import type { DurableOrigin, Origin } from './origins.ts';
import type { Principal } from './write-rules.ts';

/**
 * A loaded room as an extension or a bus sees it. What it applies through the three methods
 * (origin `remote` by default, or `storage`) is broadcast to the room's local connections but
 * not judged by the write rules, not stored and not published again.
 */
export interface RoomHandle {
  readonly id: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** Applies an update that is durable elsewhere (another instance, storage). */
  applyRemoteUpdate(update: Uint8Array, origin?: DurableOrigin): void;
  /** Applies awareness from another instance. */
  applyRemoteAwareness(update: Uint8Array, origin?: DurableOrigin): void;
  /** Removes clients' presence and their awareness meta (so the same clock is accepted again). */
  removeRemoteAwareness(clientIds: number[], origin?: DurableOrigin): void;
}

/** Thrown by `beforeApply` to refuse an update: the connection is told and closed. */
export class RefusedUpdate extends Error {
  constructor(
    message: string,
    /** Close code for the connection (default 1008). */
    readonly closeCode = 1008,
  ) {
    super(message);
    this.name = 'RefusedUpdate';
  }
}

export interface AuthenticateContext {
  roomId: string;
  token: string | null;
  headers: Record<string, string | string[] | undefined>;
}

export interface RoomExtension {
  /** A name for logs. */
  readonly name?: string;
  /**
   * Replaces the default token check at the HTTP upgrade (the join token of docs/contracts.md
   * "Room connection"). Throw a `TokenError` (model) for a 401 / 403.
   */
  authenticate?(ctx: AuthenticateContext): Promise<Principal>;
  /**
   * After the stored state is applied and before the room serves its first client (or
   * service write). A rejection refuses the waiting connections with 1013 and drops the room.
   */
  loadRoom?(room: RoomHandle): Promise<void>;
  /** The room left memory (after its last client left and the unload delay passed). */
  unloadRoom?(roomId: string): Promise<void>;
  /** Number of local connections of a room changed. */
  onConnections?(roomId: string, count: number): void;
  /**
   * Before a connection's update is applied. Throw `RefusedUpdate` to refuse it. May return
   * a promise; that connection's later messages wait for it. Keep the synchronous path fast:
   * it runs for every update.
   */
  beforeApply?(room: RoomHandle, conn: Connection, update: Uint8Array): void | Promise<void>;
  /**
   * After every local change of a room doc (connections, service writes; not what came from
   * storage or another instance), with the update that was stored and its origin. The
   * broadcast and the answer of a service write wait for the returned promise.
   */
  onUpdate?(roomId: string, update: Uint8Array, origin: Origin): void | Promise<void>;
  /** After awareness states changed by a local connection (added / updated / removed ids). */
  onAwareness?(roomId: string, changedClients: number[], origin: Origin | null): void;
  /** Merged into `GET /healthz`; `status: 'degraded'` makes the whole answer degraded. */
  health?(): { status: 'ok' | 'degraded'; [k: string]: unknown };
  registerMetrics?(registry: Registry): void;
  /** After every room is flushed, before the process exits. */
  close?(): Promise<void>;
}
