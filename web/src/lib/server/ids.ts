/** Random identifiers. Alphabets leave out look-alikes (0/O, 1/I/L) where people type them. */
import { randomBytes, randomInt, createHash } from 'node:crypto';

const HUMAN = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A code people read aloud or type: `length` characters from {@link HUMAN}. */
export function humanCode(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += HUMAN[randomInt(HUMAN.length)];
  return s;
}

/** Normalises what a person typed into a code: upper case, no spaces or dashes. */
export function normaliseCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '');
}

export const isHumanCode = (s: string, length: number) =>
  s.length === length && [...s].every((c) => HUMAN.includes(c));

/** An opaque id safe in URLs, room ids (`[A-Za-z0-9_-]`) and vote keys (no `:`). */
export function opaqueId(prefix: string, bytes = 12): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}
