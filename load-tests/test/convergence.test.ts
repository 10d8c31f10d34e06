import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addComment, addLine, initRoom, joinMember, vote } from '@patungan/model';
import {
  checkRoom,
  digestDoc,
  mergeSummaries,
  sameStateVectors,
  summariseChecks,
} from '../src/convergence.ts';
import { Rng } from '../src/rng.ts';

/** Three members of one room editing their own docs, exchanging updates in a seeded order. */
function room(seed: number) {
  const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
  const inbox: { to: number; update: Uint8Array }[] = [];
  docs.forEach((d, i) =>
    d.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === 'net') return;
      docs.forEach((_, j) => j !== i && inbox.push({ to: j, update: u }));
    }),
  );
  initRoom(docs[0]!, { name: 'r', currency: 'IDR', organiser: 'm0', organiserName: 'Ayu' });
  joinMember(docs[1]!, 'm1', 'Budi');
  joinMember(docs[2]!, 'm2', 'Citra');
  const rng = new Rng(seed);
  for (let k = 0; k < 30; k++) {
    const i = rng.int(0, 2);
    const d = docs[i]!;
    if (k % 3 === 0) addLine(d, { sku: `s${rng.int(1, 4)}`, qty: rng.int(1, 3), addedBy: `m${i}` });
    else if (k % 3 === 1) addComment(d, { by: `m${i}`, text: `hi ${k}`, at: k });
    else vote(d, `s${rng.int(1, 4)}`, `m${i}`, 1);
  }
  /** Delivers messages in a seeded random order until the inbox is empty. */
  const deliver = (drop?: (to: number) => boolean) => {
    while (inbox.length) {
      const [m] = inbox.splice(rng.int(0, inbox.length - 1), 1);
      if (drop?.(m!.to)) continue;
      Y.applyUpdate(docs[m!.to]!, m!.update, 'net');
    }
  };
  return { docs, deliver };
}

describe('convergence check', () => {
  it('finds members that received every update converged, in any delivery order', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { docs, deliver } = room(seed);
      expect(sameStateVectors(docs)).toBe(false);
      deliver();
      expect(sameStateVectors(docs)).toBe(true);
      const check = checkRoom('r', docs.map(digestDoc));
      expect(check).toEqual({ room: 'r', converged: true, compared: 3, missing: 0 });
    }
  });

  it('catches a member that missed an update', () => {
    const { docs, deliver } = room(7);
    let dropped = false;
    deliver((to) => {
      if (to === 2 && !dropped) return (dropped = true);
      return false;
    });
    const check = checkRoom('r', docs.map(digestDoc));
    expect(check.converged).toBe(false);
    expect(check.reason).toMatch(/2 different state vectors among 3 members/);
  });

  it('catches equal state vectors with different content', () => {
    const a = digestDoc(new Y.Doc());
    const check = checkRoom('r', [a, { ...a, content: 'something-else' }]);
    expect(check.converged).toBe(false);
    expect(check.reason).toMatch(/same state vector but 2 different contents/);
  });

  it('hashes content independently of map insertion order', () => {
    const a = new Y.Doc();
    const b = new Y.Doc();
    a.clientID = 1;
    b.clientID = 1;
    a.getMap('votes').set('x:m1', 1);
    a.getMap('votes').set('y:m1', -1);
    b.getMap('votes').set('y:m1', -1);
    b.getMap('votes').set('x:m1', 1);
    expect(digestDoc(a).content).toBe(digestDoc(b).content);
  });

  it('counts absent members as missing, and a room with nobody as not converged', () => {
    const d = digestDoc(new Y.Doc());
    expect(checkRoom('r', [d, null, d])).toMatchObject({
      converged: true,
      compared: 2,
      missing: 1,
    });
    expect(checkRoom('r', [null, null])).toMatchObject({
      converged: false,
      compared: 0,
      missing: 2,
    });
  });

  it('summarises and merges per-engine results', () => {
    const d = digestDoc(new Y.Doc());
    const s1 = summariseChecks([checkRoom('a', [d, d]), checkRoom('b', [null])], 2, 100);
    const s2 = summariseChecks([checkRoom('c', [d])], 1, 300);
    expect(s1).toMatchObject({
      rooms: 2,
      checked: 2,
      converged: 1,
      unreached: 1,
      membersMissing: 1,
    });
    expect(s1.diverged).toEqual([{ room: 'b', reason: 'no member connected at the end' }]);
    expect(mergeSummaries([s1, s2])).toMatchObject({
      rooms: 3,
      checked: 3,
      converged: 2,
      settleMs: 300,
    });
  });
});
