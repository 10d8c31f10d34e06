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
    version: 7,
    name: 'settlement status also goes to web (notifications)',
    sql: /* sql */ `
-- topic 'web': the same status events, delivered to web's notification endpoint in order
-- (the dispatcher's deliverToWeb); never published on the bus
ALTER TABLE outbox DROP CONSTRAINT outbox_topic_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_topic_check CHECK (topic IN ('stock', 'settlement', 'web'));
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
