/**
 * No Docker engine runs on this machine, so docker-compose.yml cannot be started here. This
 * test parses it (and the haproxy config it mounts) and checks the topology the scaled mode
 * needs: every service there, health checks, depends_on conditions that can be met, room-server
 * replicas that can be scaled, the balancer pointed at them. (Also validated by hand with
 * `docker-compose config -q` 1.29 and `haproxy -c`; see docs/scaling.md.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { weakSecretReason } from '@patungan/model/node';
import { roomServerStartCommand } from '../../scripts/cluster.ts';
import { parseRegionUrls, regionSlug } from '../../settlement/src/regions.ts';
import { STORES } from '../../settlement/src/seed.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Service {
  image?: string;
  hostname?: string;
  restart?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  container_name?: string;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const APP_SERVICES = ['room-server', 'settlement', 'settlement-worker', 'web'];
const REDIS_NODES = ['redis-1', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];
const CLUSTER_NODES = REDIS_NODES.map((n) => `${n}:6379`).join(',');
/** One-shot services (run to completion; the others wait for `service_completed_successfully`). */
const ONE_SHOT = ['redis-cluster-create'];

/**
 * Compose's variable interpolation (`${V}`, `${V:-default}`, `${V-default}`, `${V:?message}`,
 * `${V?message}`), applied to one value as `docker compose config` would.
 */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\{(\w+)(?:(:?)([-?])([^}]*))?\}/g,
    (_m, name: string, colon: string, op: string | undefined, arg: string) => {
      const v = env[name];
      const missing = colon ? !v : v === undefined;
      if (!op) return v ?? '';
      if (!missing) return v!;
      if (op === '-') return arg;
      throw new Error(`required variable ${name} is missing a value: ${arg}`);
    },
  );
}

