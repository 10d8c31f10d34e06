/**
 * `/metrics` (issue 10 item 12): served to loopback clients only, unless METRICS_TOKEN is set;
 * then every scrape needs `Authorization: Bearer <METRICS_TOKEN>` (Prometheus:
 * `authorization: {credentials: …}`).
 */
import { networkInterfaces } from 'node:os';
import { describe, expect, test } from 'vitest';
import { configFromEnv } from '../src/config.ts';
import { metricsAccess } from '../src/metrics.ts';
import { startServer } from './helpers.ts';

const TOKEN = 'metrics-token-0123456789abcdef';

/** A non-loopback IPv4 address of this machine, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const scrape = (base: string, auth?: string) =>
  fetch(`${base}/metrics`, auth ? { headers: { authorization: auth } } : {});

describe('who may read /metrics', () => {
  test('the decision: loopback only without a token; the exact bearer token with one', () => {
    expect(metricsAccess('127.0.0.1', undefined, undefined)).toBe(200);
    expect(metricsAccess('::1', undefined, undefined)).toBe(200);
    expect(metricsAccess('::ffff:127.0.0.1', undefined, undefined)).toBe(200);
    expect(metricsAccess('192.0.2.7', undefined, undefined)).toBe(403);
    expect(metricsAccess('::ffff:10.1.2.3', undefined, undefined)).toBe(403);
    expect(metricsAccess(undefined, undefined, undefined)).toBe(403);
    expect(metricsAccess('192.0.2.7', `Bearer ${TOKEN}`, undefined)).toBe(403);
    expect(metricsAccess('192.0.2.7', `Bearer ${TOKEN}`, TOKEN)).toBe(200);
    expect(metricsAccess('127.0.0.1', undefined, TOKEN)).toBe(401);
    expect(metricsAccess('127.0.0.1', `Bearer ${TOKEN}x`, TOKEN)).toBe(401);
    expect(metricsAccess('127.0.0.1', `Basic ${TOKEN}`, TOKEN)).toBe(401);
    expect(metricsAccess('127.0.0.1', 'Bearer ', TOKEN)).toBe(401);
  });

  test('with METRICS_TOKEN set, a scrape without the token gets 401, with it 200', async () => {
    const server = await startServer({ metricsToken: TOKEN });
    const none = await scrape(server.httpUrl);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await scrape(server.httpUrl, 'Bearer wrong')).status).toBe(401);
    const ok = await scrape(server.httpUrl, `Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('patungan_room_connections');
  });

  test.skipIf(!external)(
    'without a token, a client on another address gets 403 and loopback gets 200',
    async () => {
      const server = await startServer({ host: '0.0.0.0' });
      const remote = await scrape(`http://${external}:${server.port}`);
      expect(remote.status).toBe(403);
      expect(await remote.json()).toMatchObject({ error: { code: 'forbidden' } });
      expect((await scrape(server.httpUrl)).status).toBe(200);
      // health stays open for load balancers
      expect((await fetch(`http://${external}:${server.port}/healthz`)).status).toBe(200);
    },
  );

  test.skipIf(!external)('with the token, a client on another address may scrape', async () => {
    const server = await startServer({ host: '0.0.0.0', metricsToken: TOKEN });
    const base = `http://${external}:${server.port}`;
    expect((await scrape(base)).status).toBe(401);
    expect((await scrape(base, `Bearer ${TOKEN}`)).status).toBe(200);
  });

  test('METRICS_TOKEN comes from the environment and must not be short', () => {
    const env = { ROOM_TOKEN_SECRET: 'x'.repeat(40), DATA_DIR: '/tmp/unused' };
    expect(configFromEnv({ ...env, METRICS_TOKEN: TOKEN }).metricsToken).toBe(TOKEN);
    expect(configFromEnv(env).metricsToken).toBeUndefined();
    expect(() => configFromEnv({ ...env, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});
