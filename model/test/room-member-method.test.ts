import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { RoomError, joinMember, readMembers, setMemberMethod } from '../src/index.ts';

describe('member payment method', () => {
  it('is written into the member entry and survives a rename', () => {
    const doc = new Y.Doc();
    joinMember(doc, 'm1', 'Budi', 1000);
    setMemberMethod(doc, 'm1', 'store');
    expect(readMembers(doc).m1).toEqual({ name: 'Budi', joinedAt: 1000, method: 'store' });
    joinMember(doc, 'm1', 'Budi S.', 2000);
    expect(readMembers(doc).m1).toEqual({ name: 'Budi S.', joinedAt: 1000, method: 'store' });
  });

  it('refuses unknown methods and members who have not joined', () => {
    const doc = new Y.Doc();
    joinMember(doc, 'm1', 'Budi', 1000);
    expect(() => setMemberMethod(doc, 'm1', 'cash' as never)).toThrow(RoomError);
    expect(() => setMemberMethod(doc, 'm2', 'local')).toThrow(/no member/);
    expect(readMembers(doc)).toEqual({ m1: { name: 'Budi', joinedAt: 1000 } });
  });
});
