/**
 * Every request: per-client limits (rate-limit.ts: 429 + Retry-After), who is signed in
 * (`locals.user`), which language (`locals.locale`), the security headers (the CSP from
 * svelte.config.js gets this deployment's room-server origin in connect-src: the browser talks
 * to this site and the room's WebSocket, nothing else), and brotli/gzip for what the server
 * renders (compress.ts).
 * Expected errors carry their own message; anything unexpected is logged with its ids and
 * reaches the user only as "Internal Error".
 */
import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { closeDb, getDb } from '$lib/server/app.ts';
import { sessionUser } from '$lib/server/auth.ts';
import { translate } from '$lib/i18n/translate.ts';
import { config } from '$lib/server/config.ts';
import { compressResponse } from '$lib/server/compress.ts';
import { clientIp } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { bucketOf, limiter } from '$lib/server/rate-limit.ts';
import { LOCALE_COOKIE, SESSION_COOKIE } from '$lib/server/session.ts';

// adapter-node emits this after SIGTERM / SIGINT once the server stopped taking requests:
// close the database so PGlite flushes and nothing keeps the process alive.
process.once('sveltekit:shutdown', (reason: unknown) => {
  log.info({ reason }, 'web shutting down');
  void closeDb().catch((err: unknown) => log.error({ err }, 'closing the database failed'));
});

/**
 * Runs once when the server starts (before it listens). Refuses to start in scaled mode with a
 * missing, short or well-known ROOM_TOKEN_SECRET (model/src/node.ts): prints why, exits 1.
 */
export const init: ServerInit = () => {
  try {
    void config.tokenSecret;
  } catch (err) {
    console.error(`web cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
};

/** The origin of a URL (`ws://h:p`, `http://h:p`), or null when it does not parse. */
function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

let connectSources: string | undefined;
/**
 * What the browser connects to besides this site: the room-server's WebSocket, only. Settlement
 * is reached through this site (docs/decisions/0007-one-route-from-the-browser.md); its pay
 * page is a top-level navigation, which connect-src does not govern.
 */
function extraConnectSources(): string {
  connectSources ??= [originOf(config.roomServerUrl)]
    .filter((o): o is string => !!o && /^(wss?|https?):\/\/[^\s;,']+$/.test(o))
    .join(' ');
  return connectSources;
}

function securityHeaders(headers: Headers): void {
  const csp = headers.get('content-security-policy');
  const extra = extraConnectSources();
  if (csp && extra) {
    headers.set(
      'content-security-policy',
      csp.replace(/connect-src ([^;]*)/, `connect-src $1 ${extra}`),
    );
  }
  headers.set('x-content-type-options', 'nosniff');
  // Room codes travel in paths (/join/<code>): never send them to another site.
  headers.set('referrer-policy', 'same-origin');
  // For browsers without CSP frame-ancestors.
  headers.set('x-frame-options', 'DENY');
}

function tooManyRequests(locale: 'id' | 'en', retryAfter: number): Response {
  const message = translate(locale, 'error.too_many_requests', { seconds: retryAfter });
  const body =
    `<!doctype html><html lang="${locale}"><head><meta charset="utf-8"><title>429</title></head>` +
    `<body><h1>429</h1><p>${message}</p></body></html>`;
  const res = new Response(body, {
    status: 429,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'retry-after': String(retryAfter),
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    },
  });
  securityHeaders(res.headers);
  return res;
}

export const handle: Handle = async ({ event, resolve }) => {
  const lang = event.cookies.get(LOCALE_COOKIE);
  event.locals.locale = lang === 'en' ? 'en' : 'id';
  event.locals.user = null;
  const locale = event.locals.locale;
  const bucket = bucketOf(event.request.method, event.url);
  if (bucket) {
    const ip = clientIp(event);
    const retryAfter = limiter(bucket).take(ip);
    if (retryAfter > 0) {
      log.warn({ bucket, ip, path: event.url.pathname, retryAfter }, 'rate limited');
      return tooManyRequests(locale, retryAfter);
    }
  }
  const token = event.cookies.get(SESSION_COOKIE);
  if (token && event.url.pathname !== '/healthz') {
    event.locals.user = await sessionUser(await getDb(), token);
  }
  const response = await resolve(event, {
    transformPageChunk: ({ html }) => html.replace('%lang%', locale),
  });
  let res = response;
  try {
    securityHeaders(res.headers);
  } catch {
    // A response with immutable headers (one passed through from fetch): copy it.
    res = new Response(response.body, response);
    securityHeaders(res.headers);
  }
  // Pages, their data and JSON go out brotli/gzip as the browser accepts (the built assets are
  // precompressed and never reach this hook).
  return compressResponse(event.request, res);
};

export const handleError: HandleServerError = ({ error, event, status, message }) => {
  if (status === 404) return { message };
  log.error(
    { err: error, path: event.url.pathname, userId: event.locals.user?.id, status },
    'unexpected error',
  );
  return { message: 'Internal Error' };
};
