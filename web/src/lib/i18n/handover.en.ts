/** The store's handover (issue 14): strings in English. Must have exactly the keys of `handover.id.ts` (the compiler checks). */
import type { HandoverKey } from './handover.id.ts';

export const messages: Record<HandoverKey, string> = {};

export default messages;
