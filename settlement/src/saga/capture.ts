/**
 * Saga step "capture" ↔ "refund". Action: capture an authorised payment, once every share
 * of the group is covered (transitions.ts `advance` queues the captures). Undo: refund it,
 * when the group does not complete after all (a capture lapsed and the hold ran out, or the
 * paid order is cancelled).
 */
import { withRef } from './authorise.ts';
import type { AttemptStep } from './step.ts';

export const capture: AttemptStep = {
  name: 'capture',
  async action(ctx, provider, job) {
    const status = await provider.capture(await withRef(ctx, provider, job));
    // crash-test fault point: the money moved, nothing recorded yet (docs/settlement.md)
    await ctx.fault('after_capture');
    return { status };
  },
  async undo(ctx, provider, job) {
    return { status: await provider.refund(await withRef(ctx, provider, job)) };
  },
};
