/**
 * The HTTP face of the service: a Hono app speaking web-standard Request / Response; the
 * Node server around it is in server.ts. Expected refusals are SettlementErrors with a code;
 * anything else is logged and answered as `500 internal` without details.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { SettlementError } from '../errors.ts';
import { NUL_MESSAGE } from '../schemas.ts';
import { catalogRoutes } from './catalog-routes.ts';
import { payRoutes } from './pay-routes.ts';
import { reportRoutes } from './report-routes.ts';
import { reviewRoutes } from './review-routes.ts';
import { settlementRoutes } from './settlement-routes.ts';
import { staffRoutes } from './staff-routes.ts';
import { stockAdminRoutes } from './stock-admin-routes.ts';
import type { AppDeps, Env } from './support.ts';
import { webhookRoutes } from './webhook-routes.ts';

/** The policy of an HTML answer that brings none of its own: nothing loads, nothing frames it. */
const HTML_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function createApp(d: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const { ctx } = d;

  // No CORS at all: no browser page on another origin calls this service. Web proxies what
  // the browser needs (catalog, stock streams, a member's cover / retry) and the pay page is
  // a top-level navigation whose form posts to itself (docs/decisions/0007). Without
  // Access-Control-Allow-Origin a cross-origin page can neither read an answer nor send a
  // bearer token (that needs a preflight nobody answers).
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    ctx.metrics.http.observe(
      { method: c.req.method, route: c.req.routePath, status: String(c.res.status) },
      (performance.now() - t0) / 1000,
    );
  });

  // Every answer: no MIME sniffing. HTML (the pay page): never framed, no referrer (the
  // page's URL is the payment's secret), and a strict policy unless the route set its own.
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('x-content-type-options', 'nosniff');
    if ((c.res.headers.get('content-type') ?? '').startsWith('text/html')) {
      if (!c.res.headers.has('content-security-policy'))
        c.res.headers.set('content-security-policy', HTML_CSP);
      c.res.headers.set('x-frame-options', 'DENY');
      c.res.headers.set('referrer-policy', 'no-referrer');
    }
  });

  // Body limits, before any route reads a body: a Content-Length past the limit is refused
  // at once, a chunked body as soon as it passes it (never buffered beyond the limit). The
  // Node adapter then discards what the client still sends (at most 500 ms / 64 MB) and
  // closes the connection, so the client can read its 413 first.
  const limited = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) => {
        ctx.log.warn(
          {
            method: c.req.method,
            path: c.req.path,
            contentLength: c.req.header('content-length'),
            limit: maxSize,
          },
          'request body too large',
        );
        return c.json(
          {
            error: {
              code: 'payload_too_large',
              message: `The request body is larger than ${maxSize} bytes`,
              details: { limit: maxSize },
            },
          },
          413,
        );
      },
    });
  const bodyLimits = { body: limited(d.limits.body), large: limited(d.limits.largeBody) };
  app.use('*', (c, next) => {
    const large =
      c.req.method === 'POST' &&
      (c.req.path === '/settlements' ||
        c.req.path.startsWith('/webhooks/') ||
        /^\/stores\/[^/]+\/stock\/import$/.test(c.req.path));
    return (large ? bodyLimits.large : bodyLimits.body)(c, next);
  });

  // PostgreSQL text cannot hold U+0000: a `%00` anywhere in the path or query (path
  // parameters are ids, skus and codes) is refused before any route looks at it.
  app.use('*', async (c, next) => {
    if (/%00/i.test(c.req.url)) {
      throw new SettlementError(400, 'invalid_request', `The path or query ${NUL_MESSAGE}`);
    }
    await next();
  });

  app.get('/healthz', async (c) => {
    await ctx.db.query('SELECT 1');
    return c.json({ status: 'ok', db: ctx.db.kind, instance: ctx.instanceId });
  });
  app.get('/metrics', async (c) => {
    c.header('content-type', ctx.metrics.registry.contentType);
    return c.body(await ctx.metrics.registry.metrics());
  });

  catalogRoutes(app, d);
  reviewRoutes(app, d);
  settlementRoutes(app, d);
  staffRoutes(app, d);
  reportRoutes(app, d);
  stockAdminRoutes(app, d);
  payRoutes(app, d);
  webhookRoutes(app, d);

  app.notFound((c) =>
    c.json(
      new SettlementError(404, 'not_found', `No route ${c.req.method} ${c.req.path}`).toJSON(),
      404,
    ),
  );
  app.onError((err, c) => {
    if (err instanceof SettlementError) {
      // every 429 tells the client when to come back (RFC 9110 Retry-After)
      const wait = err.status === 429 ? err.details?.retryAfterSeconds : undefined;
      const headers = typeof wait === 'number' ? { 'retry-after': String(wait) } : undefined;
      return c.json(err.toJSON(), err.status, headers);
    }
    // Last net for input the checks above missed: PostgreSQL refusing a character (NUL,
    // invalid encoding) is the client's input, not our failure.
    const pgCode = (err as { code?: unknown }).code;
    if (pgCode === '22021' || pgCode === '22P05') {
      ctx.log.warn({ err, method: c.req.method, path: c.req.path }, 'text the database refuses');
      return c.json(
        new SettlementError(400, 'invalid_request', `A text field ${NUL_MESSAGE}`).toJSON(),
        400,
      );
    }
    ctx.log.error({ err, method: c.req.method, path: c.req.path }, 'unexpected error');
    return c.json({ error: { code: 'internal', message: 'Internal error; please retry' } }, 500);
  });
  return app;
}
