/**
 * The shape of a payment step of the saga (authorise.ts, capture.ts): a provider call that
 * takes the step and one that undoes it. Which of the two the worker runs for an attempt is
 * the table's business (table.ts); recording the answer is the worker's (flow/attempts.ts).
 */
import type { Ctx } from '../context.ts';
import type { Queryable } from '@patungan/db';
import type { AttemptJob } from '../flow/attempts.ts';
import type { PaymentProvider, ProviderStatus } from '../providers/provider.ts';
import type { AttemptStepName } from './table.ts';

export interface StepResult {
  /** What the provider says now; applied through the state machine (transitions.ts). */
  status: ProviderStatus;
  /**
   * Anything else to store in the same transaction, before the status is applied. True:
   * the room's view of the settlement changed (an outbox event follows the status).
   */
  write?(tx: Queryable, now: Date): Promise<boolean>;
}

export type StepCall = (
  ctx: Ctx,
  provider: PaymentProvider,
  job: AttemptJob,
) => Promise<StepResult>;

export interface AttemptStep {
  readonly name: AttemptStepName;
  readonly action: StepCall;
  readonly undo: StepCall;
}
