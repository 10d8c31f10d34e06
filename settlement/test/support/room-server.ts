/**
 * A real room-server and a settlement service started together for a describe block (the
 * settlement delivers to the room-server, the room-server finalises at the settlement), plus
 * y-websocket clients on its rooms that are closed with it.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { signToken } from '@patungan/model';
import { startRoomServer, type RoomServer } from '@patungan/room-server';
import {
  SECRET,
  forwarding,
  silent,
  startTestService,
  until,
  type TestService,
} from './service.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export function withRoomServer(o: { holdTtlSeconds: number; setupTimeout?: number }) {
  let s: TestService | undefined;
  let rs: RoomServer | undefined;
  const providers: WebsocketProvider[] = [];

  beforeAll(async () => {
    const port = await freePort();
    s = await startTestService('pglite', {
      roomServerUrl: `http://127.0.0.1:${port}`,
      holdTtlSeconds: o.holdTtlSeconds,
    });
    rs = await startRoomServer({
      port,
      secret: SECRET,
      settlementUrl: s.url,
      logger: silent,
      unloadDelayMs: 100,
    });
  }, o.setupTimeout);
  afterAll(async () => {
    for (const p of providers) p.destroy();
    await rs?.close();
    await s?.stop();
  });

  /** A synced client on `roomId` with a token for `sub`. */
  async function connect(roomId: string, sub: string, role: 'organiser' | 'member') {
    const doc = new Y.Doc();
    const token = await signToken({ sub, name: sub, role, room: roomId }, SECRET);
    const provider = new WebsocketProvider(rs!.url, roomId, doc, {
      params: { token },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    providers.push(provider);
    await until(async () => provider.synced, 5000, 'sync');
    return { doc, token };
  }

  return { s: forwarding(() => s), rs: forwarding(() => rs), connect };
}
