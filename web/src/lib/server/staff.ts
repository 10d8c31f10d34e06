/** Staff-page helpers: who may act for a store, and a settlement client with a staff token. */
import { error, redirect } from '@sveltejs/kit';
import { config } from './config.ts';
import { SettlementClient } from './settlement.ts';
import { staffToken } from './tokens.ts';

export function requireStaff(user: App.Locals['user'], storeId: string, path: string) {
  if (!user) redirect(303, `/login?redirect=${encodeURIComponent(path)}`);
  if (user.staffStoreId !== storeId) error(403, 'This page is only for staff of this store');
  return user;
}

export const settlementClient = () => new SettlementClient(config.settlementUrl);

export const tokenFor = (user: { id: string; name: string }, storeId: string) =>
  staffToken(user, storeId);
