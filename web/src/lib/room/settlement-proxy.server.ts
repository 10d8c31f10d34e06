/**
 * The room page's read-only window on settlement (catalog, stores, stock): web forwards a few
 * whitelisted GETs so the browser talks to one origin. Settlement's own error bodies pass
 * through unchanged; an unreachable settlement becomes a 502 with the same error shape.
 */
import { json } from '@sveltejs/kit';
import { log } from '$lib/server/log.ts';
import { settlementApi } from '$lib/server/settlement.ts';

/** Give up on settlement after this long (its catalog answers in well under 200 ms). */
const TIMEOUT_MS = 10_000;

export function errorResponse(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } });
}

/** GETs `path` (with its query) from settlement and answers with its status and JSON body. */
export async function forwardGet(
  path: string,
  request: Request,
  opts: { cacheSeconds?: number } = {},
): Promise<Response> {
  let res: Response;
  try {
    res = await settlementApi(TIMEOUT_MS).raw(path, { signal: request.signal });
  } catch (err) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    log.warn({ err: String(err), path }, 'settlement unreachable');
    return errorResponse(
      502,
      'settlement_unavailable',
      'The shop is not reachable right now; try again shortly.',
    );
  }
  const body = await res.text();
  const headers = new Headers({
    'content-type': res.headers.get('content-type') ?? 'application/json',
    'cache-control':
      res.ok && opts.cacheSeconds ? `public, max-age=${opts.cacheSeconds}` : 'no-store',
  });
  return new Response(body, { status: res.status, headers });
}

/**
 * Streams settlement's Server-Sent Events through. The upstream request ends when the browser
 * goes away (its request's signal aborts), so no stream is left open behind a closed page.
 */
export async function forwardStream(path: string, request: Request): Promise<Response> {
  const upstream = new AbortController();
  request.signal.addEventListener('abort', () => upstream.abort(), { once: true });
  let res: Response;
  try {
    res = await settlementApi().raw(path, {
      signal: upstream.signal,
      accept: 'text/event-stream',
      timeoutMs: null,
    });
  } catch (err) {
    // The browser went away before settlement answered: nothing to report.
    if (request.signal.aborted) return new Response(null, { status: 499 });
    log.warn({ err: String(err), path }, 'settlement stream unreachable');
    return errorResponse(502, 'settlement_unavailable', 'Live stock is not reachable right now.');
  }
  if (!res.ok || !res.body) {
    upstream.abort();
    return errorResponse(
      res.status >= 400 ? res.status : 502,
      'stream_failed',
      'Live stock is not available.',
    );
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch {
        controller.close();
      }
    },
    cancel() {
      upstream.abort();
    },
  });
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  });
}

/** Query helpers: only what settlement documents, checked and bounded. */
export function pickQuery(
  url: URL,
  spec: Record<string, (v: string) => string | null>,
): URLSearchParams | string {
  const out = new URLSearchParams();
  for (const [k, check] of Object.entries(spec)) {
    const v = url.searchParams.get(k);
    if (v === null || v === '') continue;
    const ok = check(v);
    if (ok === null) return k;
    out.set(k, ok);
  }
  return out;
}

export const checks = {
  text: (max: number) => (v: string) => (v.length <= max ? v : null),
  int: (min: number, max: number) => (v: string) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max ? String(n) : null;
  },
  coord: (limit: number) => (v: string) => {
    const n = Number(v);
    return Number.isFinite(n) && Math.abs(n) <= limit ? String(n) : null;
  },
  skus: (v: string) => {
    // "a,b" or with quantities "a:2,b:1" (settlement's format).
    const list = v.split(',').filter(Boolean);
    return list.length <= 200 && list.every((s) => /^[A-Za-z0-9._-]{1,64}(:\d{1,4})?$/.test(s))
      ? list.join(',')
      : null;
  },
};

export const SKU = /^[A-Za-z0-9._-]{1,64}$/;
export const STORE_ID = /^[A-Za-z0-9_-]{1,64}$/;
