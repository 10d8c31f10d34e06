/**
 * web's response compression (src/lib/server/compress.ts, issue 11 item 12): which encoding a
 * browser gets, that the bytes decode to the original, that a streamed page still streams
 * (each chunk is readable before the next exists), and that a browser going away mid-stream
 * does not throw inside the server.
 */
import { describe, expect, it } from 'vitest';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { chooseEncoding, compressResponse } from '../src/lib/server/compress.ts';

const page =
  '<!doctype html><html><body>' + '<p>Belanja bulanan</p>'.repeat(200) + '</body></html>';

function request(acceptEncoding: string | null, method = 'GET'): Request {
  const headers = new Headers();
  if (acceptEncoding !== null) headers.set('accept-encoding', acceptEncoding);
  return new Request('http://web.test/', { method, headers });
}

const html = (body: BodyInit = page, headers: Record<string, string> = {}) =>
  new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8', ...headers } });

async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe('chooseEncoding', () => {
  it('prefers brotli, then gzip, and honours q=0 and *', () => {
    expect(chooseEncoding('gzip, deflate, br, zstd')).toBe('br');
    expect(chooseEncoding('gzip')).toBe('gzip');
    expect(chooseEncoding('br;q=0, gzip;q=0.5')).toBe('gzip');
    expect(chooseEncoding('*')).toBe('br');
    expect(chooseEncoding('*, br;q=0')).toBe('gzip');
    expect(chooseEncoding('identity')).toBeNull();
    expect(chooseEncoding('')).toBeNull();
    expect(chooseEncoding(null)).toBeNull();
  });
});

describe('compressResponse', () => {
  it('sends a page brotli or gzip as accepted, and decoding gives the page back', async () => {
    const br = compressResponse(request('br, gzip'), html());
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toMatch(/accept-encoding/i);
    const brBody = await bytes(br);
    expect(brBody.length).toBeLessThan(page.length / 4);
    expect(brotliDecompressSync(brBody).toString()).toBe(page);

    const gz = compressResponse(request('gzip'), html());
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(await bytes(gz)).toString()).toBe(page);
  });

  it('leaves alone what should not be compressed', async () => {
    const plain = compressResponse(request(null), html());
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect((await bytes(plain)).toString()).toBe(page);
    expect(compressResponse(request('br', 'HEAD'), html()).headers.get('content-encoding')).toBe(
      null,
    );
    const png = new Response(new Uint8Array(4096), { headers: { 'content-type': 'image/png' } });
    expect(compressResponse(request('br'), png).headers.get('content-encoding')).toBeNull();
    const small = html('<p>ok</p>', { 'content-length': '9' });
    expect(compressResponse(request('br'), small).headers.get('content-encoding')).toBeNull();
    const events = new Response('data: x\n\n'.repeat(100), {
      headers: { 'content-type': 'text/event-stream' },
    });
    expect(compressResponse(request('br'), events).headers.get('content-encoding')).toBeNull();
    const done = html(page, { 'content-encoding': 'gzip' });
    expect(compressResponse(request('br'), done).headers.get('content-encoding')).toBe('gzip');
  });

  it('streams: the first chunk is readable before the second is written', async () => {
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const source = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
    const res = compressResponse(request('br'), html(source));
    const reader = res.body!.getReader();
    const enc = new TextEncoder();
    push.enqueue(enc.encode(page));
    const first = await reader.read();
    expect(first.done).toBe(false);
    push.enqueue(enc.encode('<script>later</script>'));
    push.close();
    const rest: Uint8Array[] = [first.value!];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
    expect(brotliDecompressSync(Buffer.concat(rest)).toString()).toBe(
      page + '<script>later</script>',
    );
  });

  it('a browser that goes away mid-stream throws nothing', async () => {
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const source = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
    const res = compressResponse(request('gzip'), html(source));
    const reader = res.body!.getReader();
    push.enqueue(new TextEncoder().encode(page));
    await reader.read();
    await reader.cancel();
    // More of the page arriving after the cancel must not reach a closed stream.
    try {
      push.enqueue(new TextEncoder().encode(page));
    } catch {
      // the source was cancelled with the response: fine
    }
    await new Promise((r) => setTimeout(r, 50));
  });
});
