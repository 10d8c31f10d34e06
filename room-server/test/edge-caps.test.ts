/**
 * Connection caps (docs/contracts.md "Limits", issue 10 item 8): at most
 * MAX_CONNECTIONS_PER_MEMBER live connections per member per room and MAX_CONNECTIONS_PER_IP
 * per client address; the next upgrade is refused with 429 and Retry-After, no socket opened.
 */
import { networkInterfaces } from 'node:os';
import { describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { onTestFinished } from 'vitest';
import { configFromEnv } from '../src/config.ts';
import { rawClient, startServer, token, waitFor } from './helpers.ts';
import type { RoomServer } from '../src/index.ts';

/** Opens a WebSocket to `url`; resolves with the open socket or the refusal's status and headers. */
function open(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket | null; status: number; retryAfter?: string | undefined }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers });
    onTestFinished(() => ws.terminate());
    ws.on('unexpected-response', (_req, res) => {
      resolve({ ws: null, status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      ws.terminate();
    });
    ws.on('open', () => resolve({ ws, status: 101 }));
    ws.on('error', () => {});
  });
}

async function member(
  server: RoomServer,
  roomId: string,
  sub: string,
  base = server.url,
  headers: Record<string, string> = {},
) {
  return open(`${base}/${roomId}?token=${await token(roomId, sub)}`, headers);
}

