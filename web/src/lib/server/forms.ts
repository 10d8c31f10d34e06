/**
 * Form actions report expected failures as `fail(status, { error })`, where `error.key` is an
 * i18n key the page translates and `error.field` names the input to mark invalid.
 * Unexpected errors are rethrown and become "Internal Error".
 */
import { fail } from '@sveltejs/kit';
import type { MessageKey } from '$lib/i18n/translate.ts';
import { WebError } from './errors.ts';

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
