/**
 * The room's WebSocket, opened by the page's head before its scripts have arrived (issue 11
 * item 12: on a 300 ms, 400 kbit/s phone the upgrade and the first sync took two round trips
 * after ~86 KB of scripts). The server-rendered room page carries a tiny inline script
 * (`early-socket.inline.js`, allowed by its hash in the CSP) that opens the socket with the
 * page's join token, sends Yjs sync step 1 of an empty document and queues whatever arrives.
 * When the room's code connects (`RoomConnection`, through y-websocket), the provider's first
 * socket is that one: its `open` and the queued messages are replayed in order, so the room is
 * synced as soon as the code runs. Anything else (a client-side navigation, a socket that closed
 * meanwhile, another URL) gets a fresh socket as before.
 */
import script from './early-socket.inline.js?raw';

interface EarlySocket {
  url: string;
  ws: WebSocket;
  queue: MessageEvent[];
  /** The inline script has sent sync step 1 of an empty document. */
  sentStep1: boolean;
}

declare global {
  interface Window {
    __patunganEarlySocket?: EarlySocket;
  }
}

/** Sync step 1 of an empty document: [messageSync, step 1, state vector (1 byte: 0 clients)]. */
const EMPTY_STEP1 = [0, 0, 1, 0];

/** The URL y-websocket's provider builds for a room (`<server>/<room>?token=<token>`). */
export function roomSocketUrl(serverUrl: string, roomId: string, token: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/${roomId}?token=${encodeURIComponent(token)}`;
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The `<script>` for the room page's head that opens `url` early. */
export function earlySocketTag(url: string): string {
  return `<script data-ws="${escapeAttr(url)}">${script}</script>`;
}

/**
 * The socket the head opened for `url`, wrapped for y-websocket, once; null when there is none,
 * it is for another URL, or it is closing or closed (then it is closed for good).
 */
function takeEarlySocket(url: string): WebSocket | null {
  if (typeof window === 'undefined') return null;
  const early = window.__patunganEarlySocket;
  if (!early) return null;
  delete window.__patunganEarlySocket;
  const { ws } = early;
  if (early.url !== url || ws.readyState > WebSocket.OPEN) {
    ws.close();
    return null;
  }
  return new AdoptedSocket(early) as unknown as WebSocket;
}

/**
 * The early socket as y-websocket sees a WebSocket: the provider sets its handlers right after
 * construction; an open socket's `open` and the queued messages reach them in a microtask
 * (before any further message, which is a task). The provider's own sync step 1 is left out
 * when the head already sent the same one (the server would send the whole room twice).
 */
class AdoptedSocket {
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  private skipStep1: boolean;
  private readonly ws: WebSocket;

  constructor(early: EarlySocket) {
    const ws = (this.ws = early.ws);
    this.skipStep1 = early.sentStep1;
    ws.onmessage = (e) => this.onmessage?.(e);
    ws.onclose = (e) => this.onclose?.(e);
    ws.onerror = (e) => this.onerror?.(e);
    if (ws.readyState === WebSocket.OPEN) {
      queueMicrotask(() => {
        this.onopen?.(new Event('open'));
        for (const e of early.queue.splice(0)) this.onmessage?.(e);
      });
    } else {
      // Still connecting: the provider sends its own sync step 1 when it opens.
      this.skipStep1 = false;
      ws.onopen = (e) => this.onopen?.(e);
    }
  }

  get readyState(): number {
    return this.ws.readyState;
  }
  get binaryType(): BinaryType {
    return this.ws.binaryType;
  }
  set binaryType(t: BinaryType) {
    this.ws.binaryType = t;
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(data: Uint8Array<ArrayBuffer> | ArrayBuffer | string): void {
    if (this.skipStep1 && isEmptyStep1(data)) {
      this.skipStep1 = false;
      return;
    }
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

function isEmptyStep1(data: unknown): boolean {
  return (
    data instanceof Uint8Array &&
    data.length === EMPTY_STEP1.length &&
    data.every((b, i) => b === EMPTY_STEP1[i])
  );
}

/**
 * A WebSocket constructor for y-websocket that hands out the head's early socket for its URL
 * (the first connection of a server-rendered room page) and a fresh one otherwise.
 */
export function withEarlySocket(WS: typeof WebSocket): typeof WebSocket {
  function EarlyOrFresh(url: string, protocols?: string | string[]) {
    return takeEarlySocket(url) ?? new WS(url, protocols);
  }
  return EarlyOrFresh as unknown as typeof WebSocket;
}
