/**
 * Join tokens: HS256 JWTs signed with ROOM_TOKEN_SECRET (see docs/contracts.md "Join token").
 * Web issues member / organiser tokens, settlement and the room-server use service tokens
 * between themselves, and staff tokens name a store instead of a room.
 */
import { SignJWT, jwtVerify, errors } from 'jose';

export type Role = 'organiser' | 'member' | 'service' | 'staff';
export const ROLES: readonly Role[] = ['organiser', 'member', 'service', 'staff'];

export interface TokenClaims {
  /** Member id (for service tokens: the service's name). */
  sub: string;
  /** Room id; `*` on a service token means every room. Absent on staff tokens. */
  room?: string;
  /** Store id, on staff tokens. */
  store?: string;
  name: string;
  role: Role;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type TokenErrorCode = 'missing' | 'invalid' | 'expired' | 'wrong_room' | 'wrong_role';

export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
  /** 401 when we do not know who you are, 403 when we do and you may not. */
  get status(): 401 | 403 {
    return this.code === 'wrong_room' || this.code === 'wrong_role' ? 403 : 401;
  }
}

/**
 * One imported HMAC key per secret: jose imports a raw `Uint8Array` secret on every call
 * (Web Crypto `importKey`), which made a token check ~45 % dearer (110 µs against 60 µs of
 * CPU here) — it adds up when thousands of clients reconnect at once.
 */
const keyCache = new Map<string, Promise<CryptoKey>>();
function key(secret: string): Promise<CryptoKey> {
  let k = keyCache.get(secret);
  if (!k) {
    k = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keyCache.set(secret, k);
  }
  return k;
}

export interface SignOptions {
  /** Lifetime in seconds (default 12 h). */
  ttlSeconds?: number;
  /** Clock override for tests, in seconds. */
  now?: number;
}

export async function signToken(
  claims: Omit<TokenClaims, 'exp'> & { exp?: number },
  secret: string,
  opts: SignOptions = {},
): Promise<string> {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const exp = claims.exp ?? now + (opts.ttlSeconds ?? 12 * 3600);
  const { sub, ...rest } = claims;
  return new SignJWT({ ...rest, exp })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(now)
    .sign(await key(secret));
}

function isRole(r: unknown): r is Role {
  return typeof r === 'string' && (ROLES as readonly string[]).includes(r);
}

/** Verifies signature, expiry and shape. Throws {@link TokenError}. */
export async function verifyToken(
  token: string | null | undefined,
  secret: string,
): Promise<TokenClaims> {
  if (!token) throw new TokenError('missing', 'a join token is required');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, await key(secret), { algorithms: ['HS256'] }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new TokenError('expired', 'the token has expired');
    throw new TokenError('invalid', 'the token is not valid');
  }
  const { sub, room, store, name, role, exp } = payload;
  if (typeof sub !== 'string' || !sub || !isRole(role) || typeof exp !== 'number') {
    throw new TokenError('invalid', 'the token is missing claims');
  }
  if (role === 'staff' ? typeof store !== 'string' : typeof room !== 'string') {
    throw new TokenError(
      'invalid',
      role === 'staff' ? 'staff token without store' : 'token without room',
    );
  }
  return {
    sub,
    role,
    exp,
    name: typeof name === 'string' ? name : sub,
    ...(typeof room === 'string' ? { room } : {}),
    ...(typeof store === 'string' ? { store } : {}),
  };
}

/** Whether these claims let their holder connect to `roomId`. */
export function tokenAllowsRoom(claims: TokenClaims, roomId: string): boolean {
  if (claims.role === 'staff') return false;
  return claims.room === roomId || (claims.role === 'service' && claims.room === '*');
}

/** Verifies and checks the room in one step: throws `wrong_room` (403) for another room. */
export async function verifyRoomToken(
  token: string | null | undefined,
  secret: string,
  roomId: string,
): Promise<TokenClaims> {
  const claims = await verifyToken(token, secret);
  if (!tokenAllowsRoom(claims, roomId)) {
    throw new TokenError('wrong_room', 'this token is for another room');
  }
  return claims;
}

export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export function isRoomId(id: unknown): id is string {
  return typeof id === 'string' && ROOM_ID_PATTERN.test(id);
}
