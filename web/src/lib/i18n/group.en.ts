/** Budgets, covers, Patungan lagi and chat (issue 13): strings in English. Must have exactly the keys of `group.id.ts` (the compiler checks). */
import type { GroupKey } from './group.id.ts';

export const messages: Record<GroupKey, string> = {
  'group.chat.tab': 'Chat',
  'group.chat.title': 'Group chat',
  'group.chat.hint':
    'Everyone in this room sees your messages. Product comments are on each product.',
  'group.chat.none': 'No messages yet. Say hello!',
  'group.chat.label': 'Message',
  'group.chat.placeholder': 'Write a message…',
  'group.chat.send': 'Send',
  'group.chat.unread': '{count} unread {count|one:message|other:messages}',
  'group.chat.formerMember': 'Former member',
};

export default messages;
