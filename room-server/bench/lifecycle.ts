/**
 * Leaving and removal, and deadlines, timed (not a test): two room-servers on the machine's
 * Redis (isolated prefix). (1) From the organiser's removal written on instance a to the
 * removed member's connection on instance b closing with 4401, over `--rounds` rounds (the
 * contract says within 1 s). (2) From a room's deadline to its room being finalised, with
 * nobody connected and the default scan period (`DEADLINE_SCAN_MS`, 1 s).
 *
 *   npx tsx room-server/bench/lifecycle.ts [--rounds 30] [--deadlines 5]
 */
import { parseArgs } from 'node:util';
import { addLine, initRoom, joinMember, roomStatus, setMeta, signToken } from '@patungan/model';
import * as Y from 'yjs';
import { rawConnection, redisInstances, settlementStandIn } from '../test/lifecycle-helpers.ts';
import { stockClient, waitFor, whenSynced } from '../test/scale-helpers.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    deadlines: { type: 'string', default: '5' },
  },
});
const SECRET = 'bench-lifecycle-secret-0123456789';
const cleanups: (() => Promise<unknown>)[] = [];
const cleanup = (fn: () => Promise<unknown>) => void cleanups.push(fn);
const token = (room: string, sub: string, role: 'organiser' | 'member' = 'member') =>
  signToken({ sub, room, name: sub, role }, SECRET);
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const report = (what: string, xs: number[]) =>
  console.log(
    `${what}: n=${xs.length} p50=${pct(xs, 50).toFixed(1)} ms p95=${pct(xs, 95).toFixed(1)} ms max=${Math.max(...xs).toFixed(1)} ms`,
  );

try {
  const settlement = await settlementStandIn(cleanup);
  const [a, b] = await redisInstances(2, SECRET, cleanup, { settlementUrl: settlement.url });
  const room = 'bench-remove';
  const org = stockClient(a!.server.url, room, await token(room, 'org', 'organiser'));
  cleanup(async () => org.destroy());
  await whenSynced(org.provider);
  initRoom(org.doc, { name: 'Bench', currency: 'IDR', organiser: 'org', organiserName: 'Org' });
  joinMember(org.doc, 'bob', 'Bob');
  const members = org.doc.getMap<Record<string, unknown>>('members');
  const bobToken = await token(room, 'bob');
  const revoke: number[] = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    const { closed } = await rawConnection(b!.server.url, room, bobToken);
    const t0 = performance.now();
    members.set('bob', { name: 'Bob', joinedAt: 1, removedAt: new Date().toISOString() });
    const code = await closed;
    revoke.push(performance.now() - t0);
    if (code !== 4401) throw new Error(`closed with ${code}`);
    members.set('bob', { name: 'Bob', joinedAt: 1 });
    await waitFor(() => b!.server.rooms.get(room)?.isRemoved('bob') === false);
  }
  report('removal → 4401 on the other instance', revoke);

  const late: number[] = [];
  for (let i = 0; i < Number(values.deadlines); i++) {
    const id = `bench-deadline-${i}`;
    const c = stockClient(a!.server.url, id, await token(id, 'org', 'organiser'));
    await whenSynced(c.provider);
    initRoom(c.doc, { name: id, currency: 'IDR', organiser: 'org', organiserName: 'Org' });
    setMeta(c.doc, 'storeId', 'toko');
    addLine(c.doc, { sku: 'teh-botol', qty: 1, addedBy: 'org' });
    const at = Date.now() + 1500;
    setMeta(c.doc, 'deadline', new Date(at).toISOString());
    await new Promise((r) => setTimeout(r, 300));
    c.destroy();
    await waitFor(
      async () => {
        const doc = new Y.Doc();
        for (const u of (await a!.scale.store.load(id)).updates) Y.applyUpdate(doc, u);
        return roomStatus(doc) === 'settling';
      },
      15_000,
      'finalised',
    );
    late.push(Date.now() - at);
  }
  report('deadline → finalised (nobody connected, scan 1 s)', late);
  console.log(`settlements created: ${settlement.posts.length} for ${values.deadlines} deadlines`);
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}
