/** Notifications and sharing (issue 13): strings in English. Must have exactly the keys of `notify.id.ts` (the compiler checks). */
import type { NotifyKey } from './notify.id.ts';

export const messages: Record<NotifyKey, string> = {};

export default messages;
