/**
 * The built-in provider for embedded mode and end-to-end tests. There is nobody to call:
 * the member authorises or declines on the hosted pay page (`/pay/<paymentId>`), which
 * records the result directly, and capture / void / refund succeed at once. Nothing calls
 * back either, so it has no `webhook` (`POST /webhooks/local` is 404).
 */
import type { PaymentProvider } from './provider.ts';

export function localProvider(): PaymentProvider {
  return {
    name: 'local',
    create: async (a) => ({ ref: a.attemptId, status: 'pending' }),
    capture: async () => 'captured',
    void: async () => 'voided',
    refund: async () => 'refunded',
    status: async () => 'pending',
  };
}
