/**
 * What the HTTP routes and the WebSocket upgrade share: reading a request target, JSON
 * answers, complete error responses written straight to a socket (where there is no
 * ServerResponse), and the last-resort handler for a bug that escaped a listener.
 */
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

/** Path and query of a request target, as the routes read them. */
export interface RequestTarget {
  path: string;
  query: URLSearchParams;
}

/**
 * Parses a request target (origin-form `/path?query`, absolute-form `http://host/path`, or
 * `*`) without throwing: null when it cannot be parsed — an absolute-form URL that is not one,
 * or a path with a percent-encoding that does not decode (answered with 400). A query with a
 * bad percent-encoding is read leniently (URLSearchParams), like browsers do.
 */
export function parseTarget(raw: string | undefined): RequestTarget | null {
  let path: string;
  let query: string;
  if (raw === undefined || raw === '' || raw === '*') {
    path = raw || '/';
    query = '';
  } else if (raw.startsWith('/')) {
    const q = raw.indexOf('?');
    path = q < 0 ? raw : raw.slice(0, q);
    query = q < 0 ? '' : raw.slice(q + 1);
  } else {
    // absolute-form, which a server must accept (RFC 9112 3.2.2)
    if (!URL.canParse(raw)) return null;
    const u = new URL(raw);
    if (!/^(https?|wss?):$/.test(u.protocol)) return null;
    path = u.pathname;
    query = u.search.slice(1);
  }
  if (path.includes('%') && decodeSegment(path) === null) return null;
  return { path, query: new URLSearchParams(query) };
}

/** `decodeURIComponent`, or null for a malformed percent-encoding. */
export function decodeSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  429: 'too_many_connections',
  500: 'internal',
  503: 'unavailable',
};

/**
 * A complete HTTP/1.1 error response written straight to a socket (upgrade refusals and
 * unparsable requests, where there is no ServerResponse).
 */
export function rawResponse(
  status: number,
  message: string,
  headers: Record<string, string | number> = {},
): string {
  const body = JSON.stringify({ error: { code: ERROR_CODES[status] ?? 'error', message } });
  let extra = '';
  for (const [k, v] of Object.entries(headers)) extra += `${k}: ${v}\r\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${extra}` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * The last resort of the request and upgrade listeners: an exception that escaped them (a
 * bug, never bad input — that is answered with a 4xx before) is logged with its stack, the
 * client gets a 500 or a closed socket, and the server keeps serving everyone else.
 */
export function lastResort(
  log: Logger,
  what: string,
  err: unknown,
  req: IncomingMessage,
  socket: Duplex,
): void {
  try {
    log.error({ err, url: req.url, method: req.method }, `${what} failed`);
    const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (res) {
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: 'internal', message: 'Internal Error' } });
      else res.destroy();
    } else if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) {
      socket.end(rawResponse(500, 'Internal Error'));
    } else {
      socket.destroy();
    }
  } catch {
    socket.destroy();
  }
}

// Not a closure on purpose: a listener created inside a request or upgrade handler would keep
// that handler's whole scope (the request, its headers, the head buffer) alive as long as the
// socket lives — about 1.5 KB per connection.
export function destroyOnError(this: Duplex): void {
  this.destroy();
}
