/**
 * A local server that answers the PaymentIntents and Refunds API like Stripe does (the parts
 * Patungan uses), including idempotency-key replay, so the official SDK runs unmodified
 * against it. Tests play the customer with `authorize` / `fail`.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { localServer, sendJson, type LocalServer } from './http-server.ts';

export interface FakeIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  capture_method: string;
  status: string;
  client_secret: string;
  metadata: Record<string, string>;
  last_payment_error: null | { code: string; message: string };
  cancellation_reason: string | null;
}

/** Form body with bracket keys (`metadata[a]=1`) → nested object. */
function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const m = /^([^[]+)\[([^\]]+)\]$/.exec(k);
    if (m) ((out[m[1]!] ??= {}) as Record<string, string>)[m[2]!] = v;
    else out[k] = v;
  }
  return out;
}

export interface FakeStripe extends LocalServer {
  intents: Map<string, FakeIntent>;
  /** Operations actually performed (idempotent replays are not counted). */
  ops: { op: 'create' | 'capture' | 'cancel' | 'refund'; id: string }[];
  refunds: { id: string; payment_intent: string; amount: number }[];
  authorize(id: string): FakeIntent;
  fail(id: string): FakeIntent;
  /** Makes the next n API calls answer 500 (a flaky Stripe). */
  breakNext(n: number): void;
}

const err = (code: string, message: string) => ({
  error: { type: 'invalid_request_error', code, message },
});

export async function fakeStripe(): Promise<FakeStripe> {
  const intents = new Map<string, FakeIntent>();
  const ops: FakeStripe['ops'] = [];
  const refunds: FakeStripe['refunds'] = [];
  const replay = new Map<string, { status: number; body: unknown }>();
  let broken = 0;
  const server = await localServer((req, res) => {
    if (broken > 0) {
      broken--;
      return sendJson(res, 500, { error: { type: 'api_error', message: 'Something went wrong' } });
    }
    const key = req.headers['idempotency-key'];
    const scoped = typeof key === 'string' ? `${req.method} ${req.path} ${key}` : null;
    if (scoped && replay.has(scoped)) {
      const r = replay.get(scoped)!;
      return sendJson(res, r.status, r.body);
    }
    const answer = (status: number, body: unknown) => {
      if (scoped) replay.set(scoped, { status, body });
      sendJson(res, status, body);
    };
    const params = parseForm(req.body);
    const path = req.path.split('?')[0]!;
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && path === '/v1/payment_intents') {
      const id = `pi_${randomBytes(8).toString('hex')}`;
      const pi: FakeIntent = {
        id,
        object: 'payment_intent',
        amount: Number(params.amount),
        amount_capturable: 0,
        amount_received: 0,
        currency: String(params.currency),
        capture_method: String(params.capture_method ?? 'automatic'),
        status: 'requires_payment_method',
        client_secret: `${id}_secret_${randomBytes(6).toString('hex')}`,
        metadata: (params.metadata as Record<string, string>) ?? {},
        last_payment_error: null,
        cancellation_reason: null,
      };
      intents.set(id, pi);
      ops.push({ op: 'create', id });
      return answer(200, pi);
    }
    if ((m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const pi = intents.get(m[1]!);
      return pi
        ? sendJson(res, 200, pi)
        : sendJson(res, 404, err('resource_missing', 'No such payment_intent'));
    }
    if (
      (m = /^\/v1\/payment_intents\/([^/]+)\/(capture|cancel)$/.exec(path)) &&
      req.method === 'POST'
    ) {
      const pi = intents.get(m[1]!);
      if (!pi) return answer(404, err('resource_missing', 'No such payment_intent'));
      if (m[2] === 'capture') {
        if (pi.status !== 'requires_capture') {
          return answer(
            400,
            err(
              'payment_intent_unexpected_state',
              `This PaymentIntent could not be captured because it has a status of ${pi.status}.`,
            ),
          );
        }
        Object.assign(pi, {
          status: 'succeeded',
          amount_received: pi.amount,
          amount_capturable: 0,
        });
        ops.push({ op: 'capture', id: pi.id });
        return answer(200, pi);
      }
      if (pi.status === 'succeeded' || pi.status === 'canceled') {
        return answer(
          400,
          err(
            'payment_intent_unexpected_state',
            `You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`,
          ),
        );
      }
      Object.assign(pi, {
        status: 'canceled',
        amount_capturable: 0,
        cancellation_reason: params.cancellation_reason ?? null,
      });
      ops.push({ op: 'cancel', id: pi.id });
      return answer(200, pi);
    }
    if (req.method === 'POST' && path === '/v1/refunds') {
      const pi = intents.get(String(params.payment_intent));
      if (!pi || pi.status !== 'succeeded')
        return answer(400, err('charge_not_refundable', 'Nothing to refund'));
      const refund = {
        id: `re_${randomBytes(8).toString('hex')}`,
        object: 'refund',
        payment_intent: pi.id,
        amount: pi.amount_received,
        status: 'succeeded',
      };
      refunds.push(refund);
      ops.push({ op: 'refund', id: pi.id });
      return answer(200, refund);
    }
    return sendJson(
      res,
      404,
      err('resource_missing', `Unrecognized request URL (${req.method}: ${path})`),
    );
  });
  const set = (id: string, patch: Partial<FakeIntent>) => {
    const pi = intents.get(id);
    if (!pi) throw new Error(`no intent ${id}`);
    return Object.assign(pi, patch);
  };
  return {
    ...server,
    intents,
    ops,
    refunds,
    authorize: (id) =>
      set(id, {
        status: 'requires_capture',
        amount_capturable: intents.get(id)!.amount,
        last_payment_error: null,
      }),
    fail: (id) =>
      set(id, {
        status: 'requires_payment_method',
        last_payment_error: { code: 'card_declined', message: 'Your card was declined.' },
      }),
    breakNext(n) {
      broken = n;
    },
  };
}

const signer = new Stripe('sk_test_signer');
let eventSeq = 0;

/** Posts a signed Stripe event about `intent` to the settlement webhook. */
export async function sendStripeEvent(
  baseUrl: string,
  secret: string,
  type: string,
  object: unknown,
  o: { id?: string; badSignature?: boolean } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
): Promise<{ status: number; body: any }> {
  const payload = JSON.stringify({
    id: o.id ?? `evt_${++eventSeq}_${randomBytes(4).toString('hex')}`,
    object: 'event',
    type,
    api_version: '2025-01-01',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object },
  });
  const header = signer.webhooks.generateTestHeaderString({
    payload,
    secret: o.badSignature ? 'whsec_wrong' : secret,
  });
  const res = await fetch(`${baseUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body: payload,
  });
  return { status: res.status, body: await res.json() };
}
