/**
 * Demo data, generated deterministically in code (a seeded PRNG, no data files): about 200
 * products in 10 categories with Indonesian names and IDR prices, 12 stores in eight cities,
 * and uneven stock (some items sold out at some stores). The same seed always gives the same
 * catalog, so tests and demos can name skus.
 */
import type { Product, Store } from '@patungan/model/contracts';
import type { Db, Queryable } from '@patungan/db';
import { timeZoneOfRegion } from './store-zones.ts';

/** mulberry32: tiny, fast, good enough for demo data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CategorySpec {
  id: string;
  label: string;
  color: string;
  /** [name, base price in rupiah] */
  items: [string, number][];
  variants: string[];
}

// prettier-ignore
export const CATEGORIES: readonly CategorySpec[] = [
  {
    id: 'sembako',
    label: 'Sembako',
    color: '#c8a165',
    items: [['Beras Pandan Wangi', 68000], ['Minyak Goreng', 38000], ['Gula Pasir', 17500], ['Telur Ayam', 29000], ['Tepung Terigu', 13000], ['Kecap Manis', 21000], ['Mie Instan Goreng', 3500], ['Garam Beryodium', 5000], ['Susu Kental Manis', 12500], ['Kacang Hijau', 16000]],
    variants: ['', '1 kg', '2 kg', '5 kg', 'Premium'],
  },
  {
    id: 'camilan',
    label: 'Camilan',
    color: '#e07a5f',
    items: [['Keripik Singkong Balado', 14000], ['Kerupuk Udang', 18000], ['Rempeyek Kacang', 16500], ['Kacang Atom', 9000], ['Wafer Cokelat', 8500], ['Biskuit Kelapa', 11000], ['Keripik Tempe', 15000], ['Makaroni Pedas', 10000], ['Dodol Garut', 25000], ['Bakpia Kacang Hijau', 35000]],
    variants: ['', 'Mini', 'Jumbo', 'Pedas', 'Original'],
  },
  {
    id: 'minuman',
    label: 'Minuman',
    color: '#3d85c6',
    items: [['Teh Botol', 5500], ['Kopi Susu Gula Aren', 18000], ['Air Mineral', 4000], ['Jus Jambu', 9500], ['Susu UHT Cokelat', 7000], ['Teh Melati', 12000], ['Kopi Bubuk Robusta', 32000], ['Sirup Markisa', 27000], ['Minuman Isotonik', 7500], ['Wedang Jahe Sachet', 15000]],
    variants: ['', '350 ml', '1 liter', 'Isi 6', 'Dus 24'],
  },
  {
    id: 'alat-tulis',
    label: 'Alat Tulis',
    color: '#6aa84f',
    items: [['Buku Tulis 58 Lembar', 4500], ['Pulpen Gel Hitam', 6000], ['Pensil 2B', 3500], ['Penghapus', 2500], ['Spidol Papan Tulis', 9000], ['Map Plastik', 3000], ['Lem Kertas', 5000], ['Stabilo Kuning', 8000], ['Penggaris 30 cm', 4000], ['Kertas HVS A4', 55000]],
    variants: ['', 'Isi 3', 'Isi 12', 'Warna', 'Pak'],
  },
  {
    id: 'rumah-tangga',
    label: 'Rumah Tangga',
    color: '#8e7cc3',
    items: [['Sabun Cuci Piring', 14000], ['Deterjen Bubuk', 24000], ['Pewangi Pakaian', 19000], ['Pembersih Lantai', 17000], ['Sapu Ijuk', 35000], ['Kain Pel', 28000], ['Tisu Gulung', 22000], ['Kantong Sampah', 12000], ['Obat Nyamuk Bakar', 9000], ['Spons Cuci', 6000]],
    variants: ['', 'Refill', 'Besar', 'Hemat', 'Isi 2'],
  },
  {
    id: 'elektronik',
    label: 'Elektronik',
    color: '#45818e',
    items: [['Kabel Data USB-C', 45000], ['Powerbank 10000 mAh', 189000], ['Lampu LED 9 Watt', 32000], ['Baterai AA', 18000], ['Earphone', 75000], ['Stop Kontak 4 Lubang', 55000], ['Charger Ponsel', 99000], ['Senter LED', 48000], ['Kipas Angin Mini', 85000], ['Mouse Nirkabel', 120000]],
    variants: ['', 'Hitam', 'Putih', 'Pro', 'Isi 2'],
  },
  {
    id: 'perawatan-diri',
    label: 'Perawatan Diri',
    color: '#d5a6bd',
    items: [['Sabun Mandi Sereh', 5000], ['Sampo Lidah Buaya', 24000], ['Pasta Gigi', 13000], ['Sikat Gigi', 9000], ['Minyak Kayu Putih', 27000], ['Bedak Tabur', 15000], ['Losion Tubuh', 32000], ['Deodoran', 21000], ['Hand Sanitizer', 16000], ['Masker Wajah', 12000]],
    variants: ['', 'Travel', 'Keluarga', 'Isi Ulang', 'Herbal'],
  },
  {
    id: 'bumbu-dapur',
    label: 'Bumbu Dapur',
    color: '#cc4125',
    items: [['Sambal Terasi', 16000], ['Bumbu Rendang', 9500], ['Kaldu Ayam Bubuk', 7000], ['Merica Bubuk', 6500], ['Ketumbar', 5500], ['Saus Sambal', 14000], ['Santan Kelapa', 8000], ['Bawang Goreng', 19000], ['Bumbu Nasi Goreng', 4500], ['Kunyit Bubuk', 6000]],
    variants: ['', 'Sachet', 'Botol', 'Pedas', 'Besar'],
  },
  {
    id: 'makanan-beku',
    label: 'Makanan Beku',
    color: '#76a5af',
    items: [['Nugget Ayam', 42000], ['Sosis Sapi', 38000], ['Bakso Sapi', 45000], ['Dimsum Ayam', 36000], ['Kentang Goreng Beku', 33000], ['Otak-Otak Ikan', 29000], ['Siomay Ikan', 31000], ['Pempek Kapal Selam', 55000], ['Risoles Ragout', 40000], ['Es Krim Kelapa', 25000]],
    variants: ['', '500 g', '1 kg', 'Pedas', 'Keju'],
  },
  {
    id: 'bayi',
    label: 'Bayi & Anak',
    color: '#f1c232',
    items: [['Popok Bayi', 89000], ['Tisu Basah Bayi', 18000], ['Bubur Bayi Beras Merah', 22000], ['Minyak Telon', 26000], ['Sabun Bayi', 14000], ['Bedak Bayi', 13000], ['Botol Susu', 65000], ['Susu Pertumbuhan', 95000], ['Biskuit Bayi', 17000], ['Sampo Bayi', 21000]],
    variants: ['', 'S', 'M', 'L', 'Isi 2'],
  },
];

