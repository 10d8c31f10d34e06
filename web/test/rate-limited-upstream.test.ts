/**
 * A settlement 429 reaches the person as "wait", not as bad input (docs/contracts.md "Store
 * handover"): over HTTP through the real stack (built web, room-server, settlement), a staff
 * member who looks up too many pickup codes that match no order is answered 429 with
 * Retry-After and told how long to wait, in both languages; before, web turned every
 * settlement 429 into a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF } from '../../settlement/src/flow/pickup-lookups.ts';
import { startStack, type Stack } from './helpers/stack.ts';
import { webClient, type WebClient } from './helpers/web-client.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 240_000);
afterAll(async () => {
  await stack?.close();
}, 60_000);

async function staffClient(): Promise<{ c: WebClient; storeId: string }> {
  const login = stack.staff[0]!;
  const c = webClient(stack);
  const res = await c.request('POST', '/login', {
    form: { email: login.email, password: login.password, redirect: `/staff/${login.storeId}` },
  });
  expect(res.status, await res.clone().text()).toBe(303);
  return { c, storeId: login.storeId };
}

describe('settlement 429 through web', () => {
  it('too many pickup-code lookups that match no order: 429, Retry-After, "try again in", not "bad input"', async () => {
    const { c, storeId } = await staffClient();
    const lookup = (code: string) =>
      c.request('POST', `/staff/${storeId}?/lookup`, { form: { pickupCode: code } });
    for (let i = 0; i < PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF; i++) {
      const miss = await lookup('222222');
      expect(miss.status).toBe(200);
      expect(await miss.text()).toContain('Tidak ada pesanan'); // "no order has this code"
    }
    const res = await lookup('222222');
    const html = await res.text();
    expect(res.status).toBe(429);
    const wait = Number(res.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(15 * 60);
    // Indonesian by default: "coba lagi dalam … menit"
    expect(html).toContain('Coba lagi dalam');
    expect(html).toContain('menit');
    expect(html).not.toContain('Isian tidak valid');

    c.cookies.set('patungan_lang', 'en');
    const en = await lookup('333333');
    const enHtml = await en.text();
    expect(en.status).toBe(429);
    expect(enHtml).toContain('Too many codes that match no order. Try again in');
    expect(enHtml).not.toContain('Some input is not valid');
    expect(Number(en.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
