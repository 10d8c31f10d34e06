/**
 * Settlement's versioned schema migrations, applied in order on start by the runner shared
 * with web (@patungan/db: one transaction under an advisory lock, so an API and a worker
 * starting together against one PostgreSQL do not race). A migration is never edited once
 * committed: add the next one.
 */
import { migrate as runMigrations, type Db, type Migration } from '@patungan/db';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'catalog, stock, settlements, payments, outbox',
    sql: /* sql */ `
CREATE TABLE stores (
  id text PRIMARY KEY,
  name text NOT NULL,
  address text NOT NULL,
  city text NOT NULL,
  region text NOT NULL,
  lat double precision NOT NULL,
  lng double precision NOT NULL,
  opening_hours text NOT NULL
);

CREATE TABLE products (
  sku text PRIMARY KEY,
  name text NOT NULL,
  category text NOT NULL,
  description text NOT NULL,
  price bigint NOT NULL CHECK (price >= 0),
  currency text NOT NULL,
  image text NOT NULL,
  -- lower-cased name, category and description: what text search matches against
  search text NOT NULL
);
CREATE INDEX products_category ON products (category, sku);
CREATE INDEX products_price ON products (price);

CREATE TABLE stock (
  store_id text NOT NULL REFERENCES stores (id),
  sku text NOT NULL REFERENCES products (sku),
  on_hand integer NOT NULL,
  held integer NOT NULL DEFAULT 0,
  committed integer NOT NULL DEFAULT 0,
  version integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, sku),
  -- the stock invariant, enforced by the database whatever the code above it does
  CONSTRAINT stock_never_oversold CHECK (held >= 0 AND committed >= 0 AND on_hand - held - committed >= 0)
);
CREATE INDEX stock_sku ON stock (sku);

-- every change to stock with its reason; per (store, sku) the deltas sum to the stock row
CREATE TABLE stock_ledger (
  id bigserial PRIMARY KEY,
  store_id text NOT NULL,
  sku text NOT NULL,
  d_on_hand integer NOT NULL DEFAULT 0,
  d_held integer NOT NULL DEFAULT 0,
  d_committed integer NOT NULL DEFAULT 0,
  reason text NOT NULL CHECK (reason IN ('adjust', 'hold', 'release', 'commit', 'sale')),
  ref text,
  at timestamptz NOT NULL
);
CREATE INDEX stock_ledger_item ON stock_ledger (store_id, sku);

CREATE TABLE settlements (
  id text PRIMARY KEY,
  room_id text NOT NULL,
  cart_version text NOT NULL,
  store_id text NOT NULL REFERENCES stores (id),
  organiser text NOT NULL,
  currency text NOT NULL,
  total bigint NOT NULL,
  split jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('awaiting_payment', 'paid', 'packed', 'ready_for_pickup',
    'completed', 'expired', 'cancelled')),
  -- open: members pay; capturing: every share is covered, captures under way; done
  phase text NOT NULL DEFAULT 'open' CHECK (phase IN ('open', 'capturing', 'done')),
  hold_expires_at timestamptz NOT NULL,
  reason text,
  pickup_code text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX settlements_awaiting ON settlements (hold_expires_at) WHERE status = 'awaiting_payment';
CREATE INDEX settlements_capturing ON settlements (id) WHERE phase = 'capturing';
CREATE INDEX settlements_room ON settlements (room_id);

CREATE TABLE settlement_lines (
  settlement_id text NOT NULL REFERENCES settlements (id),
  line_id text NOT NULL,
  sku text NOT NULL,
  name text NOT NULL,
  qty integer NOT NULL CHECK (qty > 0),
  unit_price bigint NOT NULL,
  amount bigint NOT NULL,
  added_by text NOT NULL,
  shared_with jsonb,
  PRIMARY KEY (settlement_id, line_id)
);

-- one row per member share; the id is the unguessable /pay/<paymentId>
CREATE TABLE payments (
  id text PRIMARY KEY,
  settlement_id text NOT NULL REFERENCES settlements (id),
  member_id text NOT NULL,
  member_name text NOT NULL,
  position integer NOT NULL,
  method text NOT NULL CHECK (method IN ('local', 'stripe', 'midtrans', 'store')),
  share bigint NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'authorized', 'captured', 'declined', 'voided',
    'refunded', 'due_at_store', 'covered')),
  covered_by text,
  attempt integer NOT NULL DEFAULT 0,
  pay_url text,
  updated_at timestamptz NOT NULL,
  UNIQUE (settlement_id, member_id)
);

-- one row per try at a provider; "creating", "capturing", "voiding" and "refunding" are work
-- for the worker, which leases rows so that several processes never do the same call at once
CREATE TABLE payment_attempts (
  id text PRIMARY KEY,
  payment_id text NOT NULL REFERENCES payments (id),
  settlement_id text NOT NULL,
  attempt integer NOT NULL,
  provider text NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  status text NOT NULL CHECK (status IN ('creating', 'pending', 'authorized', 'capturing', 'captured',
    'declined', 'voiding', 'voided', 'refunding', 'refunded')),
  provider_ref text,
  redirect_url text,
  client_secret text,
  last_error text,
  lease_owner text,
  lease_until timestamptz,
  tries integer NOT NULL DEFAULT 0,
  next_try_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (payment_id, attempt)
);
CREATE INDEX payment_attempts_work ON payment_attempts (next_try_at)
  WHERE status IN ('creating', 'capturing', 'voiding', 'refunding');
CREATE UNIQUE INDEX payment_attempts_ref ON payment_attempts (provider, provider_ref);
CREATE INDEX payment_attempts_settlement ON payment_attempts (settlement_id);

CREATE TABLE holds (
  id bigserial PRIMARY KEY,
  settlement_id text NOT NULL REFERENCES settlements (id),
  store_id text NOT NULL,
  sku text NOT NULL,
  qty integer NOT NULL CHECK (qty > 0),
  status text NOT NULL CHECK (status IN ('held', 'committed', 'released', 'expired', 'sold')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  ended_at timestamptz,
  UNIQUE (settlement_id, sku)
);
CREATE INDEX holds_active ON holds (expires_at) WHERE status = 'held';

CREATE TABLE orders (
  id text PRIMARY KEY,
  settlement_id text NOT NULL UNIQUE REFERENCES settlements (id),
  store_id text NOT NULL,
  room_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('paid', 'packed', 'ready_for_pickup', 'completed', 'cancelled')),
  pickup_code text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX orders_store ON orders (store_id, created_at DESC);
CREATE UNIQUE INDEX orders_pickup ON orders (store_id, pickup_code);

CREATE TABLE webhook_events (
  provider text NOT NULL,
  event_id text NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (provider, event_id)
);

CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  request_hash text NOT NULL,
  settlement_id text,
  status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL
);

-- events written in the same transaction as the change they describe; the dispatcher
-- publishes them (live stock, status) and delivers settlement status to the room-server
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  topic text NOT NULL CHECK (topic IN ('stock', 'settlement')),
  store_id text,
  room_id text,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  published_at timestamptz,
  delivered_at timestamptz,
  tries integer NOT NULL DEFAULT 0,
  next_try_at timestamptz,
  lease_until timestamptz,
  last_error text
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;
`,
  },
  {
    version: 2,
    name: 'who had not paid when a settlement ended; the one extension of a hold',
    sql: /* sql */ `
-- member ids whose share was still open when the settlement expired or was cancelled
ALTER TABLE settlements ADD COLUMN unpaid jsonb;
-- set when the hold was extended for a payment pending at a provider (at most once)
ALTER TABLE settlements ADD COLUMN hold_extended_at timestamptz;
`,
  },
  {
    version: 3,
    name: 'store handover: one order reference, who collects, line notes, pickup-code lockout',
    sql: /* sql */ `
-- the reference shoppers and staff both see; settlements from before it get one derived from
-- their id (hex without 0 and 1, so still nothing to confuse when read aloud)
ALTER TABLE settlements ADD COLUMN order_ref text;
UPDATE settlements SET order_ref = translate(upper(substr(md5(id), 1, 10)), '01', 'GH');
CREATE UNIQUE INDEX settlements_order_ref ON settlements (order_ref);
-- the member who collects at the store (null: the organiser)
ALTER TABLE settlements ADD COLUMN collector text;
-- every member [{id, name}] in split order, also those who owe nothing (they have no payment
-- row but get a bag); null on older rows, read from payments instead
ALTER TABLE settlements ADD COLUMN members jsonb;
ALTER TABLE settlement_lines ADD COLUMN note text;
-- wrong pickup codes typed for an order since its last lockout, and the lockout's end
ALTER TABLE orders ADD COLUMN code_failures integer NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN code_locked_until timestamptz;
`,
  },
  {
    version: 4,
    name: "each store's time zone and currency (sales reports count in its local dates)",
    sql: /* sql */ `
-- Indonesia has three zones: WIB (Asia/Jakarta), WITA (Asia/Makassar), WIT (Asia/Jayapura).
-- A store's sales day is its own local day; new stores get the zone of their region (seed.ts).
ALTER TABLE stores ADD COLUMN timezone text NOT NULL DEFAULT 'Asia/Jakarta';
-- the currency the store sells in: its reports sum the orders in it
ALTER TABLE stores ADD COLUMN currency text NOT NULL DEFAULT 'IDR';
UPDATE stores SET timezone = 'Asia/Makassar' WHERE region IN ('Bali', 'Nusa Tenggara Barat',
  'Nusa Tenggara Timur', 'Kalimantan Selatan', 'Kalimantan Timur', 'Kalimantan Utara',
  'Sulawesi Utara', 'Sulawesi Tengah', 'Sulawesi Selatan', 'Sulawesi Tenggara', 'Sulawesi Barat',
  'Gorontalo');
UPDATE stores SET timezone = 'Asia/Jayapura' WHERE region IN ('Maluku', 'Maluku Utara', 'Papua',
  'Papua Barat', 'Papua Barat Daya', 'Papua Tengah', 'Papua Pegunungan', 'Papua Selatan');
`,
  },
  {
    version: 5,
    name: 'verified-purchase reviews',
    sql: /* sql */ `
-- one review per member per sku (a second write replaces the first); the order that made it
-- a verified purchase names the store whose staff see it
CREATE TABLE reviews (
  sku text NOT NULL REFERENCES products (sku),
  member_id text NOT NULL,
  member_name text NOT NULL,
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  body text,
  order_id text NOT NULL REFERENCES orders (id),
  store_id text NOT NULL,
  room_id text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (sku, member_id)
);
CREATE INDEX reviews_store ON reviews (store_id, updated_at DESC);
CREATE INDEX reviews_member ON reviews (member_id);
-- a member's orders: their payments, newest first
CREATE INDEX payments_member ON payments (member_id);
`,
  },
  {
    version: 6,
    name: 'settlement status also goes to web (notifications)',
    sql: /* sql */ `
-- topic 'web': the same status events, delivered to web's notification endpoint in order
-- (the dispatcher's deliverToWeb); never published on the bus
ALTER TABLE outbox DROP CONSTRAINT outbox_topic_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_topic_check CHECK (topic IN ('stock', 'settlement', 'web'));
`,
  },
  {
    version: 7,
    name: 'failed pickup-code lookups counted per store and per staff member',
    sql: /* sql */ `
-- GET /stores/<id>/orders/pickup/<code> answering 404: counted in a fixed window per scope
-- ('store:<id>', 'staff:<id>:<staff>') so guessing codes there is bounded in every API process
CREATE TABLE pickup_lookup_failures (
  scope text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  failures integer NOT NULL
);
`,
  },
  {
    version: 8,
    name: 'payments found by their settlement',
    sql: /* sql */ `
-- every read of a settlement's payments (its view, the expiry sweep's room states, voids,
-- webhooks) named settlement_id and scanned the whole table: 2.6 s of a 10.9 s mass expiry of
-- 10,000 settlements on PostgreSQL (docs/benchmarks.md "Settlement")
CREATE INDEX payments_settlement ON payments (settlement_id);
`,
  },
  {
    version: 9,
    name: 'room on the page for status changes (HOT updates of holds, payments, stock)',
    sql: /* sql */ `
-- A row updated without changing an indexed column, with room for its new version on the same
-- page, writes no index entry (a HOT update). Expiring a settlement updates its 2 holds, 3
-- payments and 2 stock rows; freshly inserted pages were full and holds_active's predicate
-- named status, so each of those wrote an entry in every index of its table (~20 of the ~45
-- per settlement). Nothing reads holds by expiry (the sweep goes by settlements). Fill factors
-- apply to pages written from now on (docs/benchmarks.md "Settlement", decision 0022).
DROP INDEX holds_active;
ALTER TABLE holds SET (fillfactor = 50);
ALTER TABLE payments SET (fillfactor = 50);
ALTER TABLE stock SET (fillfactor = 70);
`,
  },
];

/** Applies every migration not yet applied; returns the versions it applied. */
export function migrate(db: Db): Promise<number[]> {
  return runMigrations(db, {
    table: 'schema_migrations',
    // 0x5e771e: any constant both processes agree on (and the one earlier releases took).
    lockKey: 6190878,
    migrations: MIGRATIONS,
  });
}
