/**
 * Room chat (docs/contracts.md "Room document"): the comments without a `sku`, and how many of
 * them this device has not seen yet.
 *
 * Read state is per device (localStorage), not per member: it is a reading aid, not data the
 * group shares, and it costs the room document nothing. It counts the other members' messages
 * seen, not a time, so a sender's wrong clock never hides a message.
 */
import type { RoomComment } from '@patungan/model';
import type { Room } from './room.svelte.ts';

/** Only chat messages: a comment with a sku belongs to that product. */
export function chatMessages(comments: readonly RoomComment[]): RoomComment[] {
  return comments.filter((c) => !c.sku);
}

/** Messages written by someone other than `me`: what "unread" counts. */
export function fromOthers(messages: readonly RoomComment[], me: string): number {
  let n = 0;
  for (const m of messages) if (m.by !== me) n++;
  return n;
}

export const readKey = (roomId: string, memberId: string) =>
  `patungan:chat-read:${roomId}:${memberId}`;

function load(key: string): number {
  try {
    const n = Number(localStorage.getItem(key));
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

export class Chat {
  private readonly key: string;
  private readonly room: Room;
  /** Other members' messages this device has shown. */
  private seen = $state(0);

  messages = $derived.by<RoomComment[]>(() => chatMessages(this.room.comments));
  private others = $derived.by(() => fromOthers(this.messages, this.room.me.id));
  unread = $derived(Math.max(0, this.others - this.seen));

  constructor(room: Room) {
    this.room = room;
    this.key = readKey(room.data.room.id, room.me.id);
    this.seen = typeof localStorage === 'undefined' ? 0 : load(this.key);
  }

  /** Everything in the list now has been seen (the panel is on screen). */
  markRead(): void {
    if (this.seen === this.others) return;
    this.seen = this.others;
    try {
      localStorage.setItem(this.key, String(this.others));
    } catch {
      // Private mode without storage: unread counts last as long as the page.
    }
  }

  send(text: string): boolean {
    return this.room.comment(text);
  }
}
