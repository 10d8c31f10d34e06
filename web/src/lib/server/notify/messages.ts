/**
 * What each kind of notification says: the same record becomes the in-app line (in the
 * reader's language) and the push message (in the language the device subscribed with).
 */
import { translate, type Locale, type MessageKey } from '../../i18n/translate.ts';
import { formatMoneyIn } from '../../i18n/format.ts';

export const NOTIFICATION_KINDS = [
  'invite',
  'deadline',
  'share_due',
  'hold',
  'ready',
  'expired',
  'cancelled',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationRecord {
  id: string;
  kind: NotificationKind;
  roomId: string | null;
  params: Record<string, string | number>;
  createdAt: string;
  readAt: string | null;
}

export interface Rendered {
  title: string;
  body: string;
  /** Same-origin path the notification opens. */
  url: string;
}

export function render(
  n: Pick<NotificationRecord, 'kind' | 'roomId' | 'params'>,
  locale: Locale,
): Rendered {
  const p = n.params;
  const room = n.roomId ? `/rooms/${encodeURIComponent(n.roomId)}` : '/';
  const tr = (key: MessageKey, extra: Record<string, string | number> = {}) =>
    translate(locale, key, { ...p, ...extra });
  switch (n.kind) {
    case 'invite':
      return {
        title: tr('notify.invite.title'),
        body: tr('notify.invite.body'),
        url: typeof p.code === 'string' ? `/join/${encodeURIComponent(p.code)}` : room,
      };
    case 'deadline':
      return { title: tr('notify.deadline.title'), body: tr('notify.deadline.body'), url: room };
    case 'share_due': {
      const amount = formatMoneyIn(locale, {
        amount: Number(p.amount),
        currency: String(p.currency),
      });
      return {
        title: tr('notify.share_due.title'),
        body: tr('notify.share_due.body', { amount }),
        url: `${room}#pay`,
      };
    }
    case 'hold':
      return { title: tr('notify.hold.title'), body: tr('notify.hold.body'), url: `${room}#pay` };
    case 'ready':
      return {
        title: tr('notify.ready.title'),
        body: p.code ? tr('notify.ready.bodyCode') : tr('notify.ready.body'),
        url: `${room}#pay`,
      };
    case 'expired':
      return { title: tr('notify.expired.title'), body: tr('notify.expired.body'), url: room };
    case 'cancelled':
      return {
        title: tr('notify.cancelled.title'),
        body: p.names ? tr('notify.cancelled.body') : tr('notify.cancelled.bodyAllPaid'),
        url: room,
      };
  }
}
