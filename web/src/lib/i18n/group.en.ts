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
  'group.budget.title': 'Budgets',
  'group.budget.none': 'No budgets in this room yet.',
  'group.budget.rule':
    'The part of a share above its budget is carried by the others (up to their own budgets), unless you choose to pay it yourself.',
  'group.budget.of': '{share} of {budget}',
  'group.budget.noBudget': 'No budget',
  'group.budget.meter': '{name}’s budget: {percent}% used',
  'group.budget.over': '{amount} over budget',
  'group.budget.near': 'At {percent}% of the budget',
  'group.budget.carriedByGroup': '{amount} above the budget is carried by the group.',
  'group.budget.carrying': 'Carries {amount} of others’ overage.',
  'group.budget.paysOwn': 'Pays their own overage: +{amount}.',
  'group.budget.pays': 'Pays {amount}',
  'group.budget.payOwn': 'I’ll pay my own overage ({amount})',
  'group.budget.choosesOwn': 'Chose to pay their own overage.',
  'group.budget.edit': 'Set each member’s budget',
  'group.budget.editHint': 'Leave empty for the room’s budget ({budget}).',
  'group.budget.editHintNone': 'Leave empty for no budget.',
  'group.budget.bad': '{name}’s budget must be a number above zero, like 150000.',
  'group.budget.save': 'Save budgets',
  'group.budget.saved': 'Saved',
  'group.budget.liveNear': 'Your share {share} is near your budget of {budget}.',
  'group.budget.liveOver': 'Your share {share} is over your budget of {budget}.',
  'group.covers.title': 'Who owes whom',
  'group.covers.paidYours': '{name} paid your {amount}',
  'group.covers.coversYours': '{name} is covering your {amount}',
  'group.covers.youPaid': 'You paid {name}’s {amount}',
  'group.covers.youCover': 'You are covering {name}’s {amount}',
  'group.covers.other': '{name} covered {whom}’s {amount}',
  'group.covers.youOwe': 'You owe {name} {amount}.',
  'group.covers.owesYou': '{name} owes you {amount}.',
  'group.covers.hint': 'This record is kept with the order.',
};

export default messages;
