/**
 * Compresses what web renders itself (pages, `__data.json`, JSON answers, SVG) for a browser
 * that accepts brotli or gzip. adapter-node serves the built assets precompressed but sends
 * every server-rendered response as is: a room page is 10 KB of HTML, ~3 KB compressed, which
 * on a 400 kbit/s phone is 140 ms sooner (issue 11 item 12, docs/benchmarks.md).
 *
 * Streaming-safe: each chunk SvelteKit writes (a page, then the data of each streamed promise)
 * is flushed through the compressor at once, so nothing waits for the end of the response.
 */
import {
  constants,
  createBrotliCompress,
  createGzip,
  type BrotliCompress,
  type Gzip,
} from 'node:zlib';

export type Encoding = 'br' | 'gzip';

/**
 * Types worth compressing (text); images, fonts and archives are compressed already. Event
 * streams stay as they are (each event is small, and a proxy may hold compressed bytes back).
 */
const COMPRESSIBLE =
  /^(text\/(?!event-stream)|application\/(json|javascript|xml|manifest\+json)|image\/svg\+xml)/;

/** Smaller bodies gain less than the encoding costs (headers, a round of CPU). */
const MIN_BYTES = 512;

/** The encoding to use for a request's `Accept-Encoding`: brotli first, then gzip, or null. */
export function chooseEncoding(acceptEncoding: string | null): Encoding | null {
  if (!acceptEncoding) return null;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const v = qp ? Number(qp.slice(2)) : 1;
    q.set(name, Number.isFinite(v) ? v : 0);
  }
  const wild = q.get('*') ?? 0;
  const weight = (e: Encoding) => q.get(e) ?? wild;
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return null;
}

function compressor(encoding: Encoding): { z: BrotliCompress | Gzip; flushMode: number } {
  if (encoding === 'br') {
    return {
      // Quality 5: most of brotli's gain on small text at a fraction of the maximum's CPU.
      z: createBrotliCompress({
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        },
      }),
      flushMode: constants.BROTLI_OPERATION_FLUSH,
    };
  }
  return { z: createGzip({ level: 6 }), flushMode: constants.Z_SYNC_FLUSH };
}

/** `body` compressed chunk by chunk, each chunk flushed as it comes. */
export function compressStream(
  body: ReadableStream<Uint8Array>,
  encoding: Encoding,
): ReadableStream<Uint8Array> {
  const { z, flushMode } = compressor(encoding);
  let out: TransformStreamDefaultController<Uint8Array> | null = null;
  z.on('data', (b: Buffer) => {
    try {
      out?.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    } catch {
      // The browser went away (the stream was cancelled): nothing more to send.
      out = null;
      z.destroy();
    }
  });
  z.on('error', (err) => {
    try {
      out?.error(err);
    } catch {
      // already closed
    }
  });
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        out = controller;
      },
      transform(chunk) {
        return new Promise<void>((resolve, reject) => {
          z.write(chunk, (err) => {
            if (err) reject(err);
          });
          z.flush(flushMode, () => resolve());
        });
      },
      flush() {
        return new Promise<void>((resolve, reject) => {
          z.once('end', resolve);
          z.once('error', reject);
          z.end();
        });
      },
    }),
  );
}

/**
 * The response compressed for this request, or the same response when it should not be:
 * no accepted encoding, a HEAD request, no body, already encoded, not text, or small.
 */
export function compressResponse(request: Request, response: Response): Response {
  const h = response.headers;
  if (request.method === 'HEAD' || !response.body || response.status < 200) return response;
  if (response.status === 204 || response.status === 206 || response.status === 304)
    return response;
  if (h.has('content-encoding') || !COMPRESSIBLE.test(h.get('content-type') ?? '')) return response;
  if (/\bno-transform\b/.test(h.get('cache-control') ?? '')) return response;
  const length = h.get('content-length');
  if (length !== null && Number(length) < MIN_BYTES) return response;
  const encoding = chooseEncoding(request.headers.get('accept-encoding'));
  const headers = new Headers(h);
  // A cache between here and the browser keeps one copy per encoding.
  headers.append('vary', 'accept-encoding');
  if (!encoding)
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  headers.delete('content-length');
  headers.set('content-encoding', encoding);
  // The bytes differ from the identity body's: a strong validator would claim they do not.
  const etag = headers.get('etag');
  if (etag && !etag.startsWith('W/')) headers.set('etag', `W/${etag}`);
  return new Response(compressStream(response.body, encoding), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
