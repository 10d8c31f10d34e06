/** `/join?code=ABC123` (the home page's code form): normalises the code and goes to `/join/<code>`. */
import { redirect } from '@sveltejs/kit';
import { normaliseCode } from '$lib/server/ids.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = ({ url }) => {
  const code = normaliseCode(url.searchParams.get('code') ?? '');
  if (/^[A-Z0-9]{1,12}$/.test(code)) redirect(303, `/join/${code}`);
  redirect(303, '/');
};
