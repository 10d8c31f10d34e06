/** Leaving, removal and the deadline (issue 13): strings in English. Must have exactly the keys of `lifecycle.id.ts` (the compiler checks). */
import type { LifecycleKey } from './lifecycle.id.ts';

export const messages: Record<LifecycleKey, string> = {};

export default messages;