/** The seed writes what the catalog answers: the contract's shapes. */
export type SeedProduct = Product;
export type SeedStore = Store;

// prettier-ignore
export const STORES: readonly SeedStore[] = [
  { id: 'jkt-menteng', name: 'Toko Patungan Menteng', address: 'Jl. HOS Cokroaminoto 31', city: 'Jakarta', region: 'DKI Jakarta', lat: -6.1957, lng: 106.8329, openingHours: '07:00-22:00' },
  { id: 'jkt-kemang', name: 'Toko Patungan Kemang', address: 'Jl. Kemang Raya 8', city: 'Jakarta', region: 'DKI Jakarta', lat: -6.2607, lng: 106.8137, openingHours: '08:00-23:00' },
  { id: 'jkt-kelapa-gading', name: 'Toko Patungan Kelapa Gading', address: 'Jl. Boulevard Raya 12', city: 'Jakarta', region: 'DKI Jakarta', lat: -6.1588, lng: 106.9056, openingHours: '08:00-22:00' },
  { id: 'bdg-dago', name: 'Toko Patungan Dago', address: 'Jl. Ir. H. Juanda 102', city: 'Bandung', region: 'Jawa Barat', lat: -6.8846, lng: 107.6133, openingHours: '07:00-21:00' },
  { id: 'bdg-buah-batu', name: 'Toko Patungan Buah Batu', address: 'Jl. Buah Batu 215', city: 'Bandung', region: 'Jawa Barat', lat: -6.9447, lng: 107.6323, openingHours: '07:00-21:00' },
  { id: 'sby-tunjungan', name: 'Toko Patungan Tunjungan', address: 'Jl. Tunjungan 50', city: 'Surabaya', region: 'Jawa Timur', lat: -7.2606, lng: 112.7395, openingHours: '08:00-22:00' },
  { id: 'sby-rungkut', name: 'Toko Patungan Rungkut', address: 'Jl. Raya Rungkut Madya 9', city: 'Surabaya', region: 'Jawa Timur', lat: -7.3239, lng: 112.7681, openingHours: '07:00-21:00' },
  { id: 'yog-malioboro', name: 'Toko Patungan Malioboro', address: 'Jl. Malioboro 60', city: 'Yogyakarta', region: 'DI Yogyakarta', lat: -7.7926, lng: 110.3658, openingHours: '08:00-23:00' },
  { id: 'dps-renon', name: 'Toko Patungan Renon', address: 'Jl. Raya Puputan 88', city: 'Denpasar', region: 'Bali', lat: -8.6725, lng: 115.2338, openingHours: '08:00-22:00' },
  { id: 'mdn-kesawan', name: 'Toko Patungan Kesawan', address: 'Jl. Ahmad Yani 101', city: 'Medan', region: 'Sumatera Utara', lat: 3.5871, lng: 98.6797, openingHours: '08:00-22:00' },
  { id: 'mks-losari', name: 'Toko Patungan Losari', address: 'Jl. Penghibur 20', city: 'Makassar', region: 'Sulawesi Selatan', lat: -5.1436, lng: 119.4078, openingHours: '08:00-22:00' },
  { id: 'smg-simpang-lima', name: 'Toko Patungan Simpang Lima', address: 'Jl. Pahlawan 3', city: 'Semarang', region: 'Jawa Tengah', lat: -6.9903, lng: 110.4229, openingHours: '07:00-22:00' },
];

