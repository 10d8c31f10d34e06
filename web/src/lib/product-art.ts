/**
 * Product pictures for the demo catalog, drawn here (our own shapes, no third-party art): one
 * line drawing per category — a rice sack, a snack bag, a bottle, a pencil, a spray bottle, a
 * battery, a soap bar, a chili, a frozen box, a baby bottle — varied per product from its sku
 * (colour, tilt, background and a small variant mark), so a shelf of them looks like a shop.
 * A picture is a small SVG (under 2 KB), the same for a sku on every server.
 */

/** The demo skus' prefixes (settlement/src/seed.ts: first three letters of the category id). */
const CATEGORY_OF_PREFIX: Record<string, string> = {
  SEM: 'sembako',
  CAM: 'camilan',
  MIN: 'minuman',
  ALA: 'alat-tulis',
  RUM: 'rumah-tangga',
  ELE: 'elektronik',
  PER: 'perawatan-diri',
  BUM: 'bumbu-dapur',
  MAK: 'makanan-beku',
  BAY: 'bayi',
};

/** Each category's base hue (degrees). */
const HUE: Record<string, number> = {
  sembako: 38,
  camilan: 12,
  minuman: 205,
  'alat-tulis': 100,
  'rumah-tangga': 265,
  elektronik: 190,
  'perawatan-diri': 325,
  'bumbu-dapur': 2,
  'makanan-beku': 195,
  bayi: 48,
  other: 160,
};

export const SKU_PATTERN = /^[A-Z0-9]{2,8}-\d{1,6}$/;

/** FNV-1a: a stable small hash of the sku. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The drawing of a category, around (40, 32) in an 80×60 box; `m` main colour, `a` accent. */
function drawing(category: string, m: string, a: string, item: number): string {
  const ink = 'stroke="#2b2b2b" stroke-width="1.5" stroke-linejoin="round"';
  switch (category) {
    case 'sembako': // a tied sack with grains
      return (
        `<path d="M26 24q14-9 28 0l4 24q-18 6-36 0z" fill="${m}" ${ink}/>` +
        `<path d="M31 20l9 5 9-5" fill="none" ${ink}/>` +
        `<ellipse cx="40" cy="38" rx="${7 + (item % 3)}" ry="5" fill="${a}"/>`
      );
    case 'camilan': // a snack bag with a crimped top and a chip
      return (
        `<path d="M25 14l3 3 3-3 3 3 3-3 3 3 3-3 3 3 3-3 3 3 3-3 2 3v34l-3-3-3 3-3-3-3 3-3-3-3 3-3-3-3 3-3-3-3 3-2-3z" fill="${m}" ${ink}/>` +
        `<circle cx="40" cy="34" r="${7 + (item % 3)}" fill="${a}" ${ink}/>`
      );
    case 'minuman': // a bottle with a label
      return (
        `<path d="M36 8h8v8q7 4 7 12v22q0 3-3 3H32q-3 0-3-3V28q0-8 7-12z" fill="${m}" ${ink}/>` +
        `<rect x="29" y="${28 + (item % 3)}" width="22" height="11" fill="${a}"/>`
      );
    case 'alat-tulis': // a pencil
      return (
        `<g transform="rotate(-35 40 30)"><rect x="14" y="25" width="42" height="10" fill="${m}" ${ink}/>` +
        `<path d="M56 25l12 5-12 5z" fill="#f3d9a4" ${ink}/><path d="M64 28.4l4 1.6-4 1.6z" fill="#2b2b2b"/>` +
        `<rect x="8" y="25" width="6" height="10" fill="${a}" ${ink}/></g>`
      );
    case 'rumah-tangga': // a spray bottle
      return (
        `<path d="M33 24h14l3 26q0 3-3 3H33q-3 0-3-3z" fill="${m}" ${ink}/>` +
        `<path d="M35 24v-8h12l6 4-6 2v2z" fill="${a}" ${ink}/>` +
        `<rect x="34" y="${33 + (item % 3)}" width="12" height="8" rx="2" fill="#fff" opacity=".7"/>`
      );
    case 'elektronik': // a battery with a bolt
      return (
        `<rect x="22" y="18" width="34" height="26" rx="4" fill="${m}" ${ink}/>` +
        `<rect x="56" y="26" width="5" height="10" rx="1" fill="${a}" ${ink}/>` +
        `<path d="M41 21l-8 12h6l-3 9 9-13h-6z" fill="${a}" ${ink}/>`
      );
    case 'perawatan-diri': // a soap bar with bubbles
      return (
        `<rect x="20" y="28" width="40" height="20" rx="8" fill="${m}" ${ink}/>` +
        `<circle cx="30" cy="18" r="5" fill="${a}" ${ink}/><circle cx="42" cy="14" r="3" fill="${a}" ${ink}/>` +
        `<circle cx="${50 + (item % 3)}" cy="20" r="4" fill="${a}" ${ink}/>`
      );
    case 'bumbu-dapur': // a chili
      return (
        `<path d="M22 22q4 26 34 26q-4-4-10-8q-12-8-14-18z" fill="${m}" ${ink}/>` +
        `<path d="M22 22q0-6 6-8l3 3q-5 1-5 7z" fill="${a}" ${ink}/>`
      );
    case 'makanan-beku': // a frozen box with a snowflake
      return (
        `<rect x="20" y="14" width="40" height="34" rx="3" fill="${m}" ${ink}/>` +
        `<g stroke="${a}" stroke-width="2.5" stroke-linecap="round"><path d="M40 21v20M31 26l18 10M49 26L31 36"/></g>`
      );
    case 'bayi': // a baby bottle
      return (
        `<path d="M36 10q4-6 8 0l2 6h-12z" fill="${a}" ${ink}/>` +
        `<rect x="32" y="16" width="16" height="4" fill="${a}" ${ink}/>` +
        `<rect x="31" y="20" width="18" height="32" rx="5" fill="${m}" ${ink}/>` +
        `<path d="M35 ${28 + (item % 3)}h6M35 36h6M35 42h6" stroke="#fff" stroke-width="2"/>`
      );
    default: // a parcel
      return (
        `<rect x="22" y="16" width="36" height="32" rx="3" fill="${m}" ${ink}/>` +
        `<path d="M22 26h36M40 16v10" stroke="${a}" stroke-width="3"/>`
      );
  }
}

