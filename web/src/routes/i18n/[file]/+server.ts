import { error } from '@sveltejs/kit';
import { catalogueFile } from '$lib/i18n/catalogue.server.ts';
import type { RequestHandler } from './$types';

/**
 * One language's messages (`/i18n/id.<hash>.json`): immutable, compressed as the browser
 * accepts (brotli, gzip), like the precompressed scripts beside it.
 */
export const GET: RequestHandler = ({ params, request }) => {
  const asset = catalogueFile(params.file);
  if (!asset) error(404, 'Not found');
  const accepts = request.headers.get('accept-encoding') ?? '';
  const [body, encoding] = /\bbr\b/.test(accepts)
    ? [asset.br, 'br']
    : /\bgzip\b/.test(accepts)
      ? [asset.gzip, 'gzip']
      : [asset.json, null];
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'public, max-age=31536000, immutable',
    vary: 'accept-encoding',
  };
  if (encoding) headers['content-encoding'] = encoding;
  return new Response(new Uint8Array(body), { headers });
};
