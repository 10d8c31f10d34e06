/**
 * A push service on this machine, for end-to-end tests of Web Push without the internet: it
 * takes web-push's POST to a subscription's endpoint (`/push/<device>`), checks the VAPID
 * header, and decrypts the aes128gcm payload (RFC 8291) with the device's private key, as a
 * browser would. `device()` makes the key pair and auth secret a browser would (P-256, 16 bytes).
 */
import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ece from 'http_ece';

export interface PushMessage {
  device: string;
  at: number;
  /** `vapid t=<jwt>, k=<public key>` */
  authorization: string;
  ttl: string | undefined;
  payload: { title: string; body: string; url: string; tag: string; kind: string };
}

export interface Device {
  id: string;
  endpoint: string;
  /** What a browser's `PushSubscription.toJSON()` gives. */
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  messages(): PushMessage[];
}

export interface PushService {
  url: string;
  /** Every message received, oldest first. */
  received: PushMessage[];
  device(o?: { answer?: number }): Device;
  /** Resolves with the first message matching `match` (bounded). */
  waitFor(match: (m: PushMessage) => boolean, timeoutMs?: number): Promise<PushMessage>;
  close(): Promise<void>;
}

export async function startPushService(): Promise<PushService> {
  const devices = new Map<string, { ecdh: ECDH; auth: Buffer; answer: number }>();
  const received: PushMessage[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = /^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1] ?? '';
      const d = devices.get(id);
      if (!d || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      if (d.answer !== 201) {
        res.writeHead(d.answer).end();
        return;
      }
      try {
        if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm');
        const plain = ece.decrypt(Buffer.concat(chunks), {
          version: 'aes128gcm',
          privateKey: d.ecdh,
          authSecret: d.auth,
        });
        received.push({
          device: id,
          at: Date.now(),
          authorization: String(req.headers.authorization ?? ''),
          ttl: req.headers.ttl as string | undefined,
          payload: JSON.parse(plain.toString('utf8')) as PushMessage['payload'],
        });
        res.writeHead(201).end();
        for (const w of waiters) w();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let n = 0;
  return {
    url,
    received,
    device(o = {}) {
      const id = `d${++n}-${randomBytes(4).toString('hex')}`;
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      devices.set(id, { ecdh, auth, answer: o.answer ?? 201 });
      const endpoint = `${url}/push/${id}`;
      return {
        id,
        endpoint,
        subscription: {
          endpoint,
          keys: {
            p256dh: ecdh.getPublicKey().toString('base64url'),
            auth: auth.toString('base64url'),
          },
        },
        messages: () => received.filter((m) => m.device === id),
      };
    },
    waitFor(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = received.find(match);
          if (!m) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no push message matched within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
