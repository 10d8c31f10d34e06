/**
 * Transaction origins of the scaled mode. Updates tagged with these came from Redis (another
 * instance, or durable state during a load / resync): the core broadcasts them to its local
 * clients like any other update, but the scale layer never publishes or stores them again,
 * and write rules never judge them (they were judged on the instance that received them).
 */
export type ScaleOrigin = { readonly kind: 'remote' } | { readonly kind: 'storage' };

/** Shaped like the core's `RemoteOrigin` / `StorageOrigin` (hooks.ts), so the core accepts them. */
export const REMOTE_ORIGIN: ScaleOrigin = Object.freeze({ kind: 'remote' as const });
export const STORAGE_ORIGIN: ScaleOrigin = Object.freeze({ kind: 'storage' as const });

/** Whether an update with this origin was already durable before it was applied here. */
export function cameFromRedisOrStorage(origin: unknown): boolean {
  if (origin === REMOTE_ORIGIN || origin === STORAGE_ORIGIN) return true;
  if (origin === 'remote' || origin === 'storage') return true;
  if (origin !== null && typeof origin === 'object' && 'kind' in origin) {
    const kind = (origin as { kind: unknown }).kind;
    return kind === 'remote' || kind === 'storage';
  }
  return false;
}
