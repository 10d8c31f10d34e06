/**
 * Leaving and removal, and deadlines that act (docs/contracts.md "Leaving and removal",
 * "Deadline"), through real room-servers on the machine's Redis (isolated prefix), stock
 * y-websocket clients and raw WebSockets; settlement is a stand-in that counts its calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addLine,
  cartSnapshot,
  initRoom,
  joinMember,
  readSettlement,
  roomStatus,
  setMeta,
} from '@patungan/model';
import { CLOSE } from '../src/protocol.ts';
import { checkWrites, type Principal } from '../src/write-rules.ts';
import { SECRET, client, startServer, tempDir, token } from './helpers.ts';
import {
  rawConnection,
  redisInstances,
  settlementStandIn,
  upgradeStatus,
  type Node,
} from './lifecycle-helpers.ts';
import { stockClient, waitFor, whenSynced } from './scale-helpers.ts';

const cleanups: (() => Promise<unknown>)[] = [];
const cleanup = (fn: () => Promise<unknown>) => void cleanups.push(fn);
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function stock(url: string, room: string, sub: string, role: 'organiser' | 'member') {
  const c = stockClient(url, room, await token(room, sub, role));
  cleanup(async () => c.destroy());
  await whenSynced(c.provider);
  return c;
}

/** The room as stored in Redis (what an instance loading it now would see). */
async function stored(node: Node, room: string): Promise<Y.Doc> {
  const doc = new Y.Doc();
  for (const u of (await node.scale.store.load(room)).updates) Y.applyUpdate(doc, u);
  return doc;
}

const removedAt = () => new Date().toISOString();
function setRemoved(doc: Y.Doc, id: string, at: string | null): void {
  const members = doc.getMap<Record<string, unknown>>('members');
  const { removedAt: _drop, ...rest } = members.get(id) ?? {};
  void _drop;
  members.set(id, at ? { ...rest, removedAt: at } : rest);
}