/**
 * The product's picture: web draws it from the sku (`GET /img/products/<sku>.svg`, a small
 * cached SVG per product; see web/src/lib/product-art.ts). A path on web's origin, where the
 * catalog is shown.
 */
export function productImage(sku: string): string {
  return `/img/products/${encodeURIComponent(sku)}.svg`;
}

/**
 * The demo catalog. `count` above 200 keeps adding variants (numbered batches) — the
 * benchmark uses 10,000 products.
 */
export function demoProducts(count = 200, seed = 42): SeedProduct[] {
  const rnd = prng(seed);
  const out: SeedProduct[] = [];
  const perCategory = Math.ceil(count / CATEGORIES.length);
  for (const cat of CATEGORIES) {
    for (let i = 0; i < perCategory && out.length < count; i++) {
      const [base, basePrice] = cat.items[i % cat.items.length]!;
      const variantIndex = Math.floor(i / cat.items.length);
      const variant = cat.variants[variantIndex % cat.variants.length]!;
      const batch = Math.floor(variantIndex / cat.variants.length);
      const name = [base, variant, batch > 0 ? `Seri ${batch + 1}` : ''].filter(Boolean).join(' ');
      // Prices vary ±30% around the base and end in 500 or 000, like shelf prices do.
      const price = Math.max(500, Math.round((basePrice * (0.7 + rnd() * 0.6)) / 500) * 500);
      const sku = `${cat.id.slice(0, 3).toUpperCase()}-${String(i + 1).padStart(4, '0')}`;
      out.push({
        sku,
        name,
        category: cat.id,
        description: `${name} — ${cat.label.toLowerCase()} pilihan untuk belanja bersama.`,
        price,
        currency: 'IDR',
        image: productImage(sku),
      });
    }
  }
  return out;
}

/** Uneven stock: roughly one item in six sold out at a store, the rest 1–60 units. */
export function demoStock(
  stores: readonly SeedStore[],
  products: readonly SeedProduct[],
  seed = 7,
): { storeId: string; sku: string; onHand: number }[] {
  const rnd = prng(seed);
  const out: { storeId: string; sku: string; onHand: number }[] = [];
  for (const s of stores) {
    for (const p of products) {
      const r = rnd();
      const onHand = r < 0.16 ? 0 : 1 + Math.floor(rnd() ** 2 * 60);
      out.push({ storeId: s.id, sku: p.sku, onHand });
    }
  }
  return out;
}

