/**
 * `GET /payment-methods` (docs/contracts.md "Payments window"): the payment methods this deployment
 * takes, so that rooms offer nothing a finalise would refuse. Public, like the catalog.
 *
 * Which methods: `PAYMENT_METHODS` (comma list of `local`, `stripe`, `midtrans`, `store`)
 * when set, else every configured provider (`stripe`, `midtrans`), `local` only when no
 * provider is configured, and `store` (pay at the store on pickup). A method whose provider
 * is not configured is never listed, whatever PAYMENT_METHODS says.
 */
import type { Hono } from 'hono';
import type { Ctx } from '../context.ts';
import { PAYMENT_METHODS as METHODS, type PaymentMethod as Method } from '@patungan/model';
import type { Env } from './support.ts';

export interface PaymentMethodItem {
  method: Method;
  label: string;
  /** Midtrans: the Snap channels (`enabled_payments`) the member chooses from. */
  channels?: string[];
}

type Lang = 'id' | 'en';

/** Readable names of Snap's channels, in the order they are offered. */
const CHANNEL_LABEL: Record<string, Record<Lang, string>> = {
  other_qris: { id: 'QRIS', en: 'QRIS' },
  gopay: { id: 'GoPay', en: 'GoPay' },
  shopeepay: { id: 'ShopeePay', en: 'ShopeePay' },
  bca_va: { id: 'transfer bank / VA', en: 'bank transfer / VA' },
  credit_card: { id: 'kartu', en: 'card' },
};
const VA = ['bca_va', 'bni_va', 'bri_va', 'permata_va', 'echannel', 'other_va', 'cimb_va'];

const LABEL: Record<Exclude<Method, 'midtrans'>, Record<Lang, string>> = {
  local: { id: 'Bayar online (demo)', en: 'Pay online (demo)' },
  stripe: { id: 'Kartu kredit / debit', en: 'Credit / debit card' },
  store: { id: 'Bayar di toko saat ambil', en: 'Pay at the store on pickup' },
};

function midtransLabel(channels: readonly string[], lang: Lang): string {
  const names: string[] = [];
  for (const c of channels) {
    const key = VA.includes(c) ? 'bca_va' : c;
    const name = CHANNEL_LABEL[key]?.[lang];
    if (name && !names.includes(name)) names.push(name);
  }
  return names.length ? names.join(', ') : 'Midtrans';
}

/**
 * The enabled methods, in offering order. `configured`: PAYMENT_METHODS split on commas
 * (unknown names are a startup error, so a typo never silently hides a method).
 */
export function enabledMethods(
  providers: Ctx['providers'],
  configured: readonly string[] | undefined,
): Method[] {
  const unknown = (configured ?? []).filter((m) => !(METHODS as readonly string[]).includes(m));
  if (unknown.length) {
    throw new Error(
      `PAYMENT_METHODS: unknown method ${unknown.join(', ')} (known: ${METHODS.join(', ')})`,
    );
  }
  const online = (['stripe', 'midtrans'] as const).filter((m) => providers[m]);
  const wanted: readonly string[] = configured?.length
    ? configured
    : [...online, ...(online.length === 0 ? ['local'] : []), 'store'];
  return METHODS.filter(
    (m) => wanted.includes(m) && (m === 'local' || m === 'store' || Boolean(providers[m])),
  ).sort((a, b) => wanted.indexOf(a) - wanted.indexOf(b));
}

export function methodItems(
  methods: readonly Method[],
  midtransChannels: readonly string[],
  lang: Lang,
): PaymentMethodItem[] {
  return methods.map((method) =>
    method === 'midtrans'
      ? { method, label: midtransLabel(midtransChannels, lang), channels: [...midtransChannels] }
      : { method, label: LABEL[method][lang] },
  );
}

export function paymentMethodRoutes(
  app: Hono<Env>,
  o: { methods: readonly Method[]; midtransChannels: readonly string[] },
): void {
  app.get('/payment-methods', (c) => {
    const lang: Lang = c.req.query('lang') === 'en' ? 'en' : 'id';
    c.header('cache-control', 'public, max-age=60');
    return c.json({
      items: methodItems(o.methods, o.midtransChannels, lang),
      // what a member who never chose gets (and what a disabled choice falls back to)
      default: o.methods.find((m) => m !== 'store') ?? o.methods[0] ?? 'store',
    });
  });
}
