/** `POST /logout`: ends the session (a form post, so the origin check applies) and goes home. */
import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { deleteSession } from '$lib/server/auth.ts';
import { SESSION_COOKIE, clearSessionCookie } from '$lib/server/session.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ cookies, url }) => {
  await deleteSession(await getDb(), cookies.get(SESSION_COOKIE));
  clearSessionCookie(cookies, url);
  redirect(303, '/');
};