/**
 * The SVG of a product picture, from its sku alone ("SEM-0012": category from the prefix, the
 * base product and its variant from the number, as the demo seed numbers them).
 */
export function productSvg(sku: string): string {
  const [prefix = '', num = '0'] = sku.split('-');
  const category = CATEGORY_OF_PREFIX[prefix] ?? 'other';
  const n = Math.max(0, Number(num) - 1);
  const item = n % 10;
  const variant = Math.floor(n / 10);
  const h = hash(sku);
  const hue = (HUE[category]! + ((h % 41) - 20) + 360) % 360;
  const main = `hsl(${hue} 62% 52%)`;
  const accent = `hsl(${(hue + 150 + item * 17) % 360} 70% 62%)`;
  const bg = `hsl(${hue} 70% 93%)`;
  const tilt = ((h >>> 8) % 13) - 6;
  // Three soft dots in the background, placed by the hash.
  const dots = [0, 1, 2]
    .map((i) => {
      const x = 6 + ((h >>> (i * 5)) % 68);
      const y = 6 + ((h >>> (i * 7 + 3)) % 48);
      return `<circle cx="${x}" cy="${y}" r="${3 + ((h >>> (i * 3)) % 5)}" fill="${main}" opacity=".15"/>`;
    })
    .join('');
  // The variant (size, flavour, pack) as 0–4 small stripes in the corner.
  const stripes = Array.from(
    { length: variant % 5 },
    (_, i) => `<rect x="${66 - i * 5}" y="50" width="3" height="6" rx="1" fill="${main}"/>`,
  ).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 80 60" width="160" height="120">` +
    `<rect width="80" height="60" fill="${bg}"/>${dots}` +
    `<g transform="rotate(${tilt} 40 32)">${drawing(category, main, accent, item)}</g>` +
    `${stripes}</svg>`
  );
}
