/**
 * Regions configuration (docs/contracts.md "Regions"): what REGION_DATABASE_URLS accepts, the
 * codes ids carry, and that a bad setting stops the start with a message naming it.
 */
import { describe, expect, it } from 'vitest';
import { startSettlement } from '../src/server.ts';
import { inRegion } from '../src/region-scope.ts';
import { orderRef, secretId, shortId } from '../src/ids.ts';
import {
  checkCodes,
  codeOfId,
  codeOfRef,
  parseRegionUrls,
  regionCode,
  regionSlug,
} from '../src/regions.ts';
import { silent } from './support/service.ts';

describe('regions configuration', () => {
  it('slugs provinces and parses <slug>=<url> lists', () => {
    expect(regionSlug('DKI Jakarta')).toBe('dki-jakarta');
    expect(regionSlug('  Nusa Tenggara  Barat ')).toBe('nusa-tenggara-barat');
    expect(regionSlug('DI Yogyakarta')).toBe('di-yogyakarta');
    const m = parseRegionUrls(
      'REGION_DATABASE_URLS',
      ' dki-jakarta=postgres://a@h:5432/x , jawa-barat=postgresql://b@h/y ,',
    );
    expect([...m]).toEqual([
      ['dki-jakarta', 'postgres://a@h:5432/x'],
      ['jawa-barat', 'postgresql://b@h/y'],
    ]);
    expect(parseRegionUrls('REGION_DATABASE_URLS', undefined).size).toBe(0);
    expect(() => parseRegionUrls('REGION_DATABASE_URLS', 'DKI Jakarta=postgres://h/x')).toThrow(
      /REGION_DATABASE_URLS: "DKI Jakarta=postgres:\/\/h\/x" must be <region slug>=<postgres url>/,
    );
    expect(() => parseRegionUrls('REGION_DATABASE_URLS', 'bali=mysql://h/x')).toThrow(
      /region bali must start with postgres:\/\//,
    );
    expect(() => parseRegionUrls('X', 'bali=postgres://h/a,bali=postgres://h/b')).toThrow(
      /region bali is named twice/,
    );
  });

  it('puts the region code into ids and order refs made in a region, and only there', () => {
    const code = regionCode('dki-jakarta');
    expect(code).toMatch(/^[2-9A-HJKMNP-Z]{3}$/);
    expect(checkCodes(['dki-jakarta', 'jawa-barat']).get('dki-jakarta')).toBe(code);
    const made = inRegion(code, () => ({
      stl: shortId('stl'),
      pay: secretId('pay'),
      ref: orderRef(),
    }));
    expect(codeOfId(made.stl)).toBe(code);
    // web accepts only URL-safe ids ([A-Za-z0-9_-])
    expect(made.stl).toMatch(/^stl_[A-Za-z0-9_-]+$/);
    expect(made.pay).toMatch(/^pay_[A-Za-z0-9_-]+$/);
    expect(codeOfId(made.pay)).toBe(code);
    expect(codeOfRef(made.ref)).toBe(code);
    expect(codeOfRef(made.ref.toLowerCase())).toBe(code);
    // outside a region (one database, central's stores): the old forms, which name no region
    const stl = shortId('stl');
    expect(stl).toMatch(/^stl_[A-Za-z0-9_-]{12}$/);
    expect(codeOfId(stl)).toBeNull();
    expect(orderRef()).toMatch(/^[2-9A-HJKMNP-Z]{8}$/);
    expect(codeOfRef(orderRef())).toBeNull();
    // an old id whose random part happens to look like a code is still central's
    expect(codeOfId(`stl_${code}-abcdefgh`)).toBeNull();
    expect(codeOfId(`pay_${code}-abcdefghijklmnopqr`)).toBeNull();
  });

  it('refuses to start on a bad REGION_DATABASE_URLS or without a central database', async () => {
    const base = { port: 0, dataDir: null, log: silent, roomServerUrl: null, seed: false };
    await expect(
      startSettlement({ ...base, env: { REGION_DATABASE_URLS: 'Jawa Barat=postgres://h/x' } }),
    ).rejects.toThrow(/REGION_DATABASE_URLS: "Jawa Barat=postgres:\/\/h\/x"/);
    await expect(
      startSettlement({ ...base, env: { REGION_DATABASE_URLS: 'jawa-barat=postgres://h/x' } }),
    ).rejects.toThrow(/REGION_DATABASE_URLS needs DATABASE_URL: the central database/);
  });
});
