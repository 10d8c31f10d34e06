/** Join tokens this server issues (docs/contracts.md "Join token"), signed with model's signToken. */
import { signToken } from '@patungan/model';
import { config } from './config.ts';

/** Room tokens live one hour; the room page asks `POST /rooms/<id>/token` for a fresh one. */
export const ROOM_TOKEN_TTL_SECONDS = 3600;
/** Staff tokens are made per request to settlement and thrown away. */
export const STAFF_TOKEN_TTL_SECONDS = 300;

export function roomToken(
  user: { id: string; name: string },
  roomId: string,
  role: 'organiser' | 'member',
  secret = config.tokenSecret,
): Promise<string> {
  return signToken({ sub: user.id, name: user.name, room: roomId, role }, secret, {
    ttlSeconds: ROOM_TOKEN_TTL_SECONDS,
  });
}

export function staffToken(
  user: { id: string; name: string },
  storeId: string,
  secret = config.tokenSecret,
): Promise<string> {
  return signToken({ sub: user.id, name: user.name, store: storeId, role: 'staff' }, secret, {
    ttlSeconds: STAFF_TOKEN_TTL_SECONDS,
  });
}

/** A service token for this server's own reads of room documents (status probe). */
export function serviceToken(roomId: string, secret = config.tokenSecret): Promise<string> {
  return signToken({ sub: 'web', name: 'web', room: roomId, role: 'service' }, secret, {
    ttlSeconds: 300,
  });
}
