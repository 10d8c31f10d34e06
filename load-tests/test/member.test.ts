/**
 * One simulated member against a real room-server: the y-websocket handshake, the latency
 * probe carried inside an edit, and a refused write (permission-denied, the sender snaps back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addLine,
  initRoom,
  linesMap,
  metaMap,
  signToken,
  setMeta,
  type TokenClaims,
} from '@patungan/model';
import { createMemoryStorage, startRoomServer, type RoomServer } from '@patungan/room-server';
import { SimMember, type MemberSpec } from '../src/member.ts';
import { Stats } from '../src/stats.ts';
import { digestDoc } from '../src/convergence.ts';

const SECRET = 'member-test-secret-0123456789';
let server: RoomServer;
const stats: Stats[] = [];
const members: SimMember[] = [];

beforeAll(async () => {
  server = await startRoomServer({
    port: 0,
    secret: SECRET,
    storage: createMemoryStorage(),
    logLevel: 'silent',
  });
});

afterAll(async () => {
  for (const m of members) m.destroy();
  for (const s of stats) s.dispose();
  await server?.close();
});

async function member(room: string, id: string, role: 'organiser' | 'member', urlIndex = 0) {
  const s = new Stats();
  stats.push(s);
  const spec: MemberSpec = {
    roomId: room,
    roomIndex: 0,
    memberId: id,
    name: id,
    role,
    urlIndex,
    url: server.url,
  };
  const m = new SimMember(spec, s);
  members.push(m);
  const claims: Omit<TokenClaims, 'exp'> = { sub: id, room, name: id, role };
  await m.connect(await signToken(claims, SECRET));
  return { m, s };
}

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

describe('SimMember', () => {
  it('syncs, carries the send timestamp inside the edit and measures it at the receiver', async () => {
    const a = await member('mem-room-1', 'a', 'organiser');
    const b = await member('mem-room-1', 'b', 'member', 1);
    expect(a.m.synced && b.m.synced).toBe(true);
    expect(a.s.connect.count).toBe(1);
    expect(a.s.sync.count).toBe(1);
    initRoom(a.m.doc, { name: 'r', currency: 'IDR', organiser: 'a', organiserName: 'a' });
    a.m.edit((doc) => addLine(doc, { sku: 'teh', qty: 2, addedBy: 'a' }));
    await until(() => linesMap(b.m.doc).size === 1, 'the line at b');
    expect(b.s.all.count).toBe(1); // one probe, one sample
    expect(b.s.cross.count).toBe(1); // b said it is on URL 1, a on URL 0
    expect(b.s.all.max).toBeGreaterThanOrEqual(0);
    expect(b.s.all.max).toBeLessThan(60_000_000); // µs: a real delay, not an epoch
    expect(a.s.all.count).toBe(0); // nobody measures their own edit
    expect(digestDoc(a.m.doc)).toEqual(digestDoc(b.m.doc));
  });

  it('counts a refused write and snaps back without diverging; the next allowed edit flows', async () => {
    const org = await member('mem-room-2', 'o', 'organiser');
    const mem = await member('mem-room-2', 'm', 'member');
    initRoom(org.m.doc, { name: 'kept', currency: 'IDR', organiser: 'o', organiserName: 'o' });
    await until(() => metaMap(mem.m.doc).get('name') === 'kept', 'meta at the member');
    setMeta(mem.m.doc, 'name', 'hijacked'); // members may not write meta
    await until(() => mem.s.counters.refusedWrites === 1, 'permission-denied');
    await until(() => metaMap(mem.m.doc).get('name') === 'kept', 'the revert');
    expect(metaMap(org.m.doc).get('name')).toBe('kept');
    mem.m.edit((doc) => addLine(doc, { sku: 'kopi', qty: 1, addedBy: 'm' }));
    await until(() => linesMap(org.m.doc).size === 1, 'the allowed edit at the organiser');
    expect(digestDoc(org.m.doc)).toEqual(digestDoc(mem.m.doc));
  });

  it('reports a refused token as a failed connection with its HTTP status, and never retries it', async () => {
    const s = new Stats();
    stats.push(s);
    const spec: MemberSpec = {
      roomId: 'mem-room-3',
      roomIndex: 0,
      memberId: 'x',
      name: 'x',
      role: 'member',
      urlIndex: 0,
      url: server.url,
    };
    const m = new SimMember(spec, s);
    members.push(m);
    await m.connect(
      await signToken({ sub: 'x', room: 'another-room', name: 'x', role: 'member' }, SECRET),
    );
    expect(m.synced).toBe(false);
    expect(m.refused).toBe(true);
    expect(s.counters.failed).toBe(1);
    expect(s.counters.errors.http_403).toBe(1);
  });
});
