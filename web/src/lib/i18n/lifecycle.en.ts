/** Leaving, removal and the deadline (issue 13): strings in English. Must have exactly the keys of `lifecycle.id.ts` (the compiler checks). */
import type { LifecycleKey } from './lifecycle.id.ts';

export const messages: Record<LifecycleKey, string> = {
  'lifecycle.deadline.label': 'Deadline',
  'lifecycle.deadline.at': 'Deadline: {when}',
  'lifecycle.deadline.none': 'No deadline yet',
  'lifecycle.deadline.set': 'Set a deadline',
  'lifecycle.deadline.move': 'Change',
  'lifecycle.deadline.save': 'Save',
  'lifecycle.deadline.remove': 'Remove deadline',
  'lifecycle.deadline.future': 'Pick a time that has not passed.',
  'lifecycle.deadline.explain':
    'When the deadline passes the order is placed automatically; with an empty cart or no store chosen, the room is locked.',
  'lifecycle.cancel': 'Cancel',
  'lifecycle.members': 'Members ({count})',
  'lifecycle.left': 'left',
  'lifecycle.remove': 'Remove',
  'lifecycle.remove.label': 'Remove {name}',
  'lifecycle.remove.confirm': 'Remove {name} from the room? What they added stays in the cart.',
  'lifecycle.readmit': 'Invite back',
  'lifecycle.leave': 'Leave room',
  'lifecycle.leave.confirm':
    'Leave this room? What you added stays in the cart, and only the organiser can invite you back.',
  'lifecycle.youLeft': 'You are no longer in this room.',
  'lifecycle.home': 'Go home',
  'lifecycle.failed': 'That did not work. Try again.',
  'lifecycle.ended.left': 'You left this room',
  'lifecycle.ended.removed': 'You were removed from this room',
  'lifecycle.ended.readonly': 'This is the room as last synced; you can no longer change it.',
  'lifecycle.removedPage':
    'You left this room or were removed from it. Ask the organiser to invite you back.',
};

export default messages;
