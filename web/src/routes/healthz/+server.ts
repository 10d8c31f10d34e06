/** `GET /healthz` → `{status, db, demoStaff}`; 503 while the database is not ready. */
import { json } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { demoStaffSeeded } from '$lib/server/staff-seed.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async () => {
  try {
    const db = await getDb();
    await db.query('SELECT 1');
    const staff = demoStaffSeeded();
    return json(
      { status: 'ok', db: db.kind, demoStaff: staff ? staff.length : null },
      { headers: { 'cache-control': 'no-store' } },
    );
  } catch {
    return json({ status: 'unavailable' }, { status: 503 });
  }
};
