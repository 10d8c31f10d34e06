/** Notifications and sharing (issue 13): strings in English. Must have exactly the keys of `notify.id.ts` (the compiler checks). */
import type { NotifyKey } from './notify.id.ts';

export const messages: Record<NotifyKey, string> = {
  'notify.invite.title': 'Invitation to {room}',
  'notify.invite.body': '{from} invited you to shop together in {room}.',
  'notify.deadline.title': '{room}: {minutes} {minutes|one:minute|other:minutes} left',
  'notify.deadline.body':
    'The shopping deadline is in {minutes} {minutes|one:minute|other:minutes}. Finish your cart now.',
  'notify.share_due.title': '{room}: time to pay',
  'notify.share_due.body': 'Your share is {amount}. Pay before the stock hold runs out.',
  'notify.hold.title': '{room}: {minutes} {minutes|one:minute|other:minutes} left to pay',
  'notify.hold.body':
    'The stock is held for {minutes} more {minutes|one:minute|other:minutes}. If not everyone has paid, the order is cancelled.',
  'notify.ready.title': '{room}: order ready for pickup',
  'notify.ready.body': 'Your order is ready for pickup at the store.',
  'notify.ready.bodyCode': 'Your order is ready for pickup at the store. Pickup code: {code}.',
  'notify.expired.title': '{room}: payment time ran out',
  'notify.expired.body': 'The order fell through because not everyone paid. Not paid: {names}.',
  'notify.cancelled.title': '{room}: order cancelled',
  'notify.cancelled.body': 'The order was cancelled. Not paid: {names}.',
  'notify.cancelled.bodyAllPaid': 'The order was cancelled. Nobody was charged.',
  'notify.bell': 'Notifications',
  'notify.bellUnread': 'Notifications, {count} unread',
  'notify.page.title': 'Notifications',
  'notify.page.empty': 'No notifications yet.',
  'notify.page.markAll': 'Mark all as read',
  'notify.page.unread': 'Unread',
  'notify.page.open': 'Open',
  'notify.toggle.label': 'Notifications on this device',
  'notify.toggle.on': 'Turn on notifications',
  'notify.toggle.off': 'Turn off notifications',
  'notify.toggle.enabled': 'Notifications are on for this device.',
  'notify.toggle.hint': 'Invitations, deadlines and payments are sent to this device.',
  'notify.toggle.denied': 'Notifications are blocked in this browser. Change it in its settings.',
  'notify.toggle.unsupported': 'This browser does not support notifications.',
  'notify.toggle.failed': 'Notifications could not be turned on. Try again later.',
  'notify.share.whatsapp': 'Share to WhatsApp',
  'notify.share.inviteText': 'Shop together in {room} with Patungan: {url}',
  'notify.share.payText': 'Pay your share for {room} on Patungan: {url}',
};

export default messages;
