/** Shared HTTP helpers: the app's env type, validation, and token checks. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { TokenError, verifyToken, type Role, type TokenClaims } from '@patungan/model';
import type { Ctx } from '../context.ts';
import type { EventBus } from '../events.ts';
import { SettlementError } from '../errors.ts';
import { NUL_MESSAGE } from '../schemas.ts';
import type { Stripe } from 'stripe';

export interface AppDeps {
  ctx: Ctx;
  bus: EventBus;
  secret: string;
  stripe: { client: Stripe; webhookSecret: string | undefined } | null;
  midtransServerKey: string | null;
  /** Resolves when the service is closing: long-lived streams end. */
  closing: AbortSignal;
  /**
   * Request body limits in bytes: `body` for every route, `largeBody` for the cart snapshot
   * (POST /settlements) and provider webhooks. Past it: 413 payload_too_large.
   */
  limits: { body: number; largeBody: number };
}

export type Env = { Variables: { claims?: TokenClaims } };
export type C = Context<Env>;

/** Parses with a zod schema; a failure is `400 invalid_request` naming every bad field. */
export function parse<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const nul = nulField(data, []);
  if (nul !== null) {
    const field = nul || '(body)';
    throw new SettlementError(400, 'invalid_request', `${field}: ${NUL_MESSAGE}`, {
      issues: [{ field, message: NUL_MESSAGE }],
    });
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    field: i.path.join('.') || '(body)',
    message: i.message,
  }));
  throw new SettlementError(
    400,
    'invalid_request',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    { issues },
  );
}

/**
 * The path of the first string or key holding U+0000 in parsed input (`''` for the input
 * itself), or null. Every field — enums and keys included — gets the same clear refusal
 * (schemas.ts `text()` says why).
 */
function nulField(v: unknown, path: (string | number)[]): string | null {
  if (typeof v === 'string') return v.includes('\u0000') ? path.join('.') : null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = nulField(v[i], [...path, i]);
      if (f !== null) return f;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('\u0000')) return [...path, k.replaceAll('\u0000', '\\u0000')].join('.');
      const f = nulField(x, [...path, k]);
      if (f !== null) return f;
    }
  }
  return null;
}

export async function jsonBody(c: C): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new SettlementError(400, 'invalid_request', 'The body is not valid JSON');
  }
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
    claims = await verifyToken(token, secret);
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
