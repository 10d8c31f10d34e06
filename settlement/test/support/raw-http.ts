/**
 * HTTP/1.1 over a bare TCP socket, for requests that fetch() refuses to send (malformed
 * request lines, bad percent-encodings, odd headers) and for bodies sent piece by piece.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** The status code of the first response, or 0 when the server closed without one. */
  status: number;
  head: string;
  headers: Record<string, string>;
  /** What arrived after the head (the first response's body, as far as it came). */
  body: string;
  /** Body bytes written before the answer's head arrived (or the socket closed). */
  sentBeforeAnswer: number;
}

/**
 * Sends `request` (head and optional inline body, written as given), then `body` in
 * `chunkSize` pieces (`pauseMs` apart; as chunked transfer coding when `chunked`) while no
 * answer has arrived. Resolves once a complete response head
 * has arrived plus whatever body came with it shortly after, or the socket closes; bounded
 * by `timeoutMs` (then it rejects).
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  o: {
    body?: Buffer;
    chunkSize?: number;
    chunked?: boolean;
    pauseMs?: number;
    timeoutMs?: number;
  } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let answered = false;
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = got.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      resolve({
        status: m ? Number(m[1]) : 0,
        head,
        headers,
        body: end < 0 ? '' : text.slice(end + 4),
        sentBeforeAnswer: sent,
      });
    };
    const timer = setTimeout(() => {
      done = true;
      sock.destroy();
      reject(new Error(`no answer within ${o.timeoutMs ?? 5000} ms`));
    }, o.timeoutMs ?? 5000);
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (!answered && got.includes('\r\n\r\n')) {
        answered = true;
        // the body of a small answer follows at once; a stream never ends, so do not wait
        setTimeout(finish, 50);
      }
    });
    sock.on('close', finish);
    sock.on('error', finish);
    sock.write(request);
    const body = o.body;
    if (!body) return;
    const size = o.chunkSize ?? 64 * 1024;
    const pump = () => {
      while (!answered && !done && sent < body.length) {
        const piece = body.subarray(sent, sent + size);
        sent += piece.length;
        const frame = o.chunked
          ? Buffer.concat([
              Buffer.from(`${piece.length.toString(16)}\r\n`),
              piece,
              Buffer.from('\r\n'),
            ])
          : piece;
        // one piece at a time, each after the kernel took the last and a pause: the server
        // sees the body arrive as a slow client sends it
        const next = () => (o.pauseMs ? setTimeout(pump, o.pauseMs) : setImmediate(pump));
        if (!sock.write(frame)) sock.once('drain', next);
        else next();
        return;
      }
      if (!answered && !done && o.chunked) sock.write('0\r\n\r\n');
    };
    sock.once('connect', () => setImmediate(pump));
  });
}
