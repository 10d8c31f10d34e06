/**
 * Provider webhooks, `POST /webhooks/<provider>`. The provider verifies and reads the
 * delivery (its `webhook` method: signature, body, which payment); this route only
 * dispatches to it and hands the result to flow/webhooks.ts. Unless the event itself
 * is the truth (a refund), the provider is then asked for the payment's current status, so
 * a replayed, duplicated or out-of-order notification can only ever apply what is true now.
 */
import type { Hono } from 'hono';
import { SettlementError } from '../errors.ts';
import { receiveWebhook } from '../flow/webhooks.ts';
import type { ProviderName } from '../providers/provider.ts';
import type { AppDeps, Env } from './support.ts';

const LABEL: Record<ProviderName, string> = {
  local: 'The local provider',
  stripe: 'Stripe',
  midtrans: 'Midtrans',
};

export function webhookRoutes(app: Hono<Env>, d: AppDeps): void {
  const { ctx } = d;

  app.post('/webhooks/:provider', async (c) => {
    const name = c.req.param('provider');
    if (!Object.hasOwn(LABEL, name)) {
      throw new SettlementError(404, 'not_found', `No route ${c.req.method} ${c.req.path}`);
    }
    const providerName = name as ProviderName;
    const provider = ctx.providers[providerName];
    if (!provider?.webhook) {
      throw new SettlementError(404, 'not_found', `${LABEL[providerName]} is not enabled here`);
    }
    const notice = await provider.webhook({
      body: await c.req.text(),
      header: (h) => c.req.header(h),
    });
    return c.json(await receiveWebhook(ctx, provider, notice));
  });
}
