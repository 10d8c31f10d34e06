/**
 * The room page's connection layer against a real room-server (port 0, in-memory storage):
 * sync, undo of our own changes only, a refused write reported and rolled back, presence that
 * does not get us disconnected, and renewing a token that is about to expire.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addLine,
  initRoom,
  joinMember,
  readLines,
  readMembers,
  setMeta,
  signToken,
} from '@patungan/model';
import { startRoomServer, type RoomServer } from '@patungan/room-server';
import { RoomConnection, backoffDelay } from '../src/lib/room/connection.ts';
import { freePort } from './helpers/stack.ts';

const secret = randomBytes(32).toString('base64url');
let server: RoomServer;
const open: RoomConnection[] = [];

beforeAll(async () => {
  server = await startRoomServer({ port: 0, secret, logLevel: 'silent' });
});

afterEach(() => {
  for (const c of open.splice(0)) c.destroy();
});

afterAll(async () => {
  await server?.close();
});

let roomSeq = 0;
const newRoomId = () => `room-conn-${process.pid}-${++roomSeq}`;

function token(
  roomId: string,
  sub: string,
  role: 'organiser' | 'member',
  ttlSeconds = 3600,
): Promise<string> {
  return signToken({ sub, name: sub, room: roomId, role }, secret, { ttlSeconds });
}

async function connect(
  roomId: string,
  sub: string,
  role: 'organiser' | 'member',
  o: { ttlSeconds?: number; refreshed?: () => void } = {},
): Promise<RoomConnection> {
  const conn = new RoomConnection({
    roomId,
    serverUrl: server.url,
    token: await token(roomId, sub, role, o.ttlSeconds),
    memberId: sub,
    persist: false,
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    refreshToken: async () => {
      o.refreshed?.();
      return token(roomId, sub, role);
    },
  });
  open.push(conn);
  const synced = new Promise<void>((resolve) => conn.on('synced', () => resolve()));
  conn.connect();
  await synced;
  return conn;
}

/** Resolves when `check` holds, re-checking on every document change of `conn`. */
function when(conn: RoomConnection, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) return resolve();
    const on = () => {
      if (check()) {
        conn.doc.off('update', on);
        resolve();
      }
    };
    conn.doc.on('update', on);
  });
}

async function room(): Promise<{ roomId: string; ani: RoomConnection; budi: RoomConnection }> {
  const roomId = newRoomId();
  const ani = await connect(roomId, 'ani', 'organiser');
  ani.transact(() =>
    initRoom(ani.doc, { name: 'Kos', currency: 'IDR', organiser: 'ani', organiserName: 'Ani' }),
  );
  const budi = await connect(roomId, 'budi', 'member');
  budi.transact(() => joinMember(budi.doc, 'budi', 'Budi'));
  await when(ani, () => 'budi' in readMembers(ani.doc));
  return { roomId, ani, budi };
}

