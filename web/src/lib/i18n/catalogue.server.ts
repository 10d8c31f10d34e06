/**
 * One language's messages for the browser, as a JSON file with a content hash in its name
 * (`/i18n/id.<hash>.json`, served by routes/i18n/[file]/+server.ts): the page preloads it
 * beside its scripts, and a phone downloads one language once (cached for good, immutable),
 * not both inside the JavaScript (issue 11 item 12).
 */
import { createHash } from 'node:crypto';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { catalogues } from './translate.ts';
import { LOCALES, type Locale } from './format.ts';

interface Asset {
  readonly file: string;
  readonly json: Buffer;
  readonly br: Buffer;
  readonly gzip: Buffer;
}

function build(locale: Locale): Asset {
  // English falls back to Indonesian for a key it lacks, as translate() does on the server.
  const dict = locale === 'id' ? catalogues.id : { ...catalogues.id, ...catalogues[locale] };
  const json = Buffer.from(JSON.stringify(dict));
  const hash = createHash('sha256').update(json).digest('base64url').slice(0, 12);
  return {
    file: `${locale}.${hash}.json`,
    json,
    br: brotliCompressSync(json, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
    }),
    gzip: gzipSync(json, { level: 9 }),
  };
}

const assets = new Map<Locale, Asset>(LOCALES.map((l) => [l, build(l)]));

/** The path the page preloads and the browser fetches for a locale's messages. */
export function catalogueUrl(locale: Locale): string {
  return `/i18n/${assets.get(locale)!.file}`;
}

/** The asset whose file name this is (current hash only), or undefined. */
export function catalogueFile(file: string): Asset | undefined {
  for (const a of assets.values()) if (a.file === file) return a;
  return undefined;
}
