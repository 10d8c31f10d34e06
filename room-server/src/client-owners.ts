/**
 * Which member first wrote with each Yjs client id, for the room's whole lifetime.
 *
 * Yjs trusts client ids: content under client id X at clock c is "X's c-th change". A member
 * who writes under another member's id occupies that member's next clocks, and every later
 * update of the real owner (typically the offline edits it sends when it comes back) is then
 * ignored as already known — its document diverges for good. So the first member to write new
 * content with a client id owns it, and new content under that id from anyone else is refused.
 *
 * The record lives in the room document itself, under the root `clients` (`String(clientId)` →
 * member id, `CLIENT_OWNERS_ROOT` in model), written by the server as a service write in the
 * same step as the first update it records. So it is stored, compacted, loaded, replicated to
 * other instances (scaled mode) and survives unloads and restarts exactly like the room's
 * data, with no storage of its own. Only the service may write that root (write-rules.ts: a
 * root outside the schema); clients never read it. It grows by ~20 bytes per client id that
 * ever wrote (one per browser session), bounded by the room's size limit.
 */
import type * as Y from 'yjs';
import { CLIENT_OWNERS_ROOT } from '@patungan/model';
import { serviceOrigin } from './origins.ts';

export const OWNERS_ORIGIN = serviceOrigin('client-owners');

const ownersMap = (doc: Y.Doc) => doc.getMap<unknown>(CLIENT_OWNERS_ROOT);

/** The member who first wrote with `client` in this room, if recorded. */
export function clientOwner(doc: Y.Doc, client: number): string | undefined {
  const v = ownersMap(doc).get(String(client));
  return typeof v === 'string' ? v : undefined;
}

/** Records `member` as the owner of `clients` (one transaction; existing records stay). */
export function recordClientOwners(doc: Y.Doc, clients: readonly number[], member: string): void {
  doc.transact(() => {
    const m = ownersMap(doc);
    for (const c of clients) if (!m.has(String(c))) m.set(String(c), member);
  }, OWNERS_ORIGIN);
}