describe('room connection', () => {
  it('syncs both ways and undoes only our own changes', async () => {
    const { ani, budi } = await room();
    ani.transact(() => addLine(ani.doc, { sku: 'teh', qty: 1, addedBy: 'ani' }));
    budi.transact(() => addLine(budi.doc, { sku: 'kopi', qty: 2, addedBy: 'budi' }));
    await when(ani, () => readLines(ani.doc).length === 2);
    await when(budi, () => readLines(budi.doc).length === 2);

    expect(budi.undo.canUndo()).toBe(true);
    budi.undo.undo();
    expect(readLines(budi.doc).map((l) => l.sku)).toEqual(['teh']);
    await when(ani, () => readLines(ani.doc).length === 1);
    expect(readLines(ani.doc)[0]!.sku).toBe('teh');
    budi.undo.redo();
    await when(ani, () => readLines(ani.doc).some((l) => l.sku === 'kopi'));
  });

  it('reports a refused write and rolls it back everywhere', async () => {
    const { ani, budi } = await room();
    const denied: string[] = [];
    budi.on('denied', (reason) => denied.push(reason));
    ani.transact(() => setMeta(ani.doc, 'status', 'locked'));
    await when(budi, () => budi.doc.getMap('meta').get('status') === 'locked');

    budi.transact(() => addLine(budi.doc, { sku: 'kopi', qty: 1, addedBy: 'budi' }));
    expect(readLines(budi.doc)).toHaveLength(1);
    await when(budi, () => readLines(budi.doc).length === 0);
    await new Promise<void>((resolve) =>
      denied.length ? resolve() : budi.on('denied', () => resolve()),
    );
    expect(denied[0]).toBeTruthy();

    // Budi's next allowed write still flows (his update chain was not broken by the refusal).
    ani.transact(() => setMeta(ani.doc, 'status', 'open'));
    await when(budi, () => budi.doc.getMap('meta').get('status') === 'open');
    budi.transact(() => addLine(budi.doc, { sku: 'teh', qty: 3, addedBy: 'budi' }));
    await when(ani, () => readLines(ani.doc).length === 1);
    expect(readLines(ani.doc).map((l) => [l.sku, l.qty])).toEqual([['teh', 3]]);
  });

  it('exchanges presence without being disconnected for it', async () => {
    const { ani, budi } = await room();
    let closes = 0;
    budi.provider.on('connection-close', () => closes++);
    ani.provider.on('connection-close', () => closes++);
    ani.awareness.setLocalState({ user: { id: 'ani', name: 'Ani', colour: '#000' } });
    budi.awareness.setLocalState({ user: { id: 'budi', name: 'Budi', colour: '#000' } });
    const sees = (c: RoomConnection, id: string) =>
      [...c.awareness.getStates().values()].some(
        (s) => (s as { user?: { id?: string } }).user?.id === id,
      );
    await new Promise<void>((resolve) => {
      const check = () => sees(budi, 'ani') && sees(ani, 'budi') && resolve();
      ani.awareness.on('change', check);
      budi.awareness.on('change', check);
      check();
    });
    // Anything Budi sent after hearing Ani (an echo the server would punish) precedes this
    // update on the same socket, so Ani receiving it proves Budi is still connected.
    budi.transact(() => addLine(budi.doc, { sku: 'roti', qty: 1, addedBy: 'budi' }));
    await when(ani, () => readLines(ani.doc).length === 1);
    expect(closes).toBe(0);
  });

  it('sees friends again right after a reconnect, not at their next presence renewal', async () => {
    const { ani, budi } = await room();
    // Stop both renewal timers, so a state can only come back through the reconnect itself.
    for (const c of [ani, budi])
      clearInterval((c.awareness as unknown as { _checkInterval: number })._checkInterval);
    ani.awareness.setLocalState({ user: { id: 'ani', name: 'Ani', colour: '#000' } });
    budi.awareness.setLocalState({ user: { id: 'budi', name: 'Budi', colour: '#000' } });
    const sees = (c: RoomConnection, id: string) =>
      [...c.awareness.getStates().values()].some(
        (s) => (s as { user?: { id?: string } }).user?.id === id,
      );
    const until = (check: () => boolean) =>
      new Promise<void>((resolve) => {
        const run = () => {
          if (!check()) return;
          ani.awareness.off('change', run);
          budi.awareness.off('change', run);
          resolve();
        };
        ani.awareness.on('change', run);
        budi.awareness.on('change', run);
        run();
      });
    await until(() => sees(ani, 'budi') && sees(budi, 'ani'));
    budi.provider.disconnect();
    await until(() => !sees(ani, 'budi') && !sees(budi, 'ani'));
    budi.provider.connect();
    await until(() => sees(ani, 'budi') && sees(budi, 'ani'));
  });

  it('renews a token that is about to expire before connecting', async () => {
    const roomId = newRoomId();
    let refreshed = 0;
    const ani = await connect(roomId, 'ani', 'organiser', {
      ttlSeconds: 30,
      refreshed: () => refreshed++,
    });
    expect(refreshed).toBe(1);
    expect(ani.provider.params.token).toBe(ani.token);
    ani.transact(() => initRoom(ani.doc, { name: 'Kos', currency: 'IDR', organiser: 'ani' }));
    const budi = await connect(roomId, 'budi', 'member');
    await when(budi, () => budi.doc.getMap('meta').get('status') === 'open');
  });

  it('renews a token the server refuses at the upgrade, then connects', async () => {
    const roomId = newRoomId();
    // Valid for an hour as far as the page can read, but signed with another secret: the
    // room-server answers the upgrade with 401, exactly like a token it no longer accepts.
    const refused = await signToken(
      { sub: 'ani', name: 'ani', room: roomId, role: 'organiser' },
      randomBytes(32).toString('base64url'),
      { ttlSeconds: 3600 },
    );
    let refreshed = 0;
    const ani = new RoomConnection({
      roomId,
      serverUrl: server.url,
      token: refused,
      memberId: 'ani',
      persist: false,
      backoff: { baseMs: 20, capMs: 100 },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      refreshToken: async () => {
        refreshed++;
        return token(roomId, 'ani', 'organiser');
      },
    });
    open.push(ani);
    const synced = new Promise<void>((resolve) => ani.on('synced', () => resolve()));
    ani.connect();
    await synced;
    expect(refreshed).toBe(1);
    expect(ani.state).toBe('connected');
  }, 15_000);

  it('keeps reconnecting through a long outage and resyncs the edits made meanwhile', async () => {
    // A server of its own, restarted on the same port and data directory.
    const dataDir = await mkdtemp(join(tmpdir(), 'patungan-conn-'));
    const port = await freePort();
    const opts = { port, secret, dataDir, logLevel: 'silent' };
    let own: RoomServer | null = await startRoomServer(opts);
    try {
      const roomId = newRoomId();
      const make = async (sub: string, role: 'organiser' | 'member') => {
        const c = new RoomConnection({
          roomId,
          serverUrl: own!.url,
          token: await token(roomId, sub, role),
          memberId: sub,
          persist: false,
          backoff: { baseMs: 50, capMs: 300 },
          WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
          refreshToken: () => token(roomId, sub, role),
        });
        open.push(c);
        const synced = new Promise<void>((resolve) => c.on('synced', () => resolve()));
        c.connect();
        await synced;
        return c;
      };
      const ani = await make('ani', 'organiser');
      ani.transact(() =>
        initRoom(ani.doc, { name: 'Kos', currency: 'IDR', organiser: 'ani', organiserName: 'Ani' }),
      );
      const budi = await make('budi', 'member');
      await when(budi, () => budi.doc.getMap('meta').get('status') === 'open');
      let closes = 0;
      budi.provider.on('connection-close', () => closes++);

      await own.close();
      own = null;
      const stateIs = (c: RoomConnection, s: string) =>
        new Promise<void>((resolve) => {
          if (c.state === s) return resolve();
          const off = c.on('state', (x) => x === s && (off(), resolve()));
        });
      await stateIs(budi, 'reconnecting');
      budi.transact(() => addLine(budi.doc, { sku: 'kopi', qty: 2, addedBy: 'budi' }));
      // Well past the provider's own four or five attempts (where the old code gave up).
      while (closes < 10) {
        await new Promise((r) => setTimeout(r, 100));
      }
      own = await startRoomServer(opts);
      await Promise.all([stateIs(ani, 'connected'), stateIs(budi, 'connected')]);
      await when(ani, () => readLines(ani.doc).some((l) => l.sku === 'kopi'));
      ani.transact(() => addLine(ani.doc, { sku: 'teh', qty: 1, addedBy: 'ani' }));
      await when(budi, () => readLines(budi.doc).some((l) => l.sku === 'teh'));
      expect(readLines(budi.doc)).toEqual(readLines(ani.doc));
    } finally {
      await own?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('spreads reconnects with full jitter under a cap', () => {
    const b = { baseMs: 500, capMs: 10_000 };
    expect(backoffDelay(0, b, () => 1)).toBe(500);
    expect(backoffDelay(3, b, () => 1)).toBe(4000);
    expect(backoffDelay(40, b, () => 1)).toBe(10_000);
    expect(backoffDelay(40, b, () => 0)).toBe(0);
    expect(backoffDelay(2, b, () => 0.5)).toBe(1000);
  });
});
