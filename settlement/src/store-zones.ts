/**
 * A store's local time zone, from its province. Indonesia keeps three zones and no daylight
 * saving: WIB (UTC+7, Asia/Jakarta), WITA (UTC+8, Asia/Makassar), WIT (UTC+9, Asia/Jayapura).
 * Sales reports count a store's days in its own zone (reports.ts). Migration 4 set the zone of
 * stores that existed before it with the same lists.
 */
const WITA = new Set([
  'Bali',
  'Nusa Tenggara Barat',
  'Nusa Tenggara Timur',
  'Kalimantan Selatan',
  'Kalimantan Timur',
  'Kalimantan Utara',
  'Sulawesi Utara',
  'Sulawesi Tengah',
  'Sulawesi Selatan',
  'Sulawesi Tenggara',
  'Sulawesi Barat',
  'Gorontalo',
]);
const WIT = new Set([
  'Maluku',
  'Maluku Utara',
  'Papua',
  'Papua Barat',
  'Papua Barat Daya',
  'Papua Tengah',
  'Papua Pegunungan',
  'Papua Selatan',
]);

export const DEFAULT_TIME_ZONE = 'Asia/Jakarta';

/** The IANA zone of an Indonesian province; WIB for any other (the default). */
export function timeZoneOfRegion(region: string): string {
  if (WITA.has(region)) return 'Asia/Makassar';
  if (WIT.has(region)) return 'Asia/Jayapura';
  return DEFAULT_TIME_ZONE;
}
