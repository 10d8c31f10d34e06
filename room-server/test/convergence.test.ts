/**
 * Seeded random test: 32 stock clients (one organiser) make random edits — allowed and
 * refused ones — while randomly disconnecting and reconnecting; in the end every document,
 * and a fresh client's view of the server, are identical. Set SEED to replay a failure.
 */
import { expect, test } from 'vitest';
import type * as Y from 'yjs';
import { addComment, addLine, initRoom, readLines, setMeta, vote } from '@patungan/model';
import type { Client } from './helpers.ts';
import { canonical, client, json, startServer, synced, token, waitFor } from './helpers.ts';
import { prng } from './scale-helpers.ts';

const SEED = Number(process.env.SEED ?? 20261122);
const CLIENTS = 32;
const STEPS = 600;

test(
  `${CLIENTS} clients, random edits and reconnects, converge (seed ${SEED})`,
  { timeout: 60_000 },
  async () => {
    const rnd = prng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const server = await startServer({
      limits: { messagesPerSecond: 10_000, messageBurst: 10_000 },
    });
    const ids = Array.from({ length: CLIENTS }, (_, i) => (i === 0 ? 'org' : `m${i}`));
    const clients: Client[] = [];
    for (const [i, id] of ids.entries()) {
      clients.push(
        await client(server, 'chaos', await token('chaos', id, i === 0 ? 'organiser' : 'member')),
      );
    }
    initRoom(clients[0]!.doc, {
      name: 'Chaos',
      currency: 'IDR',
      organiser: 'org',
      organiserName: 'Org',
    });
    const skus = ['kopi', 'teh', 'roti', 'susu', 'gula'];

    for (let step = 0; step < STEPS; step++) {
      const i = Math.floor(rnd() * CLIENTS);
      const c = clients[i]!;
      const me = ids[i]!;
      const r = rnd();
      if (r < 0.08) {
        if (c.provider.wsconnected || c.provider.wsconnecting) c.provider.disconnect();
        else c.provider.connect();
      } else if (r < 0.3) {
        addLine(c.doc, { sku: pick(skus), qty: 1 + Math.floor(rnd() * 5), addedBy: me });
      } else if (r < 0.45) {
        const lines = readLines(c.doc);
        if (lines.length > 0) {
          const l = pick(lines);
          if (rnd() < 0.3) c.doc.getMap('lines').delete(l.id);
          else
            c.doc
              .getMap<Y.Map<unknown>>('lines')
              .get(l.id)
              ?.set('qty', 1 + Math.floor(rnd() * 9));
        }
      } else if (r < 0.6) {
        vote(c.doc, pick(skus), rnd() < 0.9 ? me : pick(ids), rnd() < 0.5 ? 1 : -1);
      } else if (r < 0.72) {
        addComment(c.doc, { by: me, text: `step ${step}` });
      } else if (r < 0.8) {
        c.doc
          .getMap('members')
          .set(rnd() < 0.8 ? me : pick(ids), { name: `${me}-${step}`, joinedAt: step });
      } else if (r < 0.86) {
        // organiser locks / reopens; members try the same and are refused
        setMeta(c.doc, 'status', rnd() < 0.5 ? 'locked' : 'open');
      } else if (r < 0.9) {
        c.doc.getMap('settlement').set('status', 'paid'); // refused for everyone here
      } else {
        await new Promise((res) => setTimeout(res, Math.floor(rnd() * 5)));
      }
      if (step % 25 === 0) await new Promise((res) => setTimeout(res, 1));
    }

    for (const c of clients)
      if (!c.provider.wsconnected && !c.provider.wsconnecting) c.provider.connect();
    await Promise.all(clients.map((c) => synced(c.provider, 20_000)));
    const target = () => canonical(clients[0]!.doc);
    await waitFor(
      () => clients.every((c) => canonical(c.doc) === target()),
      'all documents equal',
      20_000,
    );
    const fresh = await client(server, 'chaos', await token('chaos', 'late'));
    expect(canonical(fresh.doc)).toBe(canonical(clients[0]!.doc));
    expect(json(fresh.doc).settlement).toEqual({});
    const snapshot = json(fresh.doc);
    expect(Object.keys(snapshot.votes).every((k) => k.includes(':'))).toBe(true);
  },
);
