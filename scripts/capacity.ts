/**
 * `npx tsx scripts/capacity.ts [--json]`: the capacity model of docs/scaling.md ("Capacity
 * model"). From what one room-server instance, one Redis shard and one regional database were
 * measured to carry on the 2-core development machine (docs/benchmarks.md), and a stated
 * demand model, how many room-server instances, Redis Cluster shards and regional databases
 * Indonesia's 38 provinces need at 1, 10 and 100 million shoppers, and which part runs out
 * first at each step. Pure arithmetic: change an input, run it again.
 */
import { parseArgs } from 'node:util';

/** What one unit carries, measured (docs/benchmarks.md; the section is named beside each). */
export const MEASURED = {
  /** Room-server: idle connections one instance holds in ~150 MB ("Room-server, one instance"). */
  connectionsPerInstance: 19_500,
  /** Room-server on a Redis Cluster: CPU ms per edit per instance at 1,000 edits/s ("Scaled mode"). */
  instanceCpuMsPerEdit: 0.25,
  /**
   * Redis Cluster: CPU ms per edit on the room's primary ("Scaled mode": 0.107 ms over 3
   * primaries + 3 replicas with WAIT; the primary runs the script, the publish and the WAIT,
   * its replica applies the stream: about half each).
   */
  redisCpuMsPerEdit: 0.054,
  /** Redis: bytes a compacted room keeps (snapshot of a 20-line cart with votes and chat). */
  redisBytesPerRoom: 16_384,
  /** One region on this machine: settlements/s with holds, 3 members, 2 lines ("Regions"). */
  settlementsPerSecondPerDb: 345,
};

/** How hard a unit is planned to run: half a core, so a burst or a lost peer has room. */
export const HEADROOM = {
  cpuShare: 0.5,
  connectionShare: 0.8,
  dbShare: 0.5,
  /** Usable memory of one Redis shard for room state. */
  redisBytesPerShard: 8 * 1024 ** 3,
};

/** The demand model: what a shopper does at the evening peak and in a flash sale. */
export const DEMAND = {
  /** Share of all shoppers connected to a room at the evening peak. */
  peakOnline: 0.02,
  /** Members per room on average. */
  membersPerRoom: 4,
  /** Cart edits (add, quantity, vote, note, chat) per member per second while in a room. */
  editsPerMemberPerSecond: 0.1,
  /** Share of the rooms open at the peak that finalise within the same minute of a flash sale. */
  flashFinaliseShare: 0.2,
  /** Rooms kept in Redis per room open at the peak (rooms of the last days not yet unloaded). */
  storedRoomsPerOpenRoom: 10,
};

