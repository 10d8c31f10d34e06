/** Budgets, covers, Patungan lagi and chat (issue 13): strings in English. Must have exactly the keys of `group.id.ts` (the compiler checks). */
import type { GroupKey } from './group.id.ts';

export const messages: Record<GroupKey, string> = {};

export default messages;
