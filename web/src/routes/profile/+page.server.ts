import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { changePassword, claimGuest, updateProfile } from '$lib/server/auth.ts';
import { actor, failWith, fields } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { SESSION_COOKIE } from '$lib/server/session.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => {
  if (!locals.user) redirect(303, '/login?redirect=/profile');
  return {};
};

export const actions: Actions = {
  profile: async ({ request, locals }) => {
    const user = actor(locals);
    const values = fields(await request.formData(), 'name', 'email');
    try {
      await updateProfile(await getDb(), user.id, values);
    } catch (err) {
      return failWith(err, values);
    }
    return { saved: 'profile' as const };
  },
  password: async ({ request, locals, cookies }) => {
    const user = actor(locals);
    const form = await request.formData();
    try {
      // Every other session of this user ends; this browser's stays.
      await changePassword(
        await getDb(),
        user.id,
        form.get('current'),
        form.get('next'),
        cookies.get(SESSION_COOKIE),
      );
    } catch (err) {
      return failWith(err);
    }
    log.info({ userId: user.id }, 'password changed; other sessions ended');
    return { saved: 'password' as const };
  },
  claim: async ({ request, locals }) => {
    const user = actor(locals);
    const form = await request.formData();
    const values = fields(form, 'name', 'email');
    try {
      await claimGuest(await getDb(), user.id, { ...values, password: form.get('password') });
    } catch (err) {
      return failWith(err, values);
    }
    log.info({ userId: user.id }, 'guest claimed an account');
    return { saved: 'claim' as const };
  },
};
