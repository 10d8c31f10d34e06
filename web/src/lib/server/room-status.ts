/**
 * Live room status for the home page. The truth is `meta.status` in the room document on the
 * room-server; the directory's `rooms.status` caches it. A probe asks the room-server's
 * `GET /rooms/<id>/status` with a `service` token — one small HTTP request that reads the
 * stored document, instead of a WebSocket and a full Yjs sync of the room. A room the
 * room-server has never seen (404) counts as `open`. Probes are deduplicated per room, limited
 * in number, and a room is probed at most once per {@link STALE_MS}; a failed probe keeps the
 * cached status.
 */
import { ROOM_STATUSES, type RoomStatus } from '@patungan/model';
import type { Db } from '@patungan/db';
import { log } from './log.ts';
import { setRoomStatus } from './rooms.ts';
import { serviceToken } from './tokens.ts';

export const STALE_MS = 10_000;
const MAX_CONCURRENT = 4;
const PROBE_TIMEOUT_MS = 5_000;

export async function probeRoomStatus(
  roomServerHttpUrl: string,
  roomId: string,
  token: string,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<RoomStatus> {
  const res = await fetch(`${roomServerHttpUrl}/rooms/${encodeURIComponent(roomId)}/status`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return 'open';
  }
  if (!res.ok) {
    const text = await res.text();
    throw new Error(`room status: ${res.status} ${text.slice(0, 200)}`);
  }
  const body = (await res.json()) as { status?: unknown };
  const status = body.status;
  if (typeof status !== 'string' || !(ROOM_STATUSES as readonly string[]).includes(status))
    throw new Error(`room status: unexpected status ${JSON.stringify(status)}`);
  return status as RoomStatus;
}

const inFlight = new Map<string, Promise<void>>();
const lastProbe = new Map<string, number>();
let running = 0;

/**
 * Refreshes the cached status of these rooms where it is stale, in the background.
 * Returns at once; the next poll sees the result.
 */
export function refreshStatuses(
  db: Db,
  rooms: readonly { id: string; status: RoomStatus }[],
  o: { roomServerHttpUrl: string; tokenSecret: string },
  now = Date.now(),
): void {
  for (const r of rooms) {
    if (r.status === 'completed') continue;
    if (inFlight.has(r.id) || now - (lastProbe.get(r.id) ?? 0) < STALE_MS) continue;
    if (running >= MAX_CONCURRENT) return;
    lastProbe.set(r.id, now);
    running++;
    const p = (async () => {
      try {
        const status = await probeRoomStatus(
          o.roomServerHttpUrl,
          r.id,
          await serviceToken(r.id, o.tokenSecret),
        );
        if (status !== r.status) await setRoomStatus(db, r.id, status);
      } catch (err) {
        log.debug({ err, roomId: r.id }, 'room status probe failed');
      } finally {
        running--;
        inFlight.delete(r.id);
      }
    })();
    inFlight.set(r.id, p);
  }
  if (lastProbe.size > 10_000) lastProbe.clear();
}
