/**
 * Input validation shared by the HTTP routes and the providers' webhook parsers: one zod
 * parse whose failure is `400 invalid_request` naming every bad field, NUL characters first.
 */
import type { z } from 'zod';
import { SettlementError } from './errors.ts';
import { NUL_MESSAGE } from './schemas.ts';

/** Parses with a zod schema; a failure is `400 invalid_request` naming every bad field. */
export function parse<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const nul = nulField(data, []);
  if (nul !== null) {
    const field = nul || '(body)';
    throw new SettlementError(400, 'invalid_request', `${field}: ${NUL_MESSAGE}`, {
      issues: [{ field, message: NUL_MESSAGE }],
    });
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    field: i.path.join('.') || '(body)',
    message: i.message,
  }));
  throw new SettlementError(
    400,
    'invalid_request',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    { issues },
  );
}

/**
 * The path of the first string or key holding U+0000 in parsed input (`''` for the input
 * itself), or null. Every field — enums and keys included — gets the same clear refusal
 * (schemas.ts `text()` says why).
 */
function nulField(v: unknown, path: (string | number)[]): string | null {
  if (typeof v === 'string') return v.includes('\u0000') ? path.join('.') : null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = nulField(v[i], [...path, i]);
      if (f !== null) return f;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('\u0000')) return [...path, k.replaceAll('\u0000', '\\u0000')].join('.');
      const f = nulField(x, [...path, k]);
      if (f !== null) return f;
    }
  }
  return null;
}