/** Population by province, millions (BPS 2023 estimates, rounded), with its island group. */
export const PROVINCES: readonly [name: string, millions: number, island: string][] = [
  ['Aceh', 5.5, 'Sumatera'],
  ['Sumatera Utara', 15.4, 'Sumatera'],
  ['Sumatera Barat', 5.7, 'Sumatera'],
  ['Riau', 6.7, 'Sumatera'],
  ['Kepulauan Riau', 2.1, 'Sumatera'],
  ['Jambi', 3.7, 'Sumatera'],
  ['Sumatera Selatan', 8.7, 'Sumatera'],
  ['Kepulauan Bangka Belitung', 1.5, 'Sumatera'],
  ['Bengkulu', 2.1, 'Sumatera'],
  ['Lampung', 9.3, 'Sumatera'],
  ['DKI Jakarta', 10.7, 'Jawa'],
  ['Banten', 12.3, 'Jawa'],
  ['Jawa Barat', 49.9, 'Jawa'],
  ['Jawa Tengah', 37.5, 'Jawa'],
  ['DI Yogyakarta', 3.7, 'Jawa'],
  ['Jawa Timur', 41.5, 'Jawa'],
  ['Bali', 4.4, 'Bali–Nusa Tenggara'],
  ['Nusa Tenggara Barat', 5.5, 'Bali–Nusa Tenggara'],
  ['Nusa Tenggara Timur', 5.5, 'Bali–Nusa Tenggara'],
  ['Kalimantan Barat', 5.6, 'Kalimantan'],
  ['Kalimantan Tengah', 2.7, 'Kalimantan'],
  ['Kalimantan Selatan', 4.2, 'Kalimantan'],
  ['Kalimantan Timur', 3.9, 'Kalimantan'],
  ['Kalimantan Utara', 0.7, 'Kalimantan'],
  ['Sulawesi Utara', 2.7, 'Sulawesi'],
  ['Gorontalo', 1.2, 'Sulawesi'],
  ['Sulawesi Tengah', 3.1, 'Sulawesi'],
  ['Sulawesi Barat', 1.5, 'Sulawesi'],
  ['Sulawesi Selatan', 9.4, 'Sulawesi'],
  ['Sulawesi Tenggara', 2.8, 'Sulawesi'],
  ['Maluku', 1.9, 'Maluku–Papua'],
  ['Maluku Utara', 1.3, 'Maluku–Papua'],
  ['Papua', 1.0, 'Maluku–Papua'],
  ['Papua Barat', 0.6, 'Maluku–Papua'],
  ['Papua Barat Daya', 0.6, 'Maluku–Papua'],
  ['Papua Tengah', 1.4, 'Maluku–Papua'],
  ['Papua Pegunungan', 1.4, 'Maluku–Papua'],
  ['Papua Selatan', 0.5, 'Maluku–Papua'],
];

export interface Plan {
  shoppers: number;
  online: number;
  rooms: number;
  editsPerSecond: number;
  flashSettlementsPerSecond: number;
  instances: { count: number; byConnections: number; byCpu: number; bound: string };
  shards: { count: number; byCpu: number; byMemory: number; bound: string };
  databases: {
    count: number;
    /** Each regional database: the provinces it holds and its flash-sale settlements/s. */
    groups: { name: string; provinces: string[]; flashPerSecond: number }[];
    /** Provinces whose own flash-sale peak is beyond one database's planned rate. */
    overloaded: string[];
  };
  bottleneck: string;
}

const ceil = (x: number): number => Math.max(1, Math.ceil(x - 1e-9));

