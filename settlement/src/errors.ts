/**
 * The one error type of the settlement service. Every expected refusal is a SettlementError
 * with an HTTP status and a stable machine code; anything else reaches a client only as
 * `500 internal` (the details go to the log, never to the caller).
 */
import type { SettlementErrorCode } from '@patungan/model';

/** The machine codes, listed once in the shared contract (`SETTLEMENT_ERROR_CODES`). */
export type ErrorCode = SettlementErrorCode;

export class SettlementError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 422 | 429 | 500 | 502 | 503,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'SettlementError';
  }

  toJSON(): { error: { code: string; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

export const notFound = (what: string, code: ErrorCode = 'not_found') =>
  new SettlementError(404, code, `${what} was not found`);

export const invalidState = (message: string, details?: Record<string, unknown>) =>
  new SettlementError(409, 'invalid_state', message, details);
