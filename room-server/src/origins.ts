/**
 * Who caused a change of a room's document or awareness: the one module that defines the
 * transaction origins, for the core and for the scaled mode alike. Every transaction on a
 * room doc has one of these as its origin.
 */
import type { Connection } from './connection.ts';

/** A client connection (`kind: 'connection'`), a service write, another instance, or storage. */
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

/** The origins of what is durable already: loaded from storage or sent by another instance. */
export type DurableOrigin = RemoteOrigin | StorageOrigin;

export const STORAGE_ORIGIN: StorageOrigin = Object.freeze({ kind: 'storage' });
export const REMOTE_ORIGIN: RemoteOrigin = Object.freeze({ kind: 'remote' });
export const serviceOrigin = (name: string): ServiceOrigin =>
  Object.freeze({ kind: 'service', name });

/**
 * Whether a change with this origin was durable before it was applied here (it came from
 * storage or from another instance): broadcast locally, but never checked, stored or
 * published again.
 */
export function isDurableOrigin(origin: unknown): origin is DurableOrigin {
  if (origin === null || typeof origin !== 'object' || !('kind' in origin)) return false;
  const kind = (origin as { kind: unknown }).kind;
  return kind === 'remote' || kind === 'storage';
}
