/**
 * The real thing: room-server and settlement started together. The organiser finalises
 * from the room (a stock y-websocket client), members pay on the local pay page, and the
 * room document shows the settlement paid — written by the settlement service through the
 * room-server as a service writer.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import {
  addLine,
  initRoom,
  joinMember,
  metaMap,
  readSettlement,
  setMeta,
  signToken,
} from '@patungan/model';
import { startRoomServer, type RoomServer } from '@patungan/room-server';
import {
  SECRET,
  setStock,
  silent,
  startTestService,
  until,
  type TestService,
} from './support/service.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('with a real room-server', () => {
  let s: TestService;
  let rs: RoomServer;
  const providers: WebsocketProvider[] = [];

  beforeAll(async () => {
    const port = await freePort();
    s = await startTestService('pglite', {
      roomServerUrl: `http://127.0.0.1:${port}`,
      holdTtlSeconds: 60,
    });
    rs = await startRoomServer({
      port,
      secret: SECRET,
      settlementUrl: s.url,
      logger: silent,
      unloadDelayMs: 100,
    });
  });
  afterAll(async () => {
    for (const p of providers) p.destroy();
    await rs?.close();
    await s?.stop();
  });

  async function connect(roomId: string, sub: string, role: 'organiser' | 'member') {
    const doc = new Y.Doc();
    const token = await signToken({ sub, name: sub, role, room: roomId }, SECRET);
    const provider = new WebsocketProvider(rs.url, roomId, doc, {
      params: { token },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    providers.push(provider);
    await until(async () => provider.synced, 5000, 'sync');
    return { doc, token };
  }

  it('finalise → pay → the room document shows paid', async () => {
    await setStock(s, 'jkt-kemang', 'MIN-0003', 10);
    const roomId = `it-${Date.now().toString(36)}`;
    const org = await connect(roomId, 'ana', 'organiser');
    initRoom(org.doc, { name: 'Piknik', currency: 'IDR', organiser: 'ana', organiserName: 'Ana' });
    setMeta(org.doc, 'storeId', 'jkt-kemang');
    const budi = await connect(roomId, 'budi', 'member');
    joinMember(budi.doc, 'budi', 'Budi');
    addLine(budi.doc, { sku: 'MIN-0003', qty: 2, addedBy: 'budi' });
    await until(
      async () => org.doc.getMap('lines').size === 1 && org.doc.getMap('members').size === 2,
    );

    const res = await fetch(`${rs.httpUrl}/rooms/${roomId}/finalise`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    const { settlementId } = (await res.json()) as { settlementId: string };
    const pending = await until(async () => {
      const st = readSettlement(budi.doc);
      return st.id === settlementId && st.payments && Object.keys(st.payments).length === 2 && st;
    });
    expect(metaMap(budi.doc).get('status')).toBe('settling');
    for (const p of Object.values(pending.payments!)) {
      expect(p.payUrl).toBeTruthy();
      const r = await fetch(p.payUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"action":"authorize"}',
      });
      expect(r.status).toBe(200);
    }
    const paid = await until(
      async () => readSettlement(budi.doc).status === 'paid' && readSettlement(budi.doc),
      10_000,
      'paid in the room',
    );
    expect(Object.values(paid.payments!).map((p) => p.status)).toEqual(['captured', 'captured']);
    expect(metaMap(org.doc).get('status')).toBe('settling');
  });
});
