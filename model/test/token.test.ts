import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  TokenError,
  signToken,
  tokenAllowsRoom,
  verifyRoomToken,
  verifyToken,
} from '../src/index.ts';

const secret = 'test-secret-0123456789abcdef';

describe('join tokens', () => {
  it('round-trips claims', async () => {
    const t = await signToken({ sub: 'u1', room: 'r1', name: 'Budi', role: 'member' }, secret);
    const c = await verifyToken(t, secret);
    expect(c).toMatchObject({ sub: 'u1', room: 'r1', name: 'Budi', role: 'member' });
    expect(c.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('refuses missing, forged, expired and malformed tokens with 401', async () => {
    await expect(verifyToken(undefined, secret)).rejects.toMatchObject({
      code: 'missing',
      status: 401,
    });
    const forged = await signToken(
      { sub: 'u1', room: 'r1', name: 'B', role: 'organiser' },
      'other',
    );
    await expect(verifyToken(forged, secret)).rejects.toMatchObject({
      code: 'invalid',
      status: 401,
    });
    const expired = await signToken({ sub: 'u1', room: 'r1', name: 'B', role: 'member' }, secret, {
      now: 1_000_000,
      ttlSeconds: 60,
    });
    await expect(verifyToken(expired, secret)).rejects.toMatchObject({ code: 'expired' });
    await expect(verifyToken('not.a.jwt', secret)).rejects.toBeInstanceOf(TokenError);
    const noRole = await new SignJWT({ room: 'r1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    await expect(verifyToken(noRole, secret)).rejects.toMatchObject({ code: 'invalid' });
  });

  it('refuses other rooms with 403; service tokens may hold every room; staff none', async () => {
    const t = await signToken({ sub: 'u1', room: 'r1', name: 'B', role: 'member' }, secret);
    await expect(verifyRoomToken(t, secret, 'r2')).rejects.toMatchObject({
      code: 'wrong_room',
      status: 403,
    });
    const svc = await signToken(
      { sub: 'settlement', room: '*', name: 'svc', role: 'service' },
      secret,
    );
    expect(tokenAllowsRoom(await verifyToken(svc, secret), 'any')).toBe(true);
    const staff = await signToken(
      { sub: 's1', store: 'st1', name: 'Staff', role: 'staff' },
      secret,
    );
    const staffClaims = await verifyToken(staff, secret);
    expect(staffClaims.store).toBe('st1');
    expect(tokenAllowsRoom(staffClaims, 'r1')).toBe(false);
    // A member token with room "*" does not open every room: only service tokens do.
    const star = await signToken({ sub: 'u1', room: '*', name: 'B', role: 'member' }, secret);
    expect(tokenAllowsRoom(await verifyToken(star, secret), 'r1')).toBe(false);
  });
});