function closeAndWait(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe('per member per room', () => {
  test('the 9th connection of one member is refused with 429 and Retry-After; another member and another room are fine', async () => {
    const server = await startServer();
    const open8 = [];
    for (let i = 0; i < 8; i++) open8.push(await member(server, 'capped', 'alice'));
    expect(open8.map((r) => r.status)).toEqual(Array(8).fill(101));
    const ninth = await member(server, 'capped', 'alice');
    expect(ninth.status).toBe(429);
    expect(Number(ninth.retryAfter)).toBeGreaterThan(0);
    expect((await member(server, 'capped', 'bob')).status).toBe(101);
    expect((await member(server, 'other-room', 'alice')).status).toBe(101);
    // a slot comes back when a connection closes
    await closeAndWait(open8[0]!.ws!);
    await waitFor(async () => {
      const r = await member(server, 'capped', 'alice');
      r.ws?.terminate();
      return r.status === 101;
    }, 'a free slot after a close');
  });

  test('no leak: a member who opened and closed 100 connections can still open 8', async () => {
    const server = await startServer();
    for (let i = 0; i < 100; i++) {
      const r = await member(server, 'churn', 'alice');
      expect(r.status).toBe(101);
      // half closed politely, half cut
      if (i % 2) await closeAndWait(r.ws!);
      else {
        const closed = new Promise((res) => r.ws!.once('close', res));
        r.ws!.terminate();
        await closed;
      }
    }
    // refusals do not take a slot either
    const held = [];
    for (let i = 0; i < 8; i++) held.push(await member(server, 'churn', 'alice'));
    for (let i = 0; i < 5; i++) expect((await member(server, 'churn', 'alice')).status).toBe(429);
    await Promise.all(held.map((r) => closeAndWait(r.ws!)));
    const again = [];
    for (let i = 0; i < 8; i++) {
      let r = await member(server, 'churn', 'alice');
      // the server may not have seen the last close yet
      for (let t = 0; r.status === 429 && t < 50; t++) {
        await new Promise((res) => setTimeout(res, 20));
        r = await member(server, 'churn', 'alice');
      }
      again.push(r.status);
    }
    expect(again).toEqual(Array(8).fill(101));
  });
});

describe('per client address', () => {
  test('with a small MAX_CONNECTIONS_PER_IP the next connection from that address is refused with 429', async () => {
    const server = await startServer({
      limits: { maxConnectionsPerIp: 3, countLoopbackPerIp: true },
    });
    const held = [];
    for (const m of ['m1', 'm2', 'm3']) held.push(await member(server, 'ip-room', m));
    expect(held.map((r) => r.status)).toEqual([101, 101, 101]);
    const fourth = await member(server, 'ip-room', 'm4');
    expect(fourth.status).toBe(429);
    expect(Number(fourth.retryAfter)).toBeGreaterThan(0);
    // an unauthenticated upgrade is refused by the cap too, before any token check
    const anon = await open(`${server.url}/ip-room`);
    expect(anon.status).toBe(429);
    await closeAndWait(held[0]!.ws!);
    await waitFor(async () => {
      const r = await member(server, 'ip-room', 'm4');
      return r.status === 101;
    }, 'a free slot after a close');
  });

  test('loopback clients (a same-host proxy, the benchmarks) are not counted per address by default', async () => {
    const server = await startServer({ limits: { maxConnectionsPerIp: 2 } });
    const held = [];
    for (const m of ['a', 'b', 'c', 'd']) held.push(await member(server, 'lo-room', m));
    expect(held.map((r) => r.status)).toEqual([101, 101, 101, 101]);
  });

  test.skipIf(!external)(
    'a non-loopback client address is capped while loopback clients are not',
    async () => {
      const server = await startServer({ host: '0.0.0.0', limits: { maxConnectionsPerIp: 2 } });
      const base = `ws://${external}:${server.port}`;
      const a = await member(server, 'eth-room', 'a', base);
      const b = await member(server, 'eth-room', 'b', base);
      expect([a.status, b.status]).toEqual([101, 101]);
      expect((await member(server, 'eth-room', 'c', base)).status).toBe(429);
      expect((await member(server, 'eth-room', 'c')).status).toBe(101);
    },
  );
});

describe('behind a trusted proxy (TRUSTED_PROXIES)', () => {
  test("the client address is the proxy's X-Forwarded-For entry, not the proxy's own", async () => {
    const server = await startServer({
      trustedProxies: ['127.0.0.0/8'],
      limits: { maxConnectionsPerIp: 2 },
    });
    const via = (ip: string) => ({ 'X-Forwarded-For': `198.51.100.1, ${ip}` });
    const a = await member(server, 'px', 'a', server.url, via('203.0.113.9'));
    const b = await member(server, 'px', 'b', server.url, via('203.0.113.9'));
    expect([a.status, b.status]).toEqual([101, 101]);
    // the third from that client is refused; another client behind the same proxy is not
    expect((await member(server, 'px', 'c', server.url, via('203.0.113.9'))).status).toBe(429);
    expect((await member(server, 'px', 'c', server.url, via('203.0.113.10'))).status).toBe(101);
    // without the header, the proxy's own (loopback) address: not counted
    expect((await member(server, 'px', 'd')).status).toBe(101);
  });

  test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    const server = await startServer({
      trustedProxies: ['10.0.0.0/8'],
      limits: { maxConnectionsPerIp: 1, countLoopbackPerIp: true },
    });
    const forged = { 'X-Forwarded-For': '203.0.113.50' };
    expect((await member(server, 'nx', 'a', server.url, forged)).status).toBe(101);
    // counted under the real peer (127.0.0.1), whatever the header claims
    expect(
      (await member(server, 'nx', 'b', server.url, { 'X-Forwarded-For': '203.0.113.51' })).status,
    ).toBe(429);
  });

  test('TRUSTED_PROXIES is read from the environment and checked', () => {
    const env = { ROOM_TOKEN_SECRET: 'x'.repeat(40), DATA_DIR: '/tmp/unused' };
    expect(
      configFromEnv({ ...env, TRUSTED_PROXIES: '172.16.0.0/12, 10.1.2.3' }).trustedProxies,
    ).toEqual(['172.16.0.0/12', '10.1.2.3']);
    expect(() => configFromEnv({ ...env, TRUSTED_PROXIES: 'not-an-ip' })).toThrow(
      /TRUSTED_PROXIES/,
    );
  });
});

test('the caps come from MAX_CONNECTIONS_PER_MEMBER and MAX_CONNECTIONS_PER_IP', () => {
  const c = configFromEnv({
    ROOM_TOKEN_SECRET: 'x'.repeat(40),
    DATA_DIR: '/tmp/unused',
    MAX_CONNECTIONS_PER_MEMBER: '3',
    MAX_CONNECTIONS_PER_IP: '50',
  });
  expect(c.limits).toMatchObject({ maxConnectionsPerMember: 3, maxConnectionsPerIp: 50 });
});

// keep the raw client helper in use for a one-off protocol check: a refused upgrade opens nothing
test('a refused upgrade opens no socket', async () => {
  const server = await startServer({ limits: { maxConnectionsPerMember: 1 } });
  const first = rawClient(server, 'one', await token('one', 'alice'));
  await first.opened;
  const second = rawClient(server, 'one', await token('one', 'alice'));
  await expect(second.opened).rejects.toThrow(/429/);
});
