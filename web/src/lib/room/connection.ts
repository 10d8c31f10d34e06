/**
 * One room's live connection in the browser: the Y.Doc, the stock y-websocket provider, the
 * IndexedDB copy that keeps offline edits across reloads, presence, the local undo manager, and
 * the connection state shown in the header. No Svelte here; `room.svelte.ts` wraps it.
 * The first socket of a server-rendered page is the one its head opened (early-socket.ts).
 *
 * The IndexedDB copy (y-indexeddb) is loaded as its own chunk once the first sync is done (or
 * a connection closed before one, or CACHE_AFTER_MS passed), so it does not
 * compete with the room's first view on a slow phone. Nothing is lost meanwhile: on opening it
 * stores the whole document as it is then, edits made before it loaded included, then applies
 * what it had kept from earlier visits.
 */
import * as Y from 'yjs';
import { WebsocketProvider, messageAuth, messageAwareness } from 'y-websocket';
import type { IndexeddbPersistence } from 'y-indexeddb';
import { readAuthMessage } from 'y-protocols/auth';
import { encodeAwarenessUpdate } from 'y-protocols/awareness';
import type * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { linesMap, votesMap } from '@patungan/model';
import { withEarlySocket } from './early-socket.ts';
import { tokenExpiry } from './token.ts';

/** `ended`: the room refused us for good (we left or were removed); only a reload tries again. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'ended';

/**
 * Thrown by `refreshToken` when web refuses a token because we are no longer a member (403):
 * the connection then ends like after a 4401 close.
 */
export class MembershipEnded extends Error {}

/** Reconnect delays: full jitter over an exponential ceiling, forever. */
export interface Backoff {
  /** Ceiling of the first retry (default 500 ms). */
  baseMs: number;
  /** Largest ceiling (default 10 s). */
  capMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, capMs: 10_000 };

/**
 * The delay before retry number `attempt` (0-based): uniformly random in
 * [0, min(cap, base · 2^attempt)] ("full jitter"), so that every page of a restarted
 * room-server does not come back in the same instant.
 */
