/**
 * One error type for web's own expected failures, each with a code. Routes turn it into a
 * form failure or an HTTP status with a message the user can act on; anything else is
 * unexpected and reaches the user only as "Internal Error".
 */
export type WebErrorCode =
  | 'invalid'
  | 'email_taken'
  | 'bad_credentials'
  | 'rate_limited'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'upstream';

const STATUS: Record<WebErrorCode, number> = {
  invalid: 400,
  email_taken: 409,
  bad_credentials: 401,
  rate_limited: 429,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  upstream: 502,
};

export class WebError extends Error {
  constructor(
    readonly code: WebErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'WebError';
  }
  get status(): number {
    return STATUS[this.code];
  }
}

/**
 * The `Retry-After` header for a `rate_limited` error that says how long to wait (seconds in
 * `details.retryAfter`), for `setHeaders` or a response; empty for any other error.
 */
export function retryAfterHeaders(err: WebError): Record<string, string> {
  const wait = err.details?.retryAfter;
  return err.code === 'rate_limited' && typeof wait === 'number'
    ? { 'retry-after': String(wait) }
    : {};
}