describe('docker-compose.yml', () => {
  it('has the whole scaled topology', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'lb',
        'postgres',
        'postgres-dki-jakarta',
        'postgres-jawa-barat',
        ...REDIS_NODES,
        'redis-cluster-create',
        'room-server',
        'settlement',
        'settlement-worker',
        'web',
      ].sort(),
    );
  });

  it('runs a Redis Cluster of 3 primaries with a replica each, formed once, and the rooms and settlement on it', () => {
    for (const name of REDIS_NODES) {
      const node = services[name]!;
      expect(node.image, name).toMatch(/^redis:7/); // sharded pub/sub, host name endpoints
      expect(node.hostname, name).toBe(name);
      const cmd = node.command!.join(' ');
      expect(cmd).toMatch(/--cluster-enabled yes/);
      expect(cmd).toMatch(/--cluster-config-file \/data\/nodes\.conf/);
      expect(cmd).toMatch(/--appendonly yes/);
      expect(cmd).toMatch(/--cluster-preferred-endpoint-type hostname/);
      expect(
        node.volumes?.some((v) => v.endsWith(':/data')),
        name,
      ).toBe(true);
    }
    const create = services['redis-cluster-create']!;
    expect(create.restart).toBe('no');
    const script = create.command!.join(' ');
    expect(script).toMatch(/redis-cli --cluster create/);
    expect(script).toMatch(/--cluster-replicas 1/);
    for (const name of REDIS_NODES) {
      expect(create.depends_on?.[name]?.condition).toBe('service_healthy');
      expect(script).toContain(name);
    }
    for (const name of ['room-server', 'settlement']) {
      expect(services[name]!.depends_on?.['redis-cluster-create']?.condition, name).toBe(
        'service_completed_successfully',
      );
    }
    for (const name of APP_SERVICES) {
      expect(services[name]!.environment?.REDIS_CLUSTER_NODES, name).toBe(CLUSTER_NODES);
      expect(services[name]!.environment?.REDIS_URL, name).toBeUndefined();
    }
  });

  it('gives every service a health check, and waits only on conditions that can be met', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!ONE_SHOT.includes(name))
        expect(s.healthcheck?.test.length, `${name} healthcheck`).toBeGreaterThan(0);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on unknown ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_started', 'service_completed_successfully']).toContain(
          condition,
        );
        if (condition === 'service_healthy') expect(services[dep]?.healthcheck).toBeDefined();
        if (condition === 'service_completed_successfully') expect(ONE_SHOT).toContain(dep);
      }
    }
    // No cycles: a topological order exists.
    const done = new Set<string>();
    for (let round = 0; round < 10 && done.size < Object.keys(services).length; round++) {
      for (const [name, s] of Object.entries(services)) {
        if (Object.keys(s.depends_on ?? {}).every((d) => done.has(d))) done.add(name);
      }
    }
    expect(done.size).toBe(Object.keys(services).length);
  });

  it('runs at least two room-servers that can be scaled, in scaled mode', () => {
    const rs = services['room-server']!;
    expect(rs.deploy?.replicas).toBeGreaterThanOrEqual(2);
    // A fixed name or published port would make `--scale room-server=N` fail.
    expect(rs.container_name).toBeUndefined();
    expect(rs.ports).toBeUndefined();
    expect(rs.environment?.REDIS_CLUSTER_NODES).toBe(CLUSTER_NODES);
    expect(rs.environment?.HOST).toBe('0.0.0.0');
    // exactly as `npm start -w room-server` runs it
    const start = roomServerStartCommand();
    expect(rs.command).toEqual(['node', ...start.flags, start.script]);
    for (const [k, v] of Object.entries(start.env)) {
      expect(String(rs.environment?.[k]), k).toBe(v);
    }
    expect(rs.depends_on?.['redis-cluster-create']?.condition).toBe(
      'service_completed_successfully',
    );
  });

  it('puts a WebSocket-capable balancer in front of them, and points everyone at it', () => {
    const lb = services.lb!;
    // Browsers reach the rooms through it; published on loopback only (a public deployment
    // puts its TLS proxy in front, docs/scaling.md).
    expect(lb.ports).toContain('127.0.0.1:1234:1234');
    const mount = lb.volumes?.find((v) => v.includes('haproxy.cfg'));
    expect(mount).toBeDefined();
    const cfg = readFileSync(join(ROOT, mount!.split(':')[0]!), 'utf8');
    expect(cfg).toMatch(/server-template \w+ \d+ room-server:1234/);
    expect(cfg).toMatch(/timeout tunnel/);
    expect(cfg).toMatch(/option httpchk GET \/healthz/);
    expect(services.settlement!.environment?.ROOM_SERVER_INTERNAL_URL).toBe('http://lb:1234');
  });

  it('runs settlement API and worker on PostgreSQL, web on its own database', () => {
    const api = services.settlement!;
    const worker = services['settlement-worker']!;
    expect(String(api.environment?.DATABASE_URL)).toContain('@postgres:5432/settlement');
    expect(worker.environment?.DATABASE_URL).toBe(api.environment?.DATABASE_URL);
    expect(api.environment?.SETTLEMENT_WORKER).toBe('off');
    expect(worker.command?.join(' ')).toContain('settlement/src/worker-main.ts');
    expect(String(services.web!.environment?.DATABASE_URL)).toContain('@postgres:5432/web');
    const init = services.postgres!.volumes?.find((v) => v.includes('initdb.d'));
    expect(readFileSync(join(ROOT, init!.split(':')[0]!), 'utf8')).toMatch(/CREATE DATABASE web/);
  });

  it('runs settlement on a central and two region databases that replicate logically', () => {
    const api = services.settlement!;
    const worker = services['settlement-worker']!;
    const env = { POSTGRES_PASSWORD: 'pw' };
    const regions = parseRegionUrls(
      'REGION_DATABASE_URLS',
      interpolate(String(api.environment?.REGION_DATABASE_URLS), env),
    );
    expect([...regions.keys()]).toEqual(['dki-jakarta', 'jawa-barat']);
    expect(worker.environment?.REGION_DATABASE_URLS).toBe(api.environment?.REGION_DATABASE_URLS);
    for (const [slug, url] of regions) {
      const host = new URL(url).hostname;
      expect(host).toBe(`postgres-${slug}`);
      expect(services[host]?.command).toEqual(['postgres', '-c', 'wal_level=logical']);
      expect(api.depends_on?.[host]?.condition).toBe('service_healthy');
      // the demo catalog has stores in every region named here
      expect(
        STORES.some((s) => regionSlug(s.region) === slug),
        slug,
      ).toBe(true);
    }
    expect(services.postgres!.command).toEqual(['postgres', '-c', 'wal_level=logical']);
    expect(STORES.some((s) => !regions.has(regionSlug(s.region)))).toBe(true);
  });

  it('builds every app service from one Dockerfile that exists', () => {
    for (const name of ['room-server', 'settlement', 'settlement-worker', 'web']) {
      const b = services[name]!.build;
      expect(b?.dockerfile, name).toBe('deploy/Dockerfile');
      expect(existsSync(join(ROOT, b!.context, b!.dockerfile))).toBe(true);
    }
    for (const name of ['room-server', 'settlement', 'settlement-worker', 'web']) {
      const entry = services[name]!.command!.find((a) => /\.(ts|js|mjs)$/.test(a))!;
      // web/build is produced by the image build; the other entries must exist.
      if (!entry.startsWith('web/build')) expect(existsSync(join(ROOT, entry)), entry).toBe(true);
    }
    for (const name of [...REDIS_NODES, 'redis-cluster-create'])
      expect(services[name]!.image, name).toMatch(/^redis:7/);
  });

  it('ships no token secret: compose refuses to start without a strong ROOM_TOKEN_SECRET', () => {
    const strong = 'k3Yq0w8Jx2mVbN5rT7pLz1cD4fG6hS9aE0uI2oP4yW';
    for (const name of APP_SERVICES) {
      const raw = String(services[name]!.environment?.ROOM_TOKEN_SECRET);
      // Without the variable, interpolation fails with a message naming it.
      expect(() => interpolate(raw, {}), name).toThrow(/ROOM_TOKEN_SECRET/);
      expect(() => interpolate(raw, { ROOM_TOKEN_SECRET: '' }), name).toThrow(/ROOM_TOKEN_SECRET/);
      // With it, every part gets exactly the operator's value (no default baked in).
      expect(interpolate(raw, { ROOM_TOKEN_SECRET: strong }), name).toBe(strong);
      expect(weakSecretReason(interpolate(raw, { ROOM_TOKEN_SECRET: strong }))).toBeNull();
      // Each app service runs in scaled mode, where the parts themselves refuse weak secrets.
      expect(services[name]!.environment?.REDIS_CLUSTER_NODES, name).toBe(CLUSTER_NODES);
    }
  });

  it('publishes only the web app on every interface; the rest on loopback or not at all', () => {
    const published: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) {
        const parts = String(p).split(':');
        // HOST:PORT:PORT binds one address; PORT:PORT or PORT binds every interface.
        const host = parts.length === 3 ? parts[0] : '0.0.0.0';
        if (host !== '127.0.0.1') published.push(`${name} ${p}`);
      }
    }
    expect(published).toEqual(['web 3000:3000']);
    for (const db of [...REDIS_NODES, 'postgres', 'postgres-dki-jakarta', 'postgres-jawa-barat'])
      expect(services[db]!.ports, db).toBeUndefined();
  });
});