describe('leaving and removal (2 instances on Redis)', () => {
  it("closes a removed member's connections with 4401 on every instance and refuses their token with 403, until the organiser takes them back", async () => {
    const [a, b] = (await redisInstances(2, SECRET, cleanup)) as [Node, Node];
    const room = 'leave-remove';
    const org = await stock(a.server.url, room, 'org', 'organiser');
    initRoom(org.doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    const bob = await stock(b.server.url, room, 'bob', 'member');
    joinMember(bob.doc, 'bob', 'Bob');
    addLine(bob.doc, { sku: 'teh-botol', qty: 2, addedBy: 'bob' });
    await waitFor(() => org.doc.getMap('lines').size === 1, 10_000, 'bob line on a');
    const bobToken = await token(room, 'bob');
    const onA = await rawConnection(a.server.url, room, bobToken);
    const onB = await rawConnection(b.server.url, room, bobToken);

    setRemoved(org.doc, 'bob', removedAt()); // the organiser removes bob, on instance a
    expect(await onA.closed).toBe(CLOSE.removed);
    expect(await onB.closed).toBe(CLOSE.removed);
    expect(await upgradeStatus(a.server.url, room, bobToken)).toBe(403);
    expect(await upgradeStatus(b.server.url, room, bobToken)).toBe(403);
    // his lines stay until someone removes them; his entry shows as left
    await waitFor(async () => !!(await stored(a, room)).getMap('members').toJSON().bob?.removedAt);
    const doc = await stored(a, room);
    expect(doc.getMap('lines').size).toBe(1);
    expect(doc.getMap('members').toJSON().bob).toMatchObject({ name: 'Bob' });

    // invited back: the organiser clears removedAt, bob's token works again
    setRemoved(org.doc, 'bob', null);
    await waitFor(
      async () => (await upgradeStatus(b.server.url, room, bobToken)) === 101,
      10_000,
      'bob admitted again',
    );
  });

  it('a member who leaves is closed on both instances; they cannot take themselves back in', async () => {
    const [a, b] = (await redisInstances(2, SECRET, cleanup)) as [Node, Node];
    const room = 'leave-self';
    const org = await stock(a.server.url, room, 'org', 'organiser');
    initRoom(org.doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    const bobToken = await token(room, 'bob');
    const other = await rawConnection(a.server.url, room, bobToken);
    const bob = await stock(b.server.url, room, 'bob', 'member');
    joinMember(bob.doc, 'bob', 'Bob');
    const bobClosed = new Promise<number>((r) =>
      bob.provider.on('connection-close', (e: CloseEvent | null) => r(e?.code ?? 0)),
    );
    setRemoved(bob.doc, 'bob', removedAt()); // bob leaves, on instance b
    expect(await bobClosed).toBe(CLOSE.removed);
    expect(await other.closed).toBe(CLOSE.removed);
    await waitFor(() => !!org.doc.getMap<{ removedAt?: string }>('members').get('bob')?.removedAt);
    expect(await upgradeStatus(a.server.url, room, bobToken)).toBe(403);
  });
});

describe('write rules of removedAt', () => {
  it('nobody removes the organiser; a member cannot remove another (and closes nobody); a member may leave', async () => {
    const server = await startServer();
    const room = 'rules';
    const org = await client(server, room, await token(room, 'org', 'organiser'));
    initRoom(org.doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setRemoved(org.doc, 'org', removedAt());
    await waitFor(() => org.denied.length > 0);
    expect(org.doc.getMap<{ removedAt?: string }>('members').get('org')?.removedAt).toBeUndefined();
    // a member may leave
    const carl = await client(server, room, await token(room, 'carl'));
    joinMember(carl.doc, 'carl', 'Carl');
    await waitFor(() => org.doc.getMap('members').has('carl'));
    const dave = await client(server, room, await token(room, 'dave'));
    joinMember(dave.doc, 'dave', 'Dave');
    await waitFor(() => carl.doc.getMap('members').has('dave'));
    setRemoved(carl.doc, 'dave', removedAt());
    await waitFor(() => carl.denied.length > 0);
    addLine(dave.doc, { sku: 'teh-botol', qty: 1, addedBy: 'dave' }); // dave is still in
    await waitFor(() => org.doc.getMap('lines').size === 1);
    expect(dave.closes).toEqual([]);
    const at = removedAt();
    setRemoved(carl.doc, 'carl', at); // carl leaves
    await waitFor(
      () => org.doc.getMap<{ removedAt?: string }>('members').get('carl')?.removedAt === at,
    );
  });

  it('refuses a member clearing or changing their own removedAt; the organiser may', () => {
    const doc = new Y.Doc();
    for (const r of ['meta', 'members', 'lines', 'votes', 'settlement']) doc.getMap(r);
    initRoom(doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    doc.getMap('members').set('dina', { name: 'Dina', joinedAt: 1, removedAt: removedAt() });
    const judged = (who: Principal, write: () => void): string[] => {
      let reasons: string[] = [];
      doc.once('afterTransaction', (tr: Y.Transaction) => {
        reasons = [...(checkWrites(tr, who)?.reasons ?? [])];
      });
      write();
      return reasons;
    };
    const dina: Principal = { id: 'dina', role: 'member', name: 'Dina' };
    const org: Principal = { id: 'org', role: 'organiser', name: 'Org' };
    expect(judged(dina, () => setRemoved(doc, 'dina', null)).join()).toMatch(/only the organiser/);
    setRemoved(doc, 'dina', removedAt()); // (nothing reverts in a bare document)
    expect(judged(dina, () => doc.getMap('members').delete('dina')).join()).toMatch(
      /only the organiser/,
    );
    doc.getMap('members').set('dina', { name: 'Dina', joinedAt: 1, removedAt: removedAt() });
    expect(judged(org, () => setRemoved(doc, 'dina', null))).toEqual([]);
    expect(judged(dina, () => setRemoved(doc, 'dina', removedAt()))).toEqual([]);
  });
});

describe('a member who left', () => {
  it('is not in the finalised snapshot (pays no share); their line stays in it', () => {
    const doc = new Y.Doc();
    initRoom(doc, { name: 'Lunch', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    joinMember(doc, 'bob', 'Bob');
    addLine(doc, { sku: 'teh-botol', qty: 2, addedBy: 'bob' });
    setRemoved(doc, 'bob', removedAt());
    const snap = cartSnapshot(doc, 'r');
    expect(snap.members.map((m) => m.id)).toEqual(['org']);
    expect(snap.lines.map((l) => l.addedBy)).toEqual(['bob']);
  });
});

describe('deadlines that act', () => {
  it('3 instances on Redis finalise a passed deadline exactly once, with nobody connected', async () => {
    const settlement = await settlementStandIn(cleanup);
    const nodes = await redisInstances(3, SECRET, cleanup, {
      settlementUrl: settlement.url,
      deadlineScanMs: 50,
    });
    const [a] = nodes as [Node];
    const rooms = ['due-1', 'due-2', 'due-3'];
    for (const room of rooms) {
      const org = await stock(nodes[rooms.indexOf(room)]!.server.url, room, 'org', 'organiser');
      initRoom(org.doc, { name: room, currency: 'IDR', organiser: 'org', organiserName: 'Org' });
      setMeta(org.doc, 'storeId', 'toko-bdg');
      addLine(org.doc, { sku: 'teh-botol', qty: 1, addedBy: 'org' });
      setMeta(org.doc, 'deadline', new Date(Date.now() + 1500).toISOString());
      await waitFor(
        async () => typeof (await stored(a, room)).getMap('meta').get('deadline') === 'string',
      );
      org.destroy();
    }
    // nobody is connected: the rooms leave memory everywhere before their deadlines pass
    await waitFor(() => nodes.every((n) => n.server.rooms.size === 0), 10_000, 'rooms unloaded');
    for (const room of rooms) {
      await waitFor(
        async () => roomStatus(await stored(a, room)) === 'settling',
        10_000,
        `${room} finalised`,
      );
    }
    // several scans of every instance later, still one settlement per room
    await new Promise((r) => setTimeout(r, 600));
    expect(settlement.posts.map((p) => p.roomId).sort()).toEqual(rooms);
    for (const room of rooms) {
      const doc = await stored(a, room);
      expect(readSettlement(doc).id).toBeTruthy();
      expect(doc.getMap('meta').get('deadline')).toBeUndefined();
    }
  });

  it('a moved or removed deadline does not fire; an empty cart is locked with the reason', async () => {
    const settlement = await settlementStandIn(cleanup);
    const nodes = await redisInstances(2, SECRET, cleanup, {
      settlementUrl: settlement.url,
      deadlineScanMs: 50,
    });
    const [a, b] = nodes as [Node, Node];
    const org = await stock(a.server.url, 'moved', 'org', 'organiser');
    initRoom(org.doc, { name: 'Moved', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setMeta(org.doc, 'storeId', 'toko-bdg');
    addLine(org.doc, { sku: 'teh-botol', qty: 1, addedBy: 'org' });
    setMeta(org.doc, 'deadline', new Date(Date.now() + 800).toISOString());
    setMeta(org.doc, 'deadline', new Date(Date.now() + 3_600_000).toISOString()); // moved
    const gone = await stock(b.server.url, 'removed', 'org', 'organiser');
    initRoom(gone.doc, { name: 'Gone', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setMeta(gone.doc, 'storeId', 'toko-bdg');
    addLine(gone.doc, { sku: 'teh-botol', qty: 1, addedBy: 'org' });
    setMeta(gone.doc, 'deadline', new Date(Date.now() + 800).toISOString());
    gone.doc.getMap('meta').delete('deadline'); // removed
    const empty = await stock(b.server.url, 'empty', 'org', 'organiser');
    initRoom(empty.doc, { name: 'Empty', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setMeta(empty.doc, 'deadline', new Date(Date.now() + 800).toISOString());
    // the client watching the empty room sees it lock live, with the reason
    await waitFor(() => roomStatus(empty.doc) === 'locked', 10_000, 'empty room locked');
    expect(readSettlement(empty.doc).lastError).toMatch(/empty cart/);
    expect(empty.doc.getMap('settlement').get('lastErrorDetails')).toEqual({ code: 'empty_cart' });
    await new Promise((r) => setTimeout(r, 600));
    expect(roomStatus(org.doc)).toBe('open');
    expect(roomStatus(gone.doc)).toBe('open');
    expect(settlement.posts).toEqual([]);
  });

  it('a finalise that settlement refuses leaves the room locked with the reason', async () => {
    const settlement = await settlementStandIn(cleanup, new Set(['short']));
    const server = await startServer({ settlementUrl: settlement.url, deadlineScanMs: 50 });
    const org = await client(server, 'short', await token('short', 'org', 'organiser'));
    initRoom(org.doc, { name: 'S', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setMeta(org.doc, 'storeId', 'toko-bdg');
    addLine(org.doc, { sku: 'teh-botol', qty: 1, addedBy: 'org' });
    setMeta(org.doc, 'deadline', new Date(Date.now() + 500).toISOString());
    // (finalise locks before it asks settlement: wait for the refusal's reason, then look)
    await waitFor(() => readSettlement(org.doc).lastError !== undefined);
    await waitFor(() => roomStatus(org.doc) === 'locked');
    expect(readSettlement(org.doc).lastError).toMatch(/Teh Botol short at Toko Bandung/);
    await new Promise((r) => setTimeout(r, 300));
    expect(roomStatus(org.doc)).toBe('locked');
    expect(settlement.posts).toHaveLength(1);
  });

  it('embedded mode: a deadline indexed on disk acts after a restart', async () => {
    const settlement = await settlementStandIn(cleanup);
    const dataDir = await tempDir();
    const first = await startServer({ dataDir, settlementUrl: settlement.url });
    const org = await client(first, 'restart', await token('restart', 'org', 'organiser'));
    initRoom(org.doc, { name: 'R', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setMeta(org.doc, 'storeId', 'toko-bdg');
    setMeta(org.doc, 'deadline', new Date(Date.now() + 1500).toISOString());
    await waitFor(
      () => typeof first.rooms.get('restart')?.doc.getMap('meta').get('deadline') === 'string',
    );
    org.provider.destroy();
    await first.close();
    const second = await startServer({
      dataDir,
      settlementUrl: settlement.url,
      deadlineScanMs: 50,
    });
    await waitFor(
      () =>
        second.rooms.get('restart') !== undefined &&
        roomStatus(second.rooms.get('restart')!.doc) === 'locked',
      10_000,
      'locked after restart',
    );
    expect(readSettlement(second.rooms.get('restart')!.doc).lastError).toMatch(/empty cart/);
    expect(settlement.posts).toEqual([]);
  });
});
