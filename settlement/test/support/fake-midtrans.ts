/**
 * A local server that answers Snap (create transaction) and the Core API (status, capture,
 * cancel, expire, refund) like Midtrans does, so midtrans-client runs unmodified against it.
 * Tests play the customer with `pay`, then post a signed notification.
 */
import { createHash, randomBytes } from 'node:crypto';
import { localServer, sendJson, type LocalServer } from './http-server.ts';

export interface FakeTx {
  order_id: string;
  transaction_id: string;
  gross_amount: number;
  transaction_status: string;
  fraud_status?: string;
  status_code: string;
  payment_type: string;
  expiry: { duration: number; unit: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the request as sent
  body: Record<string, any>;
}

export interface FakeMidtrans extends LocalServer {
  snapBaseUrl: string;
  coreBaseUrl: string;
  transactions: Map<string, FakeTx>;
  ops: { op: string; orderId: string }[];
  pay(orderId: string, status: string, o?: { fraud?: string; paymentType?: string }): FakeTx;
  /** A signed notification body for the transaction's current state. */
  notification(
    orderId: string,
    serverKey: string,
    o?: { badSignature?: boolean },
  ): Record<string, string>;
}

export async function fakeMidtrans(serverKey: string): Promise<FakeMidtrans> {
  const transactions = new Map<string, FakeTx>();
  const ops: FakeMidtrans['ops'] = [];
  const server = await localServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    if (auth !== `Basic ${Buffer.from(`${serverKey}:`).toString('base64')}`) {
      return sendJson(res, 401, {
        status_code: '401',
        status_message: 'Unknown Merchant server_key/id',
      });
    }
    const path = req.path.split('?')[0]!;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the request as sent
    const body = req.body ? (JSON.parse(req.body) as Record<string, any>) : {};
    if (req.method === 'POST' && path === '/snap/v1/transactions') {
      const td = body.transaction_details ?? {};
      const items: { price: number; quantity: number }[] = body.item_details ?? [];
      const errors: string[] = [];
      if (typeof td.order_id !== 'string' || td.order_id.length > 50)
        errors.push('transaction_details.order_id too long');
      if (!Number.isInteger(td.gross_amount))
        errors.push('transaction_details.gross_amount must be an integer');
      if (items.reduce((a, i) => a + i.price * i.quantity, 0) !== td.gross_amount) {
        errors.push('transaction_details.gross_amount is not equal to the sum of item_details');
      }
      if (transactions.has(td.order_id))
        errors.push('transaction_details.order_id has already been taken');
      if (errors.length) return sendJson(res, 400, { error_messages: errors });
      const token = randomBytes(12).toString('hex');
      transactions.set(td.order_id, {
        order_id: td.order_id,
        transaction_id: `tx-${randomBytes(6).toString('hex')}`,
        gross_amount: td.gross_amount,
        transaction_status: 'created',
        status_code: '404',
        payment_type: '',
        expiry: body.expiry,
        body,
      });
      ops.push({ op: 'create', orderId: td.order_id });
      return sendJson(res, 201, {
        token,
        redirect_url: `https://app.sandbox.midtrans.com/snap/v4/redirection/${token}`,
      });
    }
    if (req.method === 'POST' && path === '/v2/capture') {
      const tx = [...transactions.values()].find((t) => t.transaction_id === body.transaction_id);
      if (!tx || tx.transaction_status !== 'authorize') {
        return sendJson(res, 200, {
          status_code: '412',
          status_message: 'Merchant cannot modify the status of the transaction',
        });
      }
      Object.assign(tx, {
        transaction_status: 'capture',
        fraud_status: 'accept',
        status_code: '200',
      });
      ops.push({ op: 'capture', orderId: tx.order_id });
      return sendJson(res, 200, view(tx));
    }
    const m = /^\/v2\/([^/]+)\/(status|cancel|expire|refund)$/.exec(path);
    const tx = m ? transactions.get(decodeURIComponent(m[1]!)) : undefined;
    if (!m || !tx || tx.transaction_status === 'created') {
      return sendJson(res, 200, {
        status_code: '404',
        status_message: "Transaction doesn't exist.",
      });
    }
    const op = m[2]!;
    if (op === 'status') return sendJson(res, 200, view(tx));
    const can: Record<string, string[]> = {
      cancel: ['authorize', 'capture', 'pending'],
      expire: ['pending'],
      refund: ['capture', 'settlement'],
    };
    if (!can[op]!.includes(tx.transaction_status)) {
      return sendJson(res, 200, {
        status_code: '412',
        status_message: `Cannot ${op} a ${tx.transaction_status} transaction`,
      });
    }
    tx.transaction_status = op === 'cancel' ? 'cancel' : op === 'expire' ? 'expire' : 'refund';
    tx.status_code = op === 'expire' ? '407' : '200';
    ops.push({ op, orderId: tx.order_id });
    return sendJson(res, 200, view(tx));
  });
  function view(tx: FakeTx) {
    return {
      status_code: tx.status_code,
      order_id: tx.order_id,
      transaction_id: tx.transaction_id,
      gross_amount: `${tx.gross_amount}.00`,
      currency: 'IDR',
      payment_type: tx.payment_type,
      transaction_status: tx.transaction_status,
      ...(tx.fraud_status ? { fraud_status: tx.fraud_status } : {}),
    };
  }
  return {
    ...server,
    snapBaseUrl: `${server.url}/snap/v1`,
    coreBaseUrl: server.url,
    transactions,
    ops,
    pay(orderId, status, o = {}) {
      const tx = transactions.get(orderId);
      if (!tx) throw new Error(`no transaction ${orderId}`);
      tx.transaction_status = status;
      tx.payment_type =
        o.paymentType ??
        (status === 'authorize' || status === 'capture' ? 'credit_card' : 'bank_transfer');
      tx.status_code = status === 'pending' ? '201' : status === 'deny' ? '202' : '200';
      if (o.fraud) tx.fraud_status = o.fraud;
      else if (tx.payment_type === 'credit_card') tx.fraud_status = 'accept';
      return tx;
    },
    notification(orderId, key, o = {}) {
      const v = view(transactions.get(orderId)!);
      const signature = createHash('sha512')
        .update(v.order_id + v.status_code + v.gross_amount + (o.badSignature ? 'wrong' : key))
        .digest('hex');
      return { ...v, signature_key: signature, transaction_time: new Date().toISOString() };
    },
  };
}
