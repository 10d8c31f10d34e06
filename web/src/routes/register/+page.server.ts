import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { register } from '$lib/server/auth.ts';
import { echoAll, failWith, fields, safeRedirect, signInAndReturn } from '$lib/server/forms.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
  // A guest registering would lose their place: send them to claim their account instead.
  if (locals.user?.guest) redirect(303, '/profile#claim');
  if (locals.user) redirect(303, '/');
  return { redirectTo: safeRedirect(url.searchParams.get('redirect'), url.origin) };
};

export const actions: Actions = {
  default: async (event) => {
    const form = await event.request.formData();
    const values = fields(form, 'email', 'name');
    let user;
    try {
      user = await register(await getDb(), { ...values, password: form.get('password') });
    } catch (err) {
      return failWith(err, echoAll(values));
    }
    return signInAndReturn(event, user.id, form, 'registered');
  },
};
