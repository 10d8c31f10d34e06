/**
 * The room lifecycle as a few typed hooks. An extension is one object with any of them; the
 * server runs the extensions in the order given. The Redis scaled mode is one such extension
 * (see NEEDS-FROM-SCALE.md): it subscribes in `loadRoom`, publishes in `onUpdate` /
 * `onAwareness`, and applies what other instances publish with `room.applyRemoteUpdate` /
 * `room.applyRemoteAwareness` (origin `remote`: broadcast locally, not re-checked, not
 * re-stored, not handed back to `onUpdate`).
 */
import type { Registry } from 'prom-client';
import type { Connection } from './connection.ts';
import type { Room } from './room.ts';
import type { Principal } from './write-rules.ts';

/** Who caused a document or awareness change. Every transaction on a room doc has one. */
export type Origin = Connection | ServiceOrigin | RemoteOrigin | StorageOrigin;

export interface ServiceOrigin {
  readonly kind: 'service';
  /** What wrote: `finalise`, `settlement`, `write-rules` (a revert), … */
  readonly name: string;
}
export interface RemoteOrigin {
  readonly kind: 'remote';
  /** The instance the update came from, when known. */
  readonly instanceId?: string;
}
export interface StorageOrigin {
  readonly kind: 'storage';
}

export const STORAGE_ORIGIN: StorageOrigin = Object.freeze({ kind: 'storage' });
export const REMOTE_ORIGIN: RemoteOrigin = Object.freeze({ kind: 'remote' });
export const serviceOrigin = (name: string): ServiceOrigin =>
  Object.freeze({ kind: 'service', name });

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
   * When true, this extension stores updates itself (in `onUpdate`); the core then uses its
   * `RoomStorage` only to load and never appends or compacts.
   */
  readonly persistsUpdates?: boolean;
  /**
   * Replaces the default token check at the HTTP upgrade (JWT per docs/contracts.md "Join token"). Throw a
   * `TokenError` (model) for a 401 / 403.
   */
  authenticate?(ctx: AuthenticateContext): Promise<Principal>;
  /**
   * After the stored state is applied and before the room serves its first client (or
   * service write). A rejection refuses the waiting connections with 1013 and drops the room.
   */
  loadRoom?(room: Room): Promise<void>;
  /** The room left memory (after its last client left and the unload delay passed). */
  unloadRoom?(roomId: string): Promise<void>;
  /** Number of local connections of a room changed. */
  onConnections?(roomId: string, count: number): void;
  /**
   * Before a connection's update is applied. Throw `RefusedUpdate` to refuse it. May return
   * a promise (e.g. catch up with other instances first); that connection's later messages
   * wait for it. Keep the synchronous path fast: it runs for every update.
   */
  beforeApply?(room: Room, conn: Connection, update: Uint8Array): void | Promise<void>;
  /**
   * After every change of a room doc, with the update that was broadcast (a refused write
   * arrives together with its revert) and its origin. Service writes await the returned
   * promise before they answer.
   */
  onUpdate?(roomId: string, update: Uint8Array, origin: Origin): void | Promise<void>;
  /** After awareness states changed (added / updated / removed client ids). */
  onAwareness?(roomId: string, changedClients: number[], origin: Origin | null): void;
  /** Merged into `GET /healthz`; `status: 'degraded'` makes the whole answer degraded. */
  health?(): { status: 'ok' | 'degraded'; [k: string]: unknown };
  registerMetrics?(registry: Registry): void;
  /** After every room is flushed, before the process exits. */
  close?(): Promise<void>;
}
