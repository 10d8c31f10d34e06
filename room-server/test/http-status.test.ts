/**
 * `GET /rooms/<id>/status`: a room's status, settlement and member count for the service,
 * read from the room's document as a service write loads it, without a Yjs sync.
 */
import { describe, expect, test } from 'vitest';
import { initRoom, joinMember, membersMap } from '@patungan/model';
import type { RoomServer } from '../src/index.ts';
import { client, startServer, tempDir, token, waitFor } from './helpers.ts';

async function get(server: RoomServer, roomId: string, tok: string | null, method = 'GET') {
  const res = await fetch(`${server.httpUrl}/rooms/${roomId}/status`, {
    method,
    headers: tok ? { authorization: `Bearer ${tok}` } : {},
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function putSettlement(server: RoomServer, roomId: string, body: unknown) {
  const res = await fetch(`${server.httpUrl}/rooms/${roomId}/settlement`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await token(roomId, 'settlement', 'service')}`,
    },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

describe('GET /rooms/<id>/status', () => {
  test('answers what the room document holds: status, settlement, current members', async () => {
    const server = await startServer();
    const room = 'status-room';
    const svc = await token(room, 'web', 'service');
    const org = await client(server, room, await token(room, 'org', 'organiser'));
    initRoom(org.doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    const ani = await client(server, room, await token(room, 'ani'));
    joinMember(ani.doc, 'ani', 'Ani');
    const budi = await client(server, room, await token(room, 'budi'));
    joinMember(budi.doc, 'budi', 'Budi');
    await waitFor(() => membersMap(org.doc).size === 3);
    // the organiser removes budi: a removed member is not counted
    org.doc.transact(() => {
      membersMap(org.doc).set('budi', { ...membersMap(org.doc).get('budi')!, removedAt: 'now' });
    });
    await waitFor(() => Boolean(membersMap(ani.doc).get('budi')?.removedAt));

    const open = await get(server, room, svc);
    expect(open).toEqual({
      status: 200,
      body: { roomId: room, status: 'open', settlement: null, members: 2, deadline: null },
    });

    await putSettlement(server, room, {
      seq: 1,
      settlement: { id: 's_1', status: 'awaiting_payment', total: 12000 },
    });
    await waitFor(() => ani.doc.getMap('meta').get('status') === 'settling');
    const settling = await get(server, room, svc);
    expect(settling.status).toBe(200);
    expect(settling.body).toEqual({
      roomId: room,
      status: ani.doc.getMap('meta').get('status'),
      settlement: ani.doc.getMap('settlement').toJSON(),
      members: 2,
      deadline: null,
    });
  });

  test('reads a room that is not in memory from storage, and opens no connection', async () => {
    const dataDir = await tempDir();
    const server = await startServer({ dataDir, unloadDelayMs: 50 });
    const room = 'stored-room';
    const org = await client(server, room, await token(room, 'org', 'organiser'));
    initRoom(org.doc, { name: 'Stored', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    await waitFor(
      async () => (await get(server, room, await token(room, 'web', 'service'))).status === 200,
    );
    org.provider.destroy();
    await waitFor(() => server.rooms.size === 0, 'the room unloaded');
    const again = await startServer({ dataDir });
    const r = await get(again, room, await token(room, 'web', 'service'));
    expect(r).toEqual({
      status: 200,
      body: { roomId: room, status: 'open', settlement: null, members: 1, deadline: null },
    });
    const health = (await (await fetch(`${again.httpUrl}/healthz`)).json()) as {
      connections: number;
    };
    expect(health.connections).toBe(0);
  });

  test("carries the document's current deadline: set, moved, removed", async () => {
    const server = await startServer();
    const room = 'deadline-room';
    const svc = await token(room, 'web', 'service');
    const org = await client(server, room, await token(room, 'org', 'organiser'));
    const first = '2030-01-01T10:00:00.000Z';
    initRoom(org.doc, {
      name: 'Dinner',
      currency: 'IDR',
      organiser: 'org',
      organiserName: 'Org',
      deadline: first,
    });
    await waitFor(async () => (await get(server, room, svc)).body.deadline === first);
    // the organiser moves it: web's reminder check must see the new time, not the first one
    const moved = '2030-01-01T12:30:00.000Z';
    org.doc.getMap('meta').set('deadline', moved);
    await waitFor(async () => (await get(server, room, svc)).body.deadline === moved);
    org.doc.getMap('meta').delete('deadline');
    await waitFor(async () => (await get(server, room, svc)).body.deadline === null);
  });

  test('404 for a room never created; 401 without a token; 403 for a member; 405 for POST', async () => {
    const server = await startServer();
    const room = 'never-made';
    expect(await get(server, room, await token(room, 'web', 'service'))).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect((await get(server, room, null)).status).toBe(401);
    expect((await get(server, room, await token(room, 'ani'))).status).toBe(403);
    expect((await get(server, room, await token(room, 'org', 'organiser'))).status).toBe(403);
    expect((await get(server, room, await token('other-room', 'web', 'service'))).status).toBe(403);
    expect((await get(server, room, await token(room, 'web', 'service'), 'POST')).status).toBe(405);
    expect((await get(server, 'bad%2Fid', await token(room, 'web', 'service'))).status).toBe(404);
  });
});
