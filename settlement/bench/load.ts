/**
 * The settlement benchmark's load generator, in a process of its own (run.ts forks it), so
 * that the service's CPU per settlement is measured alone: the generator's own CPU is
 * reported beside it. Plain `node:http` with a keep-alive agent (one socket per request in
 * flight) — cheaper per request than `fetch`.
 *
 * Messages from the parent: `init` (the service's URL, a token, the skus and store ids), then
 * `post` (settlements `tag-from` … `tag-(from+n-1)`, `concurrency` in flight) and `get` (a path,
 * `n` times one at a time); each answered with the latencies (ms) and this process's CPU (ms).
 */
import { Agent, request } from 'node:http';

export interface Init {
  type: 'init';
  url: string;
  token: string;
  skus: string[];
  stores: string[];
  concurrency: number;
}
export interface Post {
  type: 'post';
  id: number;
  tag: string;
  from: number;
  n: number;
  concurrency: number;
}
export interface Get {
  type: 'get';
  id: number;
  path: string;
  n: number;
  concurrency: number;
}
export interface Done {
  id: number;
  latencies: number[];
  cpuMs: number;
  error?: string;
}

let init!: Init;
let agent!: Agent;

/** The snapshot a settlement is created from: 3 members paying locally, 2 lines. */
export function snapshot(skus: string[], stores: string[], i: number, tag: string) {
  return {
    roomId: `bench-${tag}-${i}`,
    cartVersion: 'v1',
    currency: 'IDR',
    storeId: stores[i % stores.length]!,
    organiser: 'a',
    split: { mode: 'equal' },
    members: ['a', 'b', 'c'].map((id) => ({ id, name: id, method: 'local' })),
    lines: [
      { id: 'l1', sku: skus[(i * 7) % skus.length]!, qty: 1, addedBy: 'a' },
      { id: 'l2', sku: skus[(i * 13 + 1) % skus.length]!, qty: 2, addedBy: 'b' },
    ],
  };
}

function once(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${init.url}${path}`,
      { method, agent, headers: body ? { ...headers, 'content-length': body.length } : headers },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One request, retried (up to 3 more times) when a kept-alive socket was closed or reset
 * meanwhile (safe for POST /settlements: it carries an idempotency key).
 */
async function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<number> {
  for (let i = 0; ; i++) {
    try {
      return await once(method, path, headers, body);
    } catch (err) {
      if (i >= 3) throw err;
    }
  }
}

async function pool(n: number, c: number, fn: (i: number) => Promise<number>): Promise<number[]> {
  const out: number[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

async function post(m: Post): Promise<number[]> {
  const auth = `Bearer ${init.token}`;
  return pool(m.n, m.concurrency, async (k) => {
    const i = m.from + k;
    const body = Buffer.from(JSON.stringify(snapshot(init.skus, init.stores, i, m.tag)));
    const t0 = performance.now();
    const status = await send(
      'POST',
      '/settlements',
      {
        authorization: auth,
        'content-type': 'application/json',
        'idempotency-key': `${m.tag}-${i}`,
      },
      body,
    );
    if (status !== 201) throw new Error(`POST /settlements → ${status}`);
    return performance.now() - t0;
  });
}

async function get(m: Get): Promise<number[]> {
  const headers = { authorization: `Bearer ${init.token}` };
  return pool(m.n, m.concurrency, async () => {
    const t0 = performance.now();
    await send('GET', m.path, headers);
    return performance.now() - t0;
  });
}

// only when forked as the generator (run.ts imports `snapshot` from here too)
if (process.send && /load\.ts$/.test(process.argv[1] ?? '')) {
  process.on('message', (m: Init | Post | Get) => {
    if (m.type === 'init') {
      init = m;
      agent = new Agent({ keepAlive: true, maxSockets: m.concurrency });
      process.send!({ id: 0, latencies: [], cpuMs: 0 } satisfies Done);
      return;
    }
    const cpu0 = process.cpuUsage();
    (m.type === 'post' ? post(m) : get(m)).then(
      (latencies) => {
        const cpu = process.cpuUsage(cpu0);
        process.send!({ id: m.id, latencies, cpuMs: (cpu.user + cpu.system) / 1000 });
      },
      (err: unknown) =>
        process.send!({ id: m.id, latencies: [], cpuMs: 0, error: String(err) } satisfies Done),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
