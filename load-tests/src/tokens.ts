/**
 * Join tokens for simulated members: minted with model's `signToken` when the secret is known,
 * or fetched from a token URL (for deployments whose secret the tester does not hold).
 *
 * Token URL contract: `GET <token-url>?room=<roomId>&member=<memberId>&role=<organiser|member>
 * &name=<display name>` answers `200 {"token": "<JWT>"}`.
 */
import { signToken } from '@patungan/model';
import type { MemberRole } from './member.ts';

export interface TokenRequest {
  roomId: string;
  memberId: string;
  name: string;
  role: MemberRole;
}

export type TokenSource = (req: TokenRequest) => Promise<string>;

export class TokenFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenFetchError';
  }
}

export function mintingTokenSource(secret: string, ttlSeconds = 6 * 3600): TokenSource {
  return (r) =>
    signToken({ sub: r.memberId, room: r.roomId, name: r.name, role: r.role }, secret, {
      ttlSeconds,
    });
}

export function fetchingTokenSource(tokenUrl: string, timeoutMs = 10_000): TokenSource {
  return async (r) => {
    const url = new URL(tokenUrl);
    url.searchParams.set('room', r.roomId);
    url.searchParams.set('member', r.memberId);
    url.searchParams.set('role', r.role);
    url.searchParams.set('name', r.name);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new TokenFetchError(`token URL ${url.origin}: ${(err as Error).message}`);
    }
    if (!res.ok) throw new TokenFetchError(`token URL answered ${res.status}`);
    const body = (await res.json().catch(() => null)) as { token?: unknown } | null;
    if (!body || typeof body.token !== 'string' || !body.token) {
      throw new TokenFetchError('token URL must answer {"token": "<JWT>"}');
    }
    return body.token;
  };
}
