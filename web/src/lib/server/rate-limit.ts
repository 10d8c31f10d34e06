/**
 * Per-client request limits, in this process (issue 10 item 11): a token bucket per
 * (bucket, client address). A bucket of `perMinute` tokens refills continuously at
 * `perMinute` per minute; a request takes one token, and without one it is refused with 429 and
 * `Retry-After` (seconds until a token is back). Several web instances each keep their own
 * counts, so a client behind a balancer gets up to N times the limit; the per-account login
 * limit (auth.ts) lives in the database and holds across instances.
 *
 * | bucket | what it counts | env (per minute, 0 = off) | default |
 * | --- | --- | --- | --- |
 * | join | GET and POST `/join/<code>` (room codes, guest joins) | RATE_LIMIT_JOIN_PER_MINUTE | 60 |
 * | auth | POST `/login`, `/register`, `/profile?/password`, `/profile?/claim` | RATE_LIMIT_AUTH_PER_MINUTE | 30 |
 *
 * The client address is the socket's, or the header named by adapter-node's ADDRESS_HEADER
 * (with XFF_DEPTH) behind a proxy; set those, or every client behind the proxy shares one bucket.
 */
export type Bucket = 'join' | 'auth';

const DEFAULTS: Record<Bucket, number> = { join: 60, auth: 30 };
const ENV: Record<Bucket, string> = {
  join: 'RATE_LIMIT_JOIN_PER_MINUTE',
  auth: 'RATE_LIMIT_AUTH_PER_MINUTE',
};
/** Never more than this many clients tracked per bucket (the oldest are dropped first). */
const MAX_KEYS = 50_000;

export function limitPerMinute(bucket: Bucket, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[ENV[bucket]];
  if (raw === undefined || raw === '') return DEFAULTS[bucket];
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : DEFAULTS[bucket];
}

interface State {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #states = new Map<string, State>();
  constructor(
    readonly perMinute: number,
    readonly maxKeys = MAX_KEYS,
  ) {}

  /** Takes a token for `key`: 0 when allowed, else the seconds to wait (Retry-After). */
  take(key: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const rate = this.perMinute / 60_000; // tokens per ms
    let s = this.#states.get(key);
    if (s) {
      this.#states.delete(key); // re-insert: the Map's order is least recently used first
      s.tokens = Math.min(this.perMinute, s.tokens + (now - s.at) * rate);
      s.at = now;
    } else {
      s = { tokens: this.perMinute, at: now };
    }
    this.#states.set(key, s);
    if (this.#states.size > this.maxKeys) {
      this.#states.delete(this.#states.keys().next().value!);
    }
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - s.tokens) / rate / 1000));
  }
}

const limiters = new Map<Bucket, RateLimiter>();

/** The process-wide limiter of a bucket (its limit read from the environment on first use). */
export function limiter(bucket: Bucket): RateLimiter {
  let l = limiters.get(bucket);
  if (!l) {
    l = new RateLimiter(limitPerMinute(bucket));
    limiters.set(bucket, l);
  }
  return l;
}

/** Which bucket a request falls in, or null when it is not limited. */
export function bucketOf(method: string, url: URL): Bucket | null {
  const path = url.pathname;
  if (/^\/join\/[^/]+\/?$/.test(path)) return 'join';
  if (method !== 'POST') return null;
  if (path === '/login' || path === '/register') return 'auth';
  if (path === '/profile') {
    const action = [...url.searchParams.keys()].find((k) => k.startsWith('/'));
    if (action === '/password' || action === '/claim') return 'auth';
  }
  return null;
}
