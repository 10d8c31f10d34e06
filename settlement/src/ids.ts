import { randomBytes, randomInt } from 'node:crypto';
import { currentRegionCode } from './region-scope.ts';

/**
 * Inside a region (region-scope.ts) an id names it: `stl_<code>-<random>`. Only URL-safe
 * characters (web checks ids against `[A-Za-z0-9_-]`), and never mistaken for an old id:
 * those have exactly 12 (shortId) or 22 (secretId) characters after the `_`, a regional id
 * 16 or 26 (regions.ts codeOfId).
 */
function regional(prefix: string, random: string): string {
  const code = currentRegionCode();
  return code ? `${prefix}_${code}-${random}` : `${prefix}_${random}`;
}

/** Unguessable ids (128 random bits) with a readable prefix: `pay_…`, `stl_…`. */
export function secretId(prefix: string): string {
  return regional(prefix, randomBytes(16).toString('base64url'));
}

/** Shorter ids where guessing is harmless (they sit behind a token check). ≤ 24 chars. */
export function shortId(prefix: string): string {
  return regional(prefix, randomBytes(9).toString('base64url'));
}

// No 0/O, 1/I/L: codes are read aloud at a counter.
export const PICKUP_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** A 6-character pickup code, unique per store (the caller retries on a clash). */
export function pickupCode(): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += PICKUP_ALPHABET[randomInt(PICKUP_ALPHABET.length)];
  return s;
}

/**
 * An order's reference (8 characters of the same alphabet as pickup codes), which the shoppers
 * and the store's staff both see. Not a secret: completing an order takes the pickup code.
 * Inside a region it starts with the region's code: `K7Q-ABCD2345`.
 */
export function orderRef(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += PICKUP_ALPHABET[randomInt(PICKUP_ALPHABET.length)];
  const code = currentRegionCode();
  return code ? `${code}-${s}` : s;
}
