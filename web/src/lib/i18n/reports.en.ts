/** Sales reports and stock tools for staff (issue 14): strings in English. Must have exactly the keys of `reports.id.ts` (the compiler checks). */
import type { ReportsKey } from './reports.id.ts';

export const messages: Record<ReportsKey, string> = {};

export default messages;