export function plan(shoppers: number): Plan {
  const online = shoppers * DEMAND.peakOnline;
  const rooms = online / DEMAND.membersPerRoom;
  const editsPerSecond = online * DEMAND.editsPerMemberPerSecond;
  const flash = (rooms * DEMAND.flashFinaliseShare) / 60;

  const byConnections = online / (MEASURED.connectionsPerInstance * HEADROOM.connectionShare);
  const byCpu = (editsPerSecond * MEASURED.instanceCpuMsPerEdit) / (1000 * HEADROOM.cpuShare);
  // One more than the load needs, so losing an instance moves its rooms without overloading.
  const instances = ceil(Math.max(byConnections, byCpu)) + 1;

  const shardCpu = (editsPerSecond * MEASURED.redisCpuMsPerEdit) / (1000 * HEADROOM.cpuShare);
  const shardMem =
    (rooms * DEMAND.storedRoomsPerOpenRoom * MEASURED.redisBytesPerRoom) /
    HEADROOM.redisBytesPerShard;
  // Redis Cluster needs three primaries to agree on a failover.
  const shards = Math.max(3, ceil(Math.max(shardCpu, shardMem)));

  const perDb = MEASURED.settlementsPerSecondPerDb * HEADROOM.dbShare;
  const total = PROVINCES.reduce((s, p) => s + p[1], 0);
  const flashOf = (millions: number): number => (flash * millions) / total;
  // An island group shares a database while it fits; else its provinces are packed
  // largest first into as few databases as fit; a province never spans two.
  const groups: Plan['databases']['groups'] = [];
  const overloaded: string[] = [];
  for (const island of [...new Set(PROVINCES.map((p) => p[2]))]) {
    const members = PROVINCES.filter((p) => p[2] === island).sort((a, b) => b[1] - a[1]);
    const islandFlash = flashOf(members.reduce((s, p) => s + p[1], 0));
    if (islandFlash <= perDb) {
      groups.push({
        name: island,
        provinces: members.map((p) => p[0]),
        flashPerSecond: islandFlash,
      });
      continue;
    }
    const bins: { provinces: string[]; flashPerSecond: number }[] = [];
    for (const [name, millions] of members) {
      const f = flashOf(millions);
      if (f > perDb) overloaded.push(name);
      const bin = bins.find((b) => b.flashPerSecond + f <= perDb);
      if (bin) {
        bin.provinces.push(name);
        bin.flashPerSecond += f;
      } else bins.push({ provinces: [name], flashPerSecond: f });
    }
    bins.forEach((b, i) => groups.push({ name: `${island} ${i + 1}`, ...b }));
  }

  const loads = [
    ['room-server CPU per edit', byCpu / instances],
    ['room-server connections', byConnections / instances],
    ['Redis CPU per edit', shardCpu / shards],
    ['Redis memory', shardMem / shards],
    ['regional database writes', Math.max(...groups.map((g) => g.flashPerSecond)) / perDb],
  ] as const;
  const bottleneck = overloaded.length
    ? `regional database writes: ${overloaded.join(', ')} alone exceed one database`
    : [...loads].sort((a, b) => b[1] - a[1])[0]![0];

  return {
    shoppers,
    online,
    rooms,
    editsPerSecond,
    flashSettlementsPerSecond: flash,
    instances: {
      count: instances,
      byConnections,
      byCpu,
      bound: byCpu > byConnections ? 'CPU per edit' : 'connections',
    },
    shards: {
      count: shards,
      byCpu: shardCpu,
      byMemory: shardMem,
      bound:
        Math.max(shardCpu, shardMem) < 3
          ? 'quorum (3 primaries)'
          : shardCpu > shardMem
            ? 'CPU'
            : 'memory',
    },
    databases: { count: groups.length, groups, overloaded },
    bottleneck,
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function main(): void {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
  const plans = [1e6, 1e7, 1e8].map(plan);
  if (values.json) {
    console.log(JSON.stringify({ MEASURED, HEADROOM, DEMAND, plans }, null, 2));
    return;
  }
  console.log('| | 1 million shoppers | 10 million | 100 million |');
  console.log('| --- | --- | --- | --- |');
  const row = (label: string, f: (p: Plan) => string): void =>
    console.log(`| ${label} | ${plans.map(f).join(' | ')} |`);
  row('online at the peak (connections)', (p) => fmt(p.online));
  row('rooms open', (p) => fmt(p.rooms));
  row('edits/s', (p) => fmt(p.editsPerSecond));
  row('flash-sale settlements/s (all regions)', (p) => fmt(p.flashSettlementsPerSecond));
  row('room-server instances (bound by)', (p) => `**${p.instances.count}** (${p.instances.bound})`);
  row('Redis Cluster primaries (bound by)', (p) => `**${p.shards.count}** (${p.shards.bound})`);
  row('regional databases (per island group)', (p) => {
    const per = new Map<string, number>();
    for (const g of p.databases.groups) {
      const island = g.name.replace(/ \d+$/, '');
      per.set(island, (per.get(island) ?? 0) + 1);
    }
    return `**${p.databases.count}** (${[...per].map(([i, n]) => `${i} ${n}`).join(', ')})`;
  });
  row('busiest regional database, flash sale', (p) => {
    const top = [...p.databases.groups].sort((a, b) => b.flashPerSecond - a.flashPerSecond)[0]!;
    const planned = MEASURED.settlementsPerSecondPerDb * HEADROOM.dbShare;
    return `${top.flashPerSecond.toFixed(0)}/s of ${fmt(planned)}/s planned (${top.provinces.slice(0, 3).join(', ')}${top.provinces.length > 3 ? ', …' : ''})`;
  });
  row('first to run out', (p) => p.bottleneck);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
