/**
 * Live room status for the home page. The truth is `meta.status` in the room document on the
 * room-server; the directory's `rooms.status` caches it. A probe connects to the room as a
 * `service` reader with a stock y-websocket client, waits for the first sync, reads the
 * status and leaves. Probes are deduplicated per room, limited in number, and a room is
 * probed at most once per {@link STALE_MS}; a failed probe keeps the cached status.
 *
 * The probe never writes to the document; it sets its awareness state to null before
 * connecting so it never shows up as a present member.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { roomStatus, type RoomStatus } from '@patungan/model';
import type { Db } from '@patungan/db';
import { httpToWs } from './config.ts';
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
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(httpToWs(roomServerHttpUrl), roomId, doc, {
    connect: false,
    disableBc: true,
    params: { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    maxBackoffTime: 1000,
  });
  provider.awareness.setLocalState(null);
  try {
    return await new Promise<RoomStatus>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('room status probe timed out')), timeoutMs);
      provider.on('sync', (synced: boolean) => {
        if (!synced) return;
        clearTimeout(timer);
        resolve(roomStatus(doc));
      });
      provider.connect();
    });
  } finally {
    provider.destroy();
    doc.destroy();
  }
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
