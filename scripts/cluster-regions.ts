/**
 * `npm run cluster -- --regions N`: the central database and N region databases as local
 * PostgreSQL clusters (docs/contracts.md "Regions"), each in its own data directory on a free
 * port with wal_level=logical, and the settlement environment that uses them
 * (DATABASE_URL = central, REGION_DATABASE_URLS = the first N provinces of the demo stores:
 * dki-jakarta, jawa-barat, jawa-timur, …). The clusters are throw-away: stop() stops them and
 * removes their directories. Needs the PostgreSQL server binaries (PG_BIN_DIR, default
 * /usr/lib/postgresql/<newest>/bin).
 */
import { startPgClusters } from '@patungan/db/pg-cluster';
import { regionSlug } from '../settlement/src/regions.ts';
import { STORES } from '../settlement/src/seed.ts';

export interface RegionDatabases {
  /** DATABASE_URL and REGION_DATABASE_URLS for settlement. */
  env: { DATABASE_URL: string; REGION_DATABASE_URLS: string };
  /** One line per database, for the cluster's banner. */
  lines: string[];
  stop(): Promise<void>;
}

/** The first `n` region slugs of the demo stores, in their order. */
export function demoRegions(n: number): string[] {
  const slugs = [...new Set(STORES.map((s) => regionSlug(s.region)))];
  if (!Number.isInteger(n) || n < 1 || n > slugs.length) {
    throw new Error(`--regions must be 1 to ${slugs.length} (the demo stores' provinces)`);
  }
  return slugs.slice(0, n);
}

export async function startRegionDatabases(n: number): Promise<RegionDatabases> {
  const slugs = demoRegions(n);
  const set = await startPgClusters(['central', ...slugs]);
  const [central, ...regions] = set.clusters;
  return {
    env: {
      DATABASE_URL: central!.url(),
      REGION_DATABASE_URLS: regions.map((c) => `${c.name}=${c.url()}`).join(','),
    },
    lines: set.clusters.map(
      (c) => `  ${(c.name === 'central' ? 'db central' : `db ${c.name}`).padEnd(24)} ${c.url()}`,
    ),
    stop: () => set.remove(),
  };
}
