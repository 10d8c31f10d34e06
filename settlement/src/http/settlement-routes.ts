/** Settlements: create (service), read (room members), cancel, retry and cover a share. */
import type { Hono } from 'hono';
import { createSettlement } from '../flow/create.ts';
import { coverPayment, retryPayment } from '../flow/member.ts';
import { cancel } from '../flow/transitions.ts';
import { settlementView, staffSettlementView } from '../flow/view.ts';
import { SettlementError, notFound } from '../errors.ts';
import { cancelBody, coverBody, retryBody, snapshotSchema } from '../schemas.ts';
import {
  allowsRoom,
  authenticate,
  forbidden,
  jsonBody,
  parse,
  type AppDeps,
  type Env,
} from './support.ts';

export function settlementRoutes(app: Hono<Env>, d: AppDeps): void {
  const { ctx } = d;

  async function roomOf(id: string): Promise<{ room_id: string; store_id: string }> {
    const [s] = await ctx.db.query<{ room_id: string; store_id: string }>(
      'SELECT room_id, store_id FROM settlements WHERE id = $1',
      [id],
    );
    if (!s) throw notFound(`Settlement ${id}`);
    return s;
  }

  app.post('/settlements', async (c) => {
    const claims = await authenticate(c, d.secret, ['service']);
    const key = c.req.header('idempotency-key');
    if (!key || key.length > 200) {
      throw new SettlementError(
        400,
        'invalid_request',
        'Idempotency-Key: a header of 1–200 characters is required',
        {
          field: 'Idempotency-Key',
        },
      );
    }
    const snapshot = parse(snapshotSchema, await jsonBody(c));
    if (!allowsRoom(claims, snapshot.roomId))
      throw forbidden('This service token is for another room');
    const r = await createSettlement(ctx, snapshot, key);
    return c.json(r.body as object, r.status as 201);
  });

  app.get('/settlements/:id', async (c) => {
    const claims = await authenticate(c, d.secret, ['service', 'organiser', 'member', 'staff']);
    const s = await roomOf(c.req.param('id'));
    const ok =
      claims.role === 'staff' ? claims.store === s.store_id : allowsRoom(claims, s.room_id);
    if (!ok) throw forbidden('This token is for another room');
    const view = await settlementView(ctx.db, c.req.param('id'));
    return c.json(claims.role === 'staff' ? staffSettlementView(view) : view);
  });

  app.post('/settlements/:id/cancel', async (c) => {
    const claims = await authenticate(c, d.secret, ['service']);
    const id = c.req.param('id');
    const s = await roomOf(id);
    if (!allowsRoom(claims, s.room_id)) throw forbidden('This service token is for another room');
    const body = parse(cancelBody, await jsonBody(c));
    await ctx.db.transaction((tx) =>
      cancel(ctx, tx, id, body.reason ?? 'Cancelled by the organiser', ctx.clock.now()),
    );
    ctx.kick();
    return c.json(await settlementView(ctx.db, id));
  });

  // A member pays their open (declined or pending) share another way.
  app.post('/settlements/:id/payments/:memberId/retry', async (c) => {
    const claims = await authenticate(c, d.secret, ['service', 'organiser', 'member']);
    const id = c.req.param('id');
    const memberId = c.req.param('memberId');
    const s = await roomOf(id);
    if (!allowsRoom(claims, s.room_id)) throw forbidden('This token is for another room');
    if (claims.role !== 'service' && claims.sub !== memberId)
      throw forbidden('Only that member may retry their share');
    const body = parse(retryBody, await jsonBody(c));
    return c.json(await retryPayment(ctx, id, memberId, body.method));
  });

  // Another member of the room takes over this share.
  app.post('/settlements/:id/payments/:memberId/cover', async (c) => {
    const claims = await authenticate(c, d.secret, ['organiser', 'member']);
    const id = c.req.param('id');
    const s = await roomOf(id);
    if (!allowsRoom(claims, s.room_id)) throw forbidden('This token is for another room');
    const body = parse(coverBody, await jsonBody(c));
    return c.json(
      await coverPayment(
        ctx,
        id,
        c.req.param('memberId'),
        { id: claims.sub, name: claims.name },
        body.method,
      ),
    );
  });
}
