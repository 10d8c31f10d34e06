/** Shared HTTP helpers: the app's env type, validation, and token checks. */
import type { Context } from 'hono';
import { TokenError, verifyToken, type Role, type TokenClaims } from '@patungan/model';
import type { Ctx } from '../context.ts';
import type { EventBus } from '../events.ts';
import { SettlementError } from '../errors.ts';

export interface AppDeps {
  ctx: Ctx;
  bus: EventBus;
  secret: string;
  /** Resolves when the service is closing: long-lived streams end. */
  closing: AbortSignal;
  /**
   * Request body limits in bytes: `body` for every route, `largeBody` for the cart snapshot
   * (POST /settlements), provider webhooks and a stock CSV import. Past it: 413
   * payload_too_large.
   */
  limits: { body: number; largeBody: number };
  /** Review writes per member per minute (`REVIEW_WRITES_PER_MINUTE`, default 10; 0 = off). */
  reviewWritesPerMinute?: number;
}

export type Env = { Variables: { claims?: TokenClaims } };
export type C = Context<Env>;

// `parse` lives in validate.ts so that providers (webhook bodies) use the same refusals.
export { parse } from '../validate.ts';

export async function jsonBody(c: C): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new SettlementError(400, 'invalid_request', 'The body is not valid JSON');
  }
}

/**
 * Tokens that verified, by secret and text, with their claims: the same token comes back on
 * request after request (the room-server's service token on every finalise, a member's on
 * each poll), and a check is a Web Crypto HMAC handed to the thread pool (~0.1 ms of CPU and
 * two thread switches per request). A hit is the identical string that verified under the
 * same secret, so its signature and claims are what they were; only the expiry is checked
 * again (jose refuses at `exp` ≤ now). Failures are never kept. Bounded: the oldest entry
 * goes first.
 */
const VERIFIED_MAX = 2000;
const verified = new Map<string, Map<string, TokenClaims>>();

async function verifyCached(token: string | null, secret: string): Promise<TokenClaims> {
  let bySecret = verified.get(secret);
  const hit = token ? bySecret?.get(token) : undefined;
  if (hit && hit.exp * 1000 > Date.now()) return hit;
  if (hit) bySecret!.delete(token!);
  const claims = await verifyToken(token, secret);
  if (!bySecret) verified.set(secret, (bySecret = new Map()));
  if (bySecret.size >= VERIFIED_MAX) bySecret.delete(bySecret.keys().next().value!);
  bySecret.set(token!, claims);
  return claims;
}

/** Verifies the bearer token; 401 when missing or invalid, 403 for a role not in `roles`. */
export async function authenticate(
  c: C,
  secret: string,
  roles: readonly Role[],
): Promise<TokenClaims> {
  const header = c.req.header('authorization') ?? '';
  const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : null;
  let claims: TokenClaims;
  try {
    claims = await verifyCached(token, secret);
  } catch (err) {
    if (err instanceof TokenError) {
      throw new SettlementError(
        401,
        'unauthorized',
        `${err.message}: send Authorization: Bearer <token>`,
      );
    }
    throw err;
  }
  if (!roles.includes(claims.role)) {
    throw new SettlementError(403, 'forbidden', `A ${claims.role} token may not do this`);
  }
  return claims;
}

/** Member / organiser of `roomId`, or a service token for it (or for every room). */
export function allowsRoom(claims: TokenClaims, roomId: string): boolean {
  if (claims.role === 'service') return claims.room === '*' || claims.room === roomId;
  return (claims.role === 'member' || claims.role === 'organiser') && claims.room === roomId;
}

export function forbidden(message: string): SettlementError {
  return new SettlementError(403, 'forbidden', message);
}
