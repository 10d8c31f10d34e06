import { randomBytes, randomInt } from 'node:crypto';

/** Unguessable ids (128 random bits) with a readable prefix: `pay_…`, `stl_…`. */
export function secretId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

/** Shorter ids where guessing is harmless (they sit behind a token check). ≤ 24 chars. */
export function shortId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

// No 0/O, 1/I/L: codes are read aloud at a counter.
const PICKUP_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** A 6-character pickup code, unique per store (the caller retries on a clash). */
export function pickupCode(): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += PICKUP_ALPHABET[randomInt(PICKUP_ALPHABET.length)];
  return s;
}

/**
 * An order's reference (8 characters of the same alphabet as pickup codes), which the shoppers
 * and the store's staff both see. Not a secret: completing an order takes the pickup code.
 */
export function orderRef(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += PICKUP_ALPHABET[randomInt(PICKUP_ALPHABET.length)];
  return s;
}
