/** The session cookie: httpOnly, SameSite=Lax, Secure wherever the browser will keep it. */
import type { Cookies } from '@sveltejs/kit';
import type { Session } from './auth.ts';

export const SESSION_COOKIE = 'patungan_session';
export const LOCALE_COOKIE = 'patungan_lang';

/**
 * Browsers keep Secure cookies over https and on loopback hosts (localhost, 127.0.0.1) even
 * over plain http; only a plain-http deployment on another host must go without.
 */
export function secureCookies(url: URL): boolean {
  return (
    url.protocol === 'https:' ||
    url.hostname === 'localhost' ||
    url.hostname === '127.0.0.1' ||
    url.hostname === '[::1]'
  );
}

export function setSessionCookie(cookies: Cookies, url: URL, s: Session): void {
  cookies.set(SESSION_COOKIE, s.token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: secureCookies(url),
    expires: s.expiresAt,
  });
}

export function clearSessionCookie(cookies: Cookies, url: URL): void {
  cookies.delete(SESSION_COOKIE, { path: '/', secure: secureCookies(url) });
}
