/**
 * Presence over Yjs awareness: who is here, their colour, and what each member is looking at.
 * Awareness is never stored and always allowed (docs/contracts.md "Write rules"), so "follow a friend" is just reading
 * their `view` and copying it into ours.
 */
import type { Awareness } from 'y-protocols/awareness';

/** What a member is looking at in the catalog. */
export type View =
  { kind: 'browse'; q: string; category: string; page: number } | { kind: 'product'; sku: string };

export interface PresenceUser {
  id: string;
  name: string;
  colour: string;
}

export interface PresenceState {
  user: PresenceUser;
  view?: View;
  /** Member id this member is following, if any. */
  following?: string | null;
}

export interface Peer extends PresenceState {
  clientId: number;
  self: boolean;
}

/**
 * Colours with at least 4.5:1 contrast against white text (WCAG AA), so initials on an avatar
 * stay readable. Picked per member id, so a member keeps their colour on every device.
 */
export const COLOURS = [
  '#b3261e',
  '#1d6b3a',
  '#0b57d0',
  '#7c3aed',
  '#a64d00',
  '#006a6a',
  '#9c2767',
  '#3f51b5',
];

export function colourFor(id: string): string {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return COLOURS[(h >>> 0) % COLOURS.length]!;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const a = parts[0]?.[0] ?? '?';
  const b = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? '') : '';
  return (a + b).toUpperCase();
}

function isState(s: unknown): s is PresenceState {
  const u = (s as { user?: Partial<PresenceUser> } | null)?.user;
  return !!u && typeof u.id === 'string' && typeof u.name === 'string';
}

/**
 * Everyone present, one entry per member (a member on two devices shows once: the entry with the
 * highest client id, i.e. usually the newest tab). Self first.
 */
export function readPeers(awareness: Awareness): Peer[] {
  const byMember = new Map<string, Peer>();
  awareness.getStates().forEach((state, clientId) => {
    if (!isState(state)) return;
    const self = clientId === awareness.clientID;
    const prev = byMember.get(state.user.id);
    if (!prev || self || (!prev.self && clientId > prev.clientId)) {
      byMember.set(state.user.id, { ...state, clientId, self });
    }
  });
  return [...byMember.values()].sort((a, b) =>
    a.self !== b.self ? (a.self ? -1 : 1) : a.user.name.localeCompare(b.user.name),
  );
}

/**
 * Remembers which member each Yjs client id belongs to, including members who have left since:
 * the activity feed needs it for edits that arrive after their author's presence is gone.
 */
export class ClientDirectory {
  private known = new Map<number, string>();
  constructor(private readonly awareness: Awareness) {
    this.awareness.on('change', this.update);
    this.update();
  }
  private update = (): void => {
    this.awareness.getStates().forEach((s, c) => {
      if (isState(s)) this.known.set(c, s.user.id);
    });
  };
  memberOf(clientId: number): string | null {
    return this.known.get(clientId) ?? null;
  }
  destroy(): void {
    this.awareness.off('change', this.update);
  }
}

export function sameView(a: View | undefined, b: View | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind === 'product' || b.kind === 'product') {
    return a.kind === b.kind && (a as { sku: string }).sku === (b as { sku: string }).sku;
  }
  return a.q === b.q && a.category === b.category && a.page === b.page;
}
