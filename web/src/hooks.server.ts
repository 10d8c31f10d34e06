/**
 * Every request: who is signed in (`locals.user`) and which language (`locals.locale`).
 * Expected errors carry their own message; anything unexpected is logged with its ids and
 * reaches the user only as "Internal Error".
 */
import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { closeDb, getDb } from '$lib/server/app.ts';
import { sessionUser } from '$lib/server/auth.ts';
import { config } from '$lib/server/config.ts';
import { log } from '$lib/server/log.ts';
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

export const handle: Handle = async ({ event, resolve }) => {
  const lang = event.cookies.get(LOCALE_COOKIE);
  event.locals.locale = lang === 'en' ? 'en' : 'id';
  event.locals.user = null;
  const token = event.cookies.get(SESSION_COOKIE);
  if (token && event.url.pathname !== '/healthz') {
    event.locals.user = await sessionUser(await getDb(), token);
  }
  const locale = event.locals.locale;
  return resolve(event, {
    transformPageChunk: ({ html }) => html.replace('%lang%', locale),
  });
};

export const handleError: HandleServerError = ({ error, event, status, message }) => {
  if (status === 404) return { message };
  log.error(
    { err: error, path: event.url.pathname, userId: event.locals.user?.id, status },
    'unexpected error',
  );
  return { message: 'Internal Error' };
};
