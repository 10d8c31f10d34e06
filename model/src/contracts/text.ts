/**
 * The string every settlement contract is built on. PostgreSQL `text` cannot hold U+0000 (the
 * database would refuse the row and the caller would see a 500), so a NUL anywhere is refused
 * at the schema, as a 400 naming the field.
 */
import { z } from 'zod';

export const NUL_MESSAGE = 'must not contain NUL characters (\\u0000)';

export const text = (params?: Parameters<typeof z.string>[0]) =>
  z.string(params).refine((s) => !s.includes('\u0000'), NUL_MESSAGE);