export async function insertStores(q: Queryable, stores: readonly SeedStore[]): Promise<void> {
  await q.query(
    `INSERT INTO stores (id, name, address, city, region, lat, lng, opening_hours, timezone)
     SELECT id, name, address, city, region, lat, lng, "openingHours", timezone
     FROM jsonb_to_recordset($1::text::jsonb) AS x(id text, name text, address text, city text,
       region text, lat double precision, lng double precision, "openingHours" text, timezone text)
     ON CONFLICT (id) DO NOTHING`,
    // a store's sales day is its local day: the zone comes from its province
    [
      JSON.stringify(
        stores.map((s) => ({ ...s, timezone: s.timezone ?? timeZoneOfRegion(s.region) })),
      ),
    ],
  );
}

export async function insertProducts(
  q: Queryable,
  products: readonly SeedProduct[],
): Promise<void> {
  for (let i = 0; i < products.length; i += 2000) {
    const chunk = products.slice(i, i + 2000);
    await q.query(
      `INSERT INTO products (sku, name, category, description, price, currency, image, search)
       SELECT sku, name, category, description, price, currency, image,
              lower(name || ' ' || category || ' ' || description)
       FROM jsonb_to_recordset($1::text::jsonb) AS x(sku text, name text, category text,
         description text, price bigint, currency text, image text)
       ON CONFLICT (sku) DO NOTHING`,
      [JSON.stringify(chunk)],
    );
  }
}

/** Sets initial stock rows and their `adjust` ledger entries (so the ledger balances). */
export async function insertStock(
  q: Queryable,
  rows: readonly { storeId: string; sku: string; onHand: number }[],
  at: Date,
): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = JSON.stringify(rows.slice(i, i + 5000));
    await q.query(
      `INSERT INTO stock (store_id, sku, on_hand, updated_at)
       SELECT "storeId", sku, "onHand", $2 FROM jsonb_to_recordset($1::text::jsonb)
         AS x("storeId" text, sku text, "onHand" integer)
       ON CONFLICT (store_id, sku) DO NOTHING`,
      [chunk, at],
    );
    await q.query(
      `INSERT INTO stock_ledger (store_id, sku, d_on_hand, reason, ref, at)
       SELECT "storeId", sku, "onHand", 'adjust', 'seed', $2 FROM jsonb_to_recordset($1::text::jsonb)
         AS x("storeId" text, sku text, "onHand" integer) WHERE "onHand" <> 0`,
      [chunk, at],
    );
  }
}

export interface SeedOptions {
  products?: number;
  now?: Date;
  /**
   * Which stores get their demo stock in this database (default all). With regions, central
   * stocks only the stores no region database holds; each region stocks its own
   * (seedDemoStock) once the catalog has reached it.
   */
  stockFor?: (storeId: string) => boolean;
}

/** Loads the demo catalog, stores and stock unless products already exist. Returns whether it did. */
export async function seedDemo(db: Db, opts: SeedOptions = {}): Promise<boolean> {
  const loaded = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(6190879)');
    const [row] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM products');
    if ((row?.n ?? 0) > 0) return false;
    const products = demoProducts(opts.products ?? 200);
    await insertStores(tx, STORES);
    await insertProducts(tx, products);
    const stock = demoStock(STORES, products);
    const keep = opts.stockFor;
    await insertStock(
      tx,
      keep ? stock.filter((r) => keep(r.storeId)) : stock,
      opts.now ?? new Date(),
    );
    return true;
  });
  // Fresh statistics, or the planner keeps estimating the tables as empty (PGlite has no
  // autovacuum to do this for us).
  if (loaded) await db.query('ANALYZE');
  return loaded;
}

/**
 * A region's demo stock: the same rows seedDemo gives `storeIds` in one database, loaded once
 * (when none of those stores has stock yet) and only after the catalog and the stores have
 * arrived (the region subscribes to them). Returns whether it loaded.
 */
export async function seedDemoStock(
  db: Db,
  storeIds: readonly string[],
  opts: SeedOptions = {},
): Promise<boolean> {
  if (storeIds.length === 0) return false;
  const loaded = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(6190879)');
    const [row] = await tx.query<{ n: number }>(
      'SELECT count(*) AS n FROM stock WHERE store_id = ANY($1::text[])',
      [storeIds],
    );
    if ((row?.n ?? 0) > 0) return false;
    const ids = new Set(storeIds);
    const stock = demoStock(STORES, demoProducts(opts.products ?? 200)).filter((r) =>
      ids.has(r.storeId),
    );
    await insertStock(tx, stock, opts.now ?? new Date());
    return true;
  });
  if (loaded) await db.query('ANALYZE');
  return loaded;
}
