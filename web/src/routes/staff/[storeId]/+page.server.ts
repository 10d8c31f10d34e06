/**
 * The staff page of one store: stock (editable), pickup orders (status buttons), pickup-code
 * lookup. Every write goes from this server to settlement with a short-lived staff token
 * signed for this user and store; the browser never holds one.
 */
import { fail } from '@sveltejs/kit';
import { retryAfterHeaders, WebError } from '$lib/server/errors.ts';
import { formError, str } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import type { StoreOrder } from '$lib/server/settlement.ts';
import { handoverRefusal } from '$lib/server/handover.ts';
import { requireStaff, settlementClient, tokenFor } from '$lib/server/staff.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  const client = settlementClient();
  const [store, stock, products, orders] = await Promise.allSettled([
    client.store(params.storeId),
    client.stock(params.storeId),
    client.products(),
    client.orders(params.storeId, await tokenFor(user, params.storeId)),
  ]);
  const names: Record<string, string> = {};
  if (products.status === 'fulfilled') for (const p of products.value) names[p.sku] = p.name;
  if (stock.status === 'rejected')
    log.warn({ err: stock.reason, storeId: params.storeId }, 'stock load failed');
  return {
    storeId: params.storeId,
    storeName: (store.status === 'fulfilled' && store.value?.name) || params.storeId,
    stock: stock.status === 'fulfilled' ? stock.value : [],
    stockError: stock.status === 'rejected',
    names,
    orders: orders.status === 'fulfilled' ? orders.value : [],
    ordersError: orders.status === 'rejected',
    // Same origin: web passes settlement's stream through (docs/decisions/0007-one-route-from-the-browser.md).
    streamUrl: `/api/stock/stream?stores=${encodeURIComponent(params.storeId)}`,
  };
};

const ORDER_STATUSES = ['packed', 'ready_for_pickup', 'completed'] as const;

export const actions: Actions = {
  stock: async ({ params, locals, request, url, setHeaders }) => {
    const user = requireStaff(locals.user, params.storeId, url.pathname);
    const form = await request.formData();
    const sku = str(form.get('sku'));
    const raw = str(form.get('onHand')).trim();
    const onHand = Number(raw);
    if (!sku || raw === '' || !Number.isSafeInteger(onHand) || onHand < 0) {
      return fail(400, { stock: { sku, error: formError(new WebError('invalid', 'bad amount')) } });
    }
    try {
      const item = await settlementClient().setOnHand(
        params.storeId,
        sku,
        onHand,
        await tokenFor(user, params.storeId),
      );
      log.info({ userId: user.id, storeId: params.storeId, sku, onHand }, 'stock set');
      return { stock: { sku, item } };
    } catch (err) {
      if (!(err instanceof WebError)) throw err;
      // a rate-limited person is told when to come back (the status stays 429)
      setHeaders(retryAfterHeaders(err));
      if (err.code === 'conflict') {
        return fail(409, {
          stock: {
            sku,
            error: { key: 'staff.stockTooLow' as const, params: { min: minOnHand(err) } },
          },
        });
      }
      return fail(err.status, { stock: { sku, error: formError(err) } });
    }
  },
  order: async ({ params, locals, request, url, setHeaders }) => {
    const user = requireStaff(locals.user, params.storeId, url.pathname);
    const form = await request.formData();
    const id = str(form.get('id'));
    const status = str(form.get('status'));
    if (!id || !(ORDER_STATUSES as readonly string[]).includes(status)) {
      return fail(400, { order: { id, error: formError(new WebError('invalid', 'bad status')) } });
    }
    // handing over takes the shoppers' pickup code, typed or scanned
    const pickupCode = status === 'completed' ? str(form.get('pickupCode')).trim() : undefined;
    try {
      const order = await settlementClient().setOrderStatus(
        id,
        status as (typeof ORDER_STATUSES)[number],
        await tokenFor(user, params.storeId),
        pickupCode,
      );
      log.info(
        { userId: user.id, storeId: params.storeId, settlementId: id, status },
        'order moved',
      );
      return { order: { id, status: order?.status ?? status } };
    } catch (err) {
      if (!(err instanceof WebError)) throw err;
      // a rate-limited person is told when to come back (the status stays 429)
      setHeaders(retryAfterHeaders(err));
      const refused = handoverRefusal(err);
      if (refused) {
        log.warn({ userId: user.id, storeId: params.storeId, orderId: id }, 'handover refused');
        return fail(refused.status, { order: { id, error: refused.error } });
      }
      return fail(err.status, { order: { id, error: formError(err) } });
    }
  },
  lookup: async ({ params, locals, request, url, setHeaders }) => {
    const user = requireStaff(locals.user, params.storeId, url.pathname);
    const code = str((await request.formData()).get('pickupCode'))
      .trim()
      .toUpperCase();
    if (!code) return { lookup: { code, found: [] as StoreOrder[] } };
    try {
      const order = await settlementClient().orderByPickupCode(
        params.storeId,
        code,
        await tokenFor(user, params.storeId),
      );
      return { lookup: { code, found: order ? [order] : [] } };
    } catch (err) {
      if (!(err instanceof WebError)) throw err;
      // a rate-limited person is told when to come back (the status stays 429)
      setHeaders(retryAfterHeaders(err));
      if (err.code === 'rate_limited') {
        log.warn({ userId: user.id, storeId: params.storeId }, 'pickup lookups rate limited');
        const minutes = Math.ceil(Number(err.details?.retryAfter) / 60);
        return fail(429, {
          lookup: { code, error: { key: 'handover.lookupLimited' as const, params: { minutes } } },
        });
      }
      return fail(err.status, { lookup: { code, error: formError(err) } });
    }
  },
};

function minOnHand(err: WebError): number {
  const d = err.details ?? {};
  const held = typeof d.held === 'number' ? d.held : 0;
  const committed = typeof d.committed === 'number' ? d.committed : 0;
  if (typeof d.min === 'number') return d.min;
  return held + committed;
}
