/**
 * Which region the current request or worker run belongs to (docs/contracts.md "Regions"):
 * the router runs a region's requests and worker loops inside `inRegion(code, …)`, and ids.ts
 * puts the code into every settlement, payment, attempt and order id and every order
 * reference made there, so any instance routes them later without a lookup. Outside a region
 * (one database, or the central database's own stores) ids keep their old form.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string>();

/** Runs `fn` with `code` as the current region code (3 characters; see regions.ts). */
export function inRegion<T>(code: string | null, fn: () => T): T {
  return code ? scope.run(code, fn) : fn();
}

/** The current region's code, or undefined outside a region. */
export function currentRegionCode(): string | undefined {
  return scope.getStore();
}
