/**
 * The end-of-run convergence check: every member of a room must hold the same document.
 *
 * Two documents are the same when their state vectors match (each has seen exactly the same
 * updates from every client) and their content hashes match (the same updates produced the
 * same state — which Yjs guarantees, so a mismatch here would mean a bug in the tool or a
 * corrupted update). The content hash covers every root of the room document as canonical
 * JSON, so map key order does not matter but array (comment) order does.
 */
import * as Y from 'yjs';
import { toBase64 } from 'lib0/buffer';
import {
  commentsArray,
  hashJson,
  linesMap,
  membersMap,
  metaMap,
  settlementMap,
  votesMap,
} from '@patungan/model';
import type { RoomDivergence } from './report-types.ts';

export interface DocDigest {
  /** Base64 of `Y.encodeStateVector(doc)`. */
  stateVector: string;
  /** Hash of the canonical JSON of every root. */
  content: string;
}

export function stateVectorOf(doc: Y.Doc): string {
  return toBase64(Y.encodeStateVector(doc));
}

export function digestDoc(doc: Y.Doc): DocDigest {
  return {
    stateVector: stateVectorOf(doc),
    content: hashJson({
      meta: metaMap(doc).toJSON(),
      members: membersMap(doc).toJSON(),
      lines: linesMap(doc).toJSON(),
      comments: commentsArray(doc).toJSON(),
      votes: votesMap(doc).toJSON(),
      settlement: settlementMap(doc).toJSON(),
    }),
  };
}

export interface RoomCheck {
  room: string;
  converged: boolean;
  /** Members compared (connected and synced at the end). */
  compared: number;
  /** Members of the room that were not there to compare. */
  missing: number;
  reason?: string;
}

/**
 * Compares the digests of one room's members. `null` entries are members that were not
 * connected at the end; they are reported as missing but do not make the room diverge, since
 * an absent client has nothing to disagree with. A room with nobody to compare fails.
 */
export function checkRoom(room: string, digests: readonly (DocDigest | null)[]): RoomCheck {
  const present = digests.filter((d): d is DocDigest => d !== null);
  const missing = digests.length - present.length;
  if (present.length === 0) {
    return {
      room,
      converged: false,
      compared: 0,
      missing,
      reason: 'no member connected at the end',
    };
  }
  const sv = new Set(present.map((d) => d.stateVector));
  const content = new Set(present.map((d) => d.content));
  if (sv.size > 1) {
    return {
      room,
      converged: false,
      compared: present.length,
      missing,
      reason: `${sv.size} different state vectors among ${present.length} members`,
    };
  }
  if (content.size > 1) {
    return {
      room,
      converged: false,
      compared: present.length,
      missing,
      reason: `same state vector but ${content.size} different contents among ${present.length} members`,
    };
  }
  return { room, converged: true, compared: present.length, missing };
}

/** Quick check used while waiting to settle: do all present members have one state vector? */
export function sameStateVectors(docs: readonly Y.Doc[]): boolean {
  if (docs.length < 2) return true;
  const first = stateVectorOf(docs[0]!);
  return docs.every((d, i) => i === 0 || stateVectorOf(d) === first);
}

export interface ConvergenceSummary {
  rooms: number;
  checked: number;
  converged: number;
  /** Rooms none of whose members was connected at the end (the server did not serve them). */
  unreached: number;
  membersMissing: number;
  diverged: RoomDivergence[];
  settleMs: number;
}

const MAX_LISTED = 50;

export function summariseChecks(
  checks: readonly RoomCheck[],
  rooms: number,
  settleMs: number,
): ConvergenceSummary {
  const diverged = checks.filter((c) => !c.converged);
  return {
    rooms,
    checked: checks.length,
    converged: checks.length - diverged.length,
    unreached: checks.filter((c) => c.compared === 0).length,
    membersMissing: checks.reduce((a, c) => a + c.missing, 0),
    diverged: diverged
      .slice(0, MAX_LISTED)
      .map((c) => ({ room: c.room, reason: c.reason ?? 'diverged' })),
    settleMs,
  };
}

export function mergeSummaries(parts: readonly ConvergenceSummary[]): ConvergenceSummary {
  return {
    rooms: parts.reduce((a, p) => a + p.rooms, 0),
    checked: parts.reduce((a, p) => a + p.checked, 0),
    converged: parts.reduce((a, p) => a + p.converged, 0),
    unreached: parts.reduce((a, p) => a + p.unreached, 0),
    membersMissing: parts.reduce((a, p) => a + p.membersMissing, 0),
    diverged: parts.flatMap((p) => p.diverged).slice(0, MAX_LISTED),
    settleMs: Math.max(0, ...parts.map((p) => p.settleMs)),
  };
}
