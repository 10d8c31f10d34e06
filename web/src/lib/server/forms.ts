/**
 * Form actions report expected failures as `fail(status, { error })`, where `error.key` is an
 * i18n key the page translates and `error.field` names the input to mark invalid.
 * Unexpected errors are rethrown and become "Internal Error".
 */
import { fail, redirect, type RequestEvent } from '@sveltejs/kit';
import type { MessageKey } from '$lib/i18n/translate.ts';
import { getDb } from './app.ts';
import { createSession, deleteSession } from './auth.ts';
import { WebError } from './errors.ts';
import { log } from './log.ts';
import { SESSION_COOKIE, setSessionCookie } from './session.ts';

export interface FormError {
  key: MessageKey;
  field?: string;
  params?: Record<string, string | number>;
}

const FIELD_KEYS: Record<string, MessageKey> = {
  name: 'error.name',
  email: 'error.email',
  password: 'error.password',
  current: 'error.bad_credentials',
  roomName: 'error.roomName',
  currency: 'error.currency',
  deadline: 'error.deadline',
  budget: 'error.budget',
  friendId: 'error.friendId',
  code: 'error.code',
};

export function formError(err: WebError): FormError {
  const field = typeof err.details?.field === 'string' ? err.details.field : undefined;
  let key: MessageKey = `error.${err.code}`;
  if (field === 'friendId') key = err.code === 'invalid' ? 'error.ownFriendId' : 'error.friendId';
  else if (err.code === 'invalid' && err.details?.reason === 'control') key = 'error.control';
  else if (err.code === 'invalid' && field && FIELD_KEYS[field]) key = FIELD_KEYS[field];
  const params: Record<string, string | number> = {};
  if (typeof err.details?.retryAfter === 'number') params.seconds = err.details.retryAfter;
  return { key, ...(field ? { field } : {}), ...(Object.keys(params).length ? { params } : {}) };
}

/** Turns a WebError into a form failure (keeping the non-secret values typed); rethrows others. */
export function failWith(err: unknown, values: Record<string, string> = {}) {
  if (err instanceof WebError) return fail(err.status, { error: formError(err), values });
  throw err;
}

/**
 * A same-site place to go to after signing in or switching language: `v` is resolved against
 * this app's `origin` as a browser would resolve a Location header (so tabs, newlines,
 * backslashes and `//` are read the browser's way) and kept only when it stays on that origin.
 * Returns path + search + hash; anything else (another site, `javascript:`, junk) becomes `/`.
 */
export function safeRedirect(v: unknown, origin: string): string {
  if (typeof v !== 'string' || v === '' || v.length > 2000) return '/';
  let url: URL;
  try {
    url = new URL(v, origin);
  } catch {
    return '/';
  }
  if (url.origin !== new URL(origin).origin) return '/';
  // A path that begins with `//` would be read as another host in a Location header.
  const path = url.pathname.replace(/^\/{2,}/, '/');
  return path + url.search + url.hash;
}

export const str = (v: FormDataEntryValue | null): string => (typeof v === 'string' ? v : '');

/** The named text fields of a submitted form, by name ('' for one missing or not text). */
export function fields<K extends string>(form: FormData, ...names: K[]): Record<K, string> {
  return Object.fromEntries(names.map((n) => [n, str(form.get(n))])) as Record<K, string>;
}

/** Who a page's action acts for: the signed-in user or guest; nobody goes to the sign-in page. */
export function actor(locals: App.Locals): NonNullable<App.Locals['user']> {
  if (!locals.user) redirect(303, '/login');
  return locals.user;
}

/**
 * The action of a one-button form about another user (a friend request accepted or declined, a
 * friend removed): `run(db, me, form's userId)`, then `done` as the action's result.
 */
export const aboutUser =
  <T extends Record<string, unknown>>(
    run: (
      db: Awaited<ReturnType<typeof getDb>>,
      userId: string,
      otherId: string,
    ) => Promise<unknown>,
    done: T,
  ) =>
  async ({ request, locals }: Pick<RequestEvent, 'request' | 'locals'>) => {
    const me = actor(locals);
    const otherId = str((await request.formData()).get('userId'));
    try {
      await run(await getDb(), me.id, otherId);
    } catch (err) {
      return failWith(err);
    }
    return done;
  };

/**
 * After signing in or registering: this browser's old session (a guest's) ends, a new one
 * starts for `userId`, and the browser goes back to the form's same-site `redirect`.
 */
export async function signInAndReturn(
  event: RequestEvent,
  userId: string,
  form: FormData,
  what: string,
): Promise<never> {
  const db = await getDb();
  await deleteSession(db, event.cookies.get(SESSION_COOKIE));
  setSessionCookie(event.cookies, event.url, await createSession(db, userId));
  log.info({ userId }, what);
  redirect(303, safeRedirect(form.get('redirect'), event.url.origin));
}

/** A typed value to show again in a refused form, without control characters (NUL …). */
// eslint-disable-next-line no-control-regex
export const echo = (v: string): string => v.replace(/[\u0000-\u001f\u007f]/g, '');

/** {@link echo} over every value of a form's kept values. */
export const echoAll = <T extends Record<string, string>>(values: T): T =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, echo(v)])) as T;

export function clientIp(event: { getClientAddress(): string; request: Request }): string {
  try {
    return event.getClientAddress();
  } catch {
    return 'unknown';
  }
}
