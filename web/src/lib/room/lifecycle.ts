/**
 * Leaving, removal and the deadline, from the room page (docs/contracts.md "Leaving and
 * removal", "Deadline"). Membership changes go to web first (so it stops, or resumes, issuing
 * join tokens), then into the room document, which is what the room-server enforces: every
 * connection of a removed member is closed with 4401 and their token refused.
 */
import { membersMap, metaMap } from '@patungan/model';
import type { Room } from './room.svelte.ts';

/** Marks `memberId` as left / removed, or takes them back in (organiser). False: refused. */
export async function setMemberRemoved(
  room: Room,
  memberId: string,
  removed: boolean,
): Promise<boolean> {
  const res = await fetch(
    `/rooms/${encodeURIComponent(room.data.room.id)}/members/${encodeURIComponent(memberId)}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ removed }),
    },
  ).catch(() => null);
  if (!res?.ok) return false;
  // Our own connection is closed with 4401 next: that end is leaving, not a removal.
  if (memberId === room.me.id && removed) room.leaving = true;
  const doc = room.conn.doc;
  room.conn.transact(() => {
    const members = membersMap(doc);
    const entry = members.get(memberId);
    if (!entry) return;
    const { removedAt: _was, ...rest } = entry;
    void _was;
    members.set(memberId, removed ? { ...rest, removedAt: new Date().toISOString() } : rest);
  });
  return true;
}

/**
 * Sets, moves (an ISO time) or removes (null) the room's deadline; organiser only. The room
 * is the truth (and acts); web's directory copy (the home page's) follows, best effort.
 */
export function setDeadline(room: Room, iso: string | null): void {
  const doc = room.conn.doc;
  room.conn.transact(() => {
    if (iso) metaMap(doc).set('deadline', iso);
    else metaMap(doc).delete('deadline');
  });
  void fetch(`/rooms/${encodeURIComponent(room.data.room.id)}/deadline`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deadline: iso }),
  }).catch(() => null);
}

/** A `datetime-local` input's value for an ISO time, in the browser's time zone. */
export function localInputValue(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
