/**
 * Web shell latency on this machine: starts the real stack (test/helpers/stack.ts), registers
 * a user with a room, then times N sequential requests per endpoint and prints p50 / p95 /
 * max in ms. Bounded: N requests each, 127.0.0.1 only.
 *
 *   npx tsx web/bench/shell.ts [N=200]
 */
import { startStack } from '../test/helpers/stack.ts';

const N = Math.min(Number(process.argv[2] ?? 200), 2000);
const stack = await startStack();
try {
  const origin = { origin: stack.webUrl, 'content-type': 'application/x-www-form-urlencoded' };
  const reg = await fetch(`${stack.webUrl}/register`, {
    method: 'POST',
    headers: origin,
    body: 'name=Bench&email=bench%40example.com&password=benchmark1&redirect=%2F',
    redirect: 'manual',
  });
  const cookie = (reg.headers.get('set-cookie') ?? '').split(';')[0]!;
  const created = await fetch(`${stack.webUrl}/?/create`, {
    method: 'POST',
    headers: { ...origin, cookie },
    body: 'name=Bench+room&currency=IDR&tz=420',
  });
  const roomId = /rooms\/([\w-]+)/.exec(await created.text())?.[1];
  const targets: [string, RequestInit, string][] = [
    ['GET /healthz', {}, '/healthz'],
    ['GET / (signed in, SSR)', { headers: { cookie } }, '/'],
    ['GET /api/me/live', { headers: { cookie } }, '/api/me/live'],
    ['GET /rooms/<id>/__data.json', { headers: { cookie } }, `/rooms/${roomId}/__data.json`],
    [
      'POST /rooms/<id>/token',
      { method: 'POST', headers: { cookie, origin: stack.webUrl } },
      `/rooms/${roomId}/token`,
    ],
  ];
  console.log(`${N} sequential requests each (after 10 warm-up)`);
  for (const [label, init, path] of targets) {
    for (let i = 0; i < 10; i++) await (await fetch(stack.webUrl + path, init)).arrayBuffer();
    const ms: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      const res = await fetch(stack.webUrl + path, init);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${label}: ${res.status}`);
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
    console.log(`${label.padEnd(32)} p50 ${q(0.5)}  p95 ${q(0.95)}  max ${ms.at(-1)!.toFixed(1)}`);
  }
  // Login is argon2-bound on purpose: time a few.
  const ms: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await fetch(`${stack.webUrl}/login`, {
      method: 'POST',
      headers: origin,
      body: 'email=bench%40example.com&password=benchmark1&redirect=%2F',
      redirect: 'manual',
    });
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(
    `${'POST /login (argon2id verify)'.padEnd(32)} p50 ${ms[10]!.toFixed(1)}  max ${ms.at(-1)!.toFixed(1)}`,
  );
} finally {
  await stack.close();
}
