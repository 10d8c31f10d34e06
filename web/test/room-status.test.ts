/**
 * The home page's live room status: a probe asks a real room-server's `GET /rooms/<id>/status`
 * with a `service` token (no WebSocket, no Yjs sync) and reads `meta.status`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { initRoom, setMeta, signToken } from '@patungan/model';
import { startRoomServer, type RoomServer } from '@patungan/room-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../src/lib/server/auth.ts';
import { createRoom, myRooms } from '../src/lib/server/rooms.ts';
import { probeRoomStatus, refreshStatuses } from '../src/lib/server/room-status.ts';
import { serviceToken } from '../src/lib/server/tokens.ts';
import { pgliteTestDb, type TestDb } from './helpers/databases.ts';

const SECRET = 'room-status-test-secret';
let server: RoomServer;
let dir: string;
let t: TestDb;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'web-room-status-'));
  server = await startRoomServer({ port: 0, secret: SECRET, dataDir: dir, logLevel: 'warn' });
  t = await pgliteTestDb();
});

afterAll(async () => {
  await server?.close();
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The organiser's client: initialises the room and sets its status, then disconnects. */
async function organiserSets(roomId: string, organiser: string, status: 'open' | 'locked') {
  const doc = new Y.Doc();
  const token = await signToken(
    { sub: organiser, name: 'Org', room: roomId, role: 'organiser' },
    SECRET,
  );
  const provider = new WebsocketProvider(server.url, roomId, doc, {
    params: { token },
    disableBc: true,
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  try {
    await new Promise<void>((resolve) => provider.on('sync', (s: boolean) => s && resolve()));
    initRoom(doc, { name: 'Kos', currency: 'IDR', organiser, organiserName: 'Org' });
    setMeta(doc, 'status', status);
    // Wait until the server has it: a second, read-only probe sees the status.
    await expect
      .poll(async () => probeRoomStatus(server.httpUrl, roomId, await serviceToken(roomId, SECRET)))
      .toBe(status);
  } finally {
    provider.destroy();
    doc.destroy();
  }
}

describe('room status probe', () => {
  it('reads meta.status, and a room without meta counts as open', async () => {
    expect(
      await probeRoomStatus(server.httpUrl, 'fresh-room', await serviceToken('fresh-room', SECRET)),
    ).toBe('open');
    await organiserSets('locked-room', 'u-org', 'locked');
    expect(
      await probeRoomStatus(
        server.httpUrl,
        'locked-room',
        await serviceToken('locked-room', SECRET),
      ),
    ).toBe('locked');
  });

  it('fails at once with a token for another secret', async () => {
    const bad = await signToken(
      { sub: 'web', name: 'web', room: 'r1', role: 'service' },
      'other-secret',
    );
    await expect(probeRoomStatus(server.httpUrl, 'r1', bad, 1500)).rejects.toThrow(/401/);
  });

  it('refreshStatuses caches the document status in the directory', async () => {
    const u = await register(t.db, {
      email: 'org@example.com',
      password: 'secret123',
      name: 'Org',
    });
    const room = await createRoom(t.db, u.id, { name: 'Kos', currency: 'IDR' });
    await organiserSets(room.id, u.id, 'locked');
    const rooms = await myRooms(t.db, u.id);
    expect(rooms[0]!.status).toBe('open');
    refreshStatuses(t.db, rooms, { roomServerHttpUrl: server.httpUrl, tokenSecret: SECRET });
    await expect
      .poll(async () => (await myRooms(t.db, u.id))[0]!.status, { timeout: 10_000 })
      .toBe('locked');
  });
});
