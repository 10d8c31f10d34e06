/**
 * `GET /img/products/<sku>.svg`: the product's picture (see `$lib/product-art.ts`), drawn from
 * the sku, so the same for every server and every version: browsers and proxies keep it a week.
 */
import { error } from '@sveltejs/kit';
import { SKU_PATTERN, productSvg } from '$lib/product-art.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ params, request }) => {
  if (!SKU_PATTERN.test(params.sku)) error(404, 'not found');
  const etag = `"p1-${params.sku}"`;
  const headers = {
    'content-type': 'image/svg+xml; charset=utf-8',
    'cache-control': 'public, max-age=604800, immutable',
    etag,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  };
  if (request.headers.get('if-none-match') === etag)
    return new Response(null, { status: 304, headers });
  return new Response(productSvg(params.sku), { headers });
};
