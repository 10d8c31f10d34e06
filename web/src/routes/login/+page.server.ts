import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { login } from '$lib/server/auth.ts';
import { WebError } from '$lib/server/errors.ts';
import { clientIp, echo, failWith, safeRedirect, signInAndReturn, str } from '$lib/server/forms.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
  if (locals.user && !locals.user.guest)
    redirect(303, safeRedirect(url.searchParams.get('redirect'), url.origin));
  return { redirectTo: safeRedirect(url.searchParams.get('redirect'), url.origin) };
};

export const actions: Actions = {
  default: async (event) => {
    const form = await event.request.formData();
    const email = str(form.get('email'));
    let user;
    try {
      user = await login(await getDb(), {
        email,
        password: form.get('password'),
        ip: clientIp(event),
      });
    } catch (err) {
      if (err instanceof WebError && typeof err.details?.retryAfter === 'number') {
        event.setHeaders({ 'retry-after': String(err.details.retryAfter) });
      }
      return failWith(err, { email: echo(email) });
    }
    return signInAndReturn(event, user.id, form, 'logged in');
  },
};
