/**
 * One room's live connection in the browser: the Y.Doc, the stock y-websocket provider, the
 * IndexedDB copy that keeps offline edits across reloads, presence, the local undo manager, and
 * the connection state shown in the header. No Svelte here; `room-state.svelte.ts` wraps it.
 */
import * as Y from 'yjs';
import { WebsocketProvider, messageAuth, messageAwareness } from 'y-websocket';
import { IndexeddbPersistence } from 'y-indexeddb';
import { readAuthMessage } from 'y-protocols/auth';
import { encodeAwarenessUpdate } from 'y-protocols/awareness';
import type * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { linesMap, votesMap } from '@patungan/model';
import { tokenExpiry } from './token.ts';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

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
  /** WebSocket implementation (tests in Node pass `ws`); the browser's by default. */
  WebSocketPolyfill?: typeof WebSocket;
}

export interface ConnectionEvents {
  state: (s: ConnectionState) => void;
  synced: () => void;
  /** The room-server refused one of our writes; the document has already snapped back. */
  denied: (reason: string) => void;
}

type HandlerList = { [K in keyof ConnectionEvents]: Set<ConnectionEvents[K]> };

export class RoomConnection {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly idb: IndexeddbPersistence | null;
  /** Origin of every local transaction: the undo manager tracks only these. */
  readonly origin = { local: true };
  readonly undo: Y.UndoManager;
  state: ConnectionState = 'connecting';
  /** Has this page ever completed a sync with the server? */
  everSynced = false;
  token: string;
  private everConnected = false;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<void> | null = null;
  private destroyed = false;
  private handlers: HandlerList = { state: new Set(), synced: new Set(), denied: new Set() };

  constructor(private readonly opts: ConnectionOptions) {
    this.token = opts.token;
    const persist = opts.persist ?? typeof indexedDB !== 'undefined';
    this.idb = persist
      ? new IndexeddbPersistence(`patungan-room:${opts.roomId}:${opts.memberId}`, this.doc)
      : null;
    this.provider = new WebsocketProvider(opts.serverUrl, opts.roomId, this.doc, {
      params: { token: this.token },
      connect: false,
      // Two tabs of one browser sync through the server like everyone else, so what a tab
      // shows is always what the server accepted.
      disableBc: true,
      ...(opts.WebSocketPolyfill ? { WebSocketPolyfill: opts.WebSocketPolyfill } : {}),
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
        this.emit('synced');
      }
      this.update();
    });
    this.provider.on('connection-close', () => {
      // A refused upgrade (expired token) looks like any other close to a browser WebSocket,
      // so renew a token that is near its end before the provider's next attempt.
      if (this.expiresWithin(60) || this.provider.wsUnsuccessfulReconnects >= 4)
        void this.refresh(true);
      this.update();
    });
    this.undo = new Y.UndoManager([linesMap(this.doc), votesMap(this.doc)], {
      trackedOrigins: new Set([this.origin]),
      captureTimeout: 300,
    });
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onOnline);
      window.addEventListener('offline', this.onOffline);
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
    if (this.isOffline()) {
      this.update();
      return;
    }
    if (this.expiresWithin(60)) {
      void this.refresh(true);
      return;
    }
    this.provider.connect();
    this.update();
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

  private update(): void {
    let s: ConnectionState;
    if (this.isOffline()) s = 'offline';
    else if (this.provider.wsconnected && this.provider.synced) s = 'connected';
    else if (!this.everConnected) s = 'connecting';
    else s = 'reconnecting';
    // Many failed attempts in a row: say so plainly rather than "reconnecting" forever.
    if (s === 'reconnecting' && this.provider.wsUnsuccessfulReconnects >= 6) s = 'offline';
    if (s !== this.state) {
      this.state = s;
      this.emit('state', s);
    }
  }

  private onOnline = (): void => {
    this.connect();
    this.update();
  };

  private onOffline = (): void => {
    // Chromium keeps an idle WebSocket open when it goes offline; drop it so that edits queue
    // locally (and in IndexedDB) and sync from scratch when the network returns.
    this.provider.disconnect();
    this.update();
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
    this.refreshTimer = setTimeout(() => void this.refresh(false), Math.min(inMs, 2 ** 31 - 1));
  }

  /**
   * Gets a fresh token. With `reconnect`, the provider is paused meanwhile and resumed with the
   * new token; otherwise the new token is used from the next connection on.
   */
  refresh(reconnect: boolean): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const run = async () => {
      let delay = 1000;
      for (;;) {
        if (this.destroyed) return;
        try {
          const token = await this.opts.refreshToken();
          this.token = token;
          this.provider.params = { ...this.provider.params, token };
          this.scheduleRefresh();
          return;
        } catch {
          // Offline or the server is restarting: try again, a little later each time.
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 30_000);
        }
      }
    };
    if (reconnect) this.provider.disconnect();
    this.refreshing = run().finally(() => {
      this.refreshing = null;
      if (reconnect && !this.destroyed && !this.isOffline()) this.provider.connect();
      this.update();
    });
    return this.refreshing;
  }

  destroy(): void {
    this.destroyed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('offline', this.onOffline);
    }
    this.undo.destroy();
    this.provider.destroy();
    void this.idb?.destroy();
    this.doc.destroy();
  }
}