export function backoffDelay(attempt: number, b: Backoff = DEFAULT_BACKOFF, random = Math.random) {
  const ceiling = Math.min(b.capMs, b.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}

/** The IndexedDB copy opens at the latest this long after `connect()`, synced or not. */
const CACHE_AFTER_MS = 4_000;

/** A token is fetched again before a retry after a failed upgrade at most this often. */
const RENEW_AFTER_FAILURE_MS = 30_000;

export interface ConnectionOptions {
  roomId: string;
  /** ws(s)://host:port of the room-server. */
  serverUrl: string;
  token: string;
  /** Member id: the IndexedDB copy is per member, so two accounts on one browser never mix. */
  memberId: string;
  /** Fetches a fresh join token (web's `POST /rooms/<id>/token`). */
  refreshToken: () => Promise<string>;
  /** Keep a copy in IndexedDB (default true in a browser). */
  persist?: boolean;
  /** Refresh the token this many seconds before it expires (default 120). */
  refreshMarginSeconds?: number;
  /** Reconnect delays (default 0.5 s doubling up to 10 s, full jitter). */
  backoff?: Partial<Backoff>;
  /** WebSocket implementation (tests in Node pass `ws`); the browser's by default. */
  WebSocketPolyfill?: typeof WebSocket;
}

export interface ConnectionEvents {
  state: (s: ConnectionState) => void;
  /** When the next reconnect attempt is due (ms since the epoch), or null when none is waiting. */
  retry: (at: number | null) => void;
  synced: () => void;
  /** The room-server refused one of our writes; the document has already snapped back. */
  denied: (reason: string) => void;
  /**
   * The server closed for good (4400–4499; 4401: we left or were removed), or web refused a
   * token (403): the state is `ended` and nothing retries, "try now" included.
   */
  closedForGood: (code: number) => void;
}

type HandlerList = { [K in keyof ConnectionEvents]: Set<ConnectionEvents[K]> };

export class RoomConnection {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  /** The IndexedDB copy, once loaded (see openCache); null before that or without `persist`. */
  idb: IndexeddbPersistence | null = null;
  private readonly cacheName: string | null;
  private cacheOpening = false;
  private cacheTimer: ReturnType<typeof setTimeout> | null = null;
  /** Origin of every local transaction: the undo manager tracks only these. */
  readonly origin = { local: true };
  readonly undo: Y.UndoManager;
  state: ConnectionState = 'connecting';
  /** When the next reconnect attempt is due (ms since the epoch), or null. */
  retryAt: number | null = null;
  /** Has this page ever completed a sync with the server? */
  everSynced = false;
  token: string;
  private everConnected = false;
  /** Whether the page wants to be connected (after `connect()`, until `destroy()`). */
  private wanted = false;
  /** Attempts since the last successful sync: the backoff exponent. */
  private attempt = 0;
  /** Did the current socket open? A close before opening may be a refused (expired) token. */
  private opened = false;
  /** Closed for good (see `end`): never reconnects again; a reload builds a new connection. */
  private terminal = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private renewBeforeNext = false;
  private lastRenewAt = 0;
  private readonly backoff: Backoff;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<void> | null = null;
  private destroyed = false;
  private handlers: HandlerList = {
    state: new Set(),
    retry: new Set(),
    synced: new Set(),
    denied: new Set(),
    closedForGood: new Set(),
  };

  constructor(private readonly opts: ConnectionOptions) {
    this.token = opts.token;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    const persist = opts.persist ?? typeof indexedDB !== 'undefined';
    this.cacheName = persist ? `patungan-room:${opts.roomId}:${opts.memberId}` : null;
    this.provider = new WebsocketProvider(opts.serverUrl, opts.roomId, this.doc, {
      params: { token: this.token },
      connect: false,
      // Two tabs of one browser sync through the server like everyone else, so what a tab
      // shows is always what the server accepted.
      disableBc: true,
      // In a browser the first socket may be the one the page's head opened (early-socket.ts).
      ...(opts.WebSocketPolyfill
        ? { WebSocketPolyfill: opts.WebSocketPolyfill }
        : typeof WebSocket !== 'undefined'
          ? { WebSocketPolyfill: withEarlySocket(WebSocket) }
          : {}),
    });
    // The stock provider only logs a permission-denied auth message; we want to tell the user.
    this.provider.messageHandlers[messageAuth] = (_enc: encoding.Encoder, dec: decoding.Decoder) =>
      readAuthMessage(dec, this.doc, (_doc: unknown, reason: string) =>
        this.emit('denied', reason),
      );
    this.announceOnlyOurselves();
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') {
        this.everConnected = true;
        this.opened = true;
        // Peers still hold our last presence clock from before the drop, and ignore a state
        // announced with the same clock again; a fresh clock makes them see us at once.
        const state = this.provider.awareness.getLocalState();
        if (state) this.provider.awareness.setLocalState({ ...state });
      }
      if (status === 'disconnected') this.forgetPeersClocks();
      this.update();
    });
    this.provider.on('sync', (synced: boolean) => {
      if (synced) {
        this.everSynced = true;
        this.attempt = 0;
        // After this task: the synced room is on screen first.
        setTimeout(() => this.openCache(), 0);
        this.emit('synced');
      }
      this.update();
    });
    this.provider.on('closed', (event: { code?: number } | null) => this.end(event?.code ?? 0));
    this.provider.on('connection-close', () => {
      // Emitted from inside the provider's close path, with `provider.ws` still set: nothing
      // here may close the provider again (that recursed until the stack overflowed). The
      // provider's own retry (2.5 s at most, no jitter, no token renewal) is switched off; ours
      // is scheduled once the provider is done.
      this.provider.shouldConnect = false;
      const failedUpgrade = !this.opened;
      this.opened = false;
      queueMicrotask(() => this.onClosed(failedUpgrade));
    });
    this.undo = new Y.UndoManager([linesMap(this.doc), votesMap(this.doc)], {
      trackedOrigins: new Set([this.origin]),
      captureTimeout: 300,
    });
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onOnline);
      window.addEventListener('offline', this.onOffline);
    }
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this.onVisible);
    }
    this.scheduleRefresh();
  }

  /**
   * The stock provider re-broadcasts every awareness change it hears, other clients' included
   * (a relay meant for its BroadcastChannel, which we disable). The room-server treats presence
   * sent for another member's client as impersonation and closes the connection, so we announce
   * only our own client's state.
   */
  private announceOnlyOurselves(): void {
    const p = this.provider as unknown as {
      _awarenessUpdateHandler: (
        changes: { added: number[]; updated: number[]; removed: number[] },
        origin: unknown,
      ) => void;
    };
    const awareness = this.provider.awareness;
    awareness.off('update', p._awarenessUpdateHandler);
    p._awarenessUpdateHandler = ({ added, updated, removed }) => {
      const me = this.doc.clientID;
      if (!added.includes(me) && !updated.includes(me) && !removed.includes(me)) return;
      const ws = this.provider.ws;
      if (!this.provider.wsconnected || !ws || ws.readyState !== 1 /* OPEN */) return;
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, messageAwareness);
      encoding.writeVarUint8Array(enc, encodeAwarenessUpdate(awareness, [me]));
      ws.send(encoding.toUint8Array(enc));
    };
    awareness.on('update', p._awarenessUpdateHandler);
  }

  /**
   * On a drop the provider removes everyone else's presence but keeps their clocks, so when the
   * server re-sends the same states on reconnect they would be ignored as not newer (until each
   * peer's 15 s renewal). Forgetting the clocks of peers we no longer hold lets them back at once.
   */
  private forgetPeersClocks(): void {
    const a = this.provider.awareness;
    for (const id of [...a.meta.keys()]) {
      if (id !== a.clientID && !a.states.has(id)) a.meta.delete(id);
    }
  }

  /** Connects unless the browser says it is offline (then it connects when it comes back). */
  connect(): void {
    this.wanted = true;
    if (this.cacheName && !this.cacheOpening && !this.cacheTimer) {
      this.cacheTimer = setTimeout(() => this.openCache(), CACHE_AFTER_MS);
    }
    this.reconnectNow();
  }

  /**
   * Loads y-indexeddb and opens this member's copy of the room, once. A failed load (the
   * network dropped before the chunk arrived) is tried again on the next sync or close.
   */
  private openCache(): void {
    if (!this.cacheName || this.cacheOpening || this.destroyed) return;
    this.cacheOpening = true;
    if (this.cacheTimer) clearTimeout(this.cacheTimer);
    this.cacheTimer = null;
    const name = this.cacheName;
    import('y-indexeddb')
      .then(({ IndexeddbPersistence }) => {
        if (!this.destroyed) this.idb = new IndexeddbPersistence(name, this.doc);
      })
      .catch(() => {
        this.cacheOpening = false;
      });
  }

  /**
   * Tries at once (the network came back, the page became visible, the user asked): the
   * waiting retry is cancelled and the backoff starts over.
   */
  reconnectNow(): void {
    if (this.destroyed || !this.wanted || this.terminal) return;
    this.attempt = 0;
    this.clearRetry();
    void this.attemptNow();
  }

  get awareness() {
    return this.provider.awareness;
  }

  on<K extends keyof ConnectionEvents>(event: K, fn: ConnectionEvents[K]): () => void {
    (this.handlers[event] as Set<ConnectionEvents[K]>).add(fn);
    return () => (this.handlers[event] as Set<ConnectionEvents[K]>).delete(fn);
  }

  private emit<K extends keyof ConnectionEvents>(
    event: K,
    ...args: Parameters<ConnectionEvents[K]>
  ): void {
    for (const fn of this.handlers[event] as Set<(...a: Parameters<ConnectionEvents[K]>) => void>)
      fn(...args);
  }

  /** Runs `fn` as a local transaction (tracked by undo). */
  transact(fn: () => void): void {
    this.doc.transact(fn, this.origin);
  }

  private isOffline(): boolean {
    return typeof navigator !== 'undefined' && navigator.onLine === false;
  }

  /** The socket is up or on its way. */
  private get busy(): boolean {
    return this.provider.ws !== null;
  }

  /** One attempt: renew the token first when it is due or the last upgrade failed. */
  private async attemptNow(): Promise<void> {
    if (this.destroyed || !this.wanted || this.terminal || this.busy) return;
    if (this.isOffline()) {
      this.update();
      return;
    }
    const renew =
      this.expiresWithin(60) ||
      (this.renewBeforeNext && Date.now() - this.lastRenewAt > RENEW_AFTER_FAILURE_MS);
    if (renew) {
      this.renewBeforeNext = false;
      // A web that cannot answer right now does not stop the attempt: the token we hold may
      // still be good, and if not the next failure renews again.
      await this.refresh(false).catch(() => undefined);
      if (this.destroyed || !this.wanted || this.terminal || this.busy || this.retryTimer) return;
      if (this.isOffline()) return this.update();
    }
    this.provider.connect();
    this.update();
  }

  private onClosed(failedUpgrade: boolean): void {
    if (this.destroyed) return;
    // A browser WebSocket cannot tell a refused upgrade (401/403: an expired or revoked token)
    // from a server that is down; both close before opening. Renew the token before the next
    // try (at most every 30 s), which fixes the first and costs little in the second.
    if (failedUpgrade) this.renewBeforeNext = true;
    // No server to sync with: show (and keep) what this browser has from earlier visits.
    this.openCache();
    if (this.wanted && !this.terminal && !this.isOffline()) this.scheduleRetry();
    this.update();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.busy) return;
    const delay = backoffDelay(this.attempt, this.backoff);
    this.attempt++;
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = null;
      this.emit('retry', null);
      void this.attemptNow();
    }, delay);
    this.emit('retry', this.retryAt);
  }

  private clearRetry(): void {
    if (!this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = null;
    this.emit('retry', null);
  }

  /**
   * No longer a member (docs/contracts.md "Leaving and removal"): every later attempt would be
   * refused, so none is made. The document stays as last synced, for reading.
   */
  private end(code: number): void {
    if (this.terminal || this.destroyed) return;
    this.terminal = true;
    this.provider.shouldConnect = false;
    this.clearRetry();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    // Emitted from inside the provider's close path (`closed`) or after a token fetch: the
    // provider's socket is already gone or never opened, so this closes nothing.
    this.provider.disconnect();
    this.update();
    this.emit('closedForGood', code);
  }

  private update(): void {
    let s: ConnectionState;
    if (this.terminal) s = 'ended';
    else if (this.isOffline()) s = 'offline';
    else if (this.provider.wsconnected && this.provider.synced) s = 'connected';
    else if (!this.everConnected) s = 'connecting';
    else s = 'reconnecting';
    if (s !== this.state) {
      this.state = s;
      this.emit('state', s);
    }
  }

  private onOnline = (): void => {
    this.reconnectNow();
    this.update();
  };

  private onOffline = (): void => {
    // Chromium keeps an idle WebSocket open when it goes offline; drop it so that edits queue
    // locally (and in IndexedDB) and sync from scratch when the network returns.
    this.clearRetry();
    this.provider.disconnect();
    this.update();
  };

  private onVisible = (): void => {
    // A phone that comes back to the page should not wait out a backoff that grew meanwhile.
    if (document.visibilityState === 'visible' && !this.busy) this.reconnectNow();
  };

  private expiresWithin(seconds: number): boolean {
    const exp = tokenExpiry(this.token);
    return exp !== null && exp - Date.now() / 1000 < seconds;
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const exp = tokenExpiry(this.token);
    if (exp === null) return;
    const margin = this.opts.refreshMarginSeconds ?? 120;
    const inMs = Math.max(5_000, (exp - margin) * 1000 - Date.now());
    // setTimeout overflows past ~24.8 days; a room page is not open that long.
    this.refreshTimer = setTimeout(
      () => void this.refresh(false).catch(() => undefined),
      Math.min(inMs, 2 ** 31 - 1),
    );
  }

  /**
   * Gets a fresh token, used from the next connection on. With `reconnect`, the current
   * connection is dropped and made again with it. Rejects when web cannot give one now (offline,
   * restarting, no longer a member); the background renewal then tries again in 30 s.
   */
  refresh(reconnect: boolean): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const token = await this.opts.refreshToken();
          if (this.destroyed) return;
          this.token = token;
          this.lastRenewAt = Date.now();
          this.provider.params = { ...this.provider.params, token };
          this.scheduleRefresh();
        } catch (err) {
          if (err instanceof MembershipEnded) this.end(403);
          else if (!this.destroyed) this.retryRefreshLater();
          throw err;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    const p = this.refreshing;
    if (!reconnect) return p;
    return p.then(() => {
      if (this.destroyed || !this.wanted || this.terminal) return;
      // Outside any provider event: closing here cannot re-enter the provider's close path.
      this.provider.disconnect();
      this.reconnectNow();
    });
  }

  private retryRefreshLater(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(
      () => void this.refresh(false).catch(() => undefined),
      RENEW_AFTER_FAILURE_MS,
    );
  }

  destroy(): void {
    this.destroyed = true;
    this.wanted = false;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.cacheTimer) clearTimeout(this.cacheTimer);
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('offline', this.onOffline);
    }
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this.onVisible);
    }
    this.undo.destroy();
    this.provider.destroy();
    void this.idb?.destroy();
    this.doc.destroy();
  }
}
