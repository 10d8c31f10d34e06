/**
 * One simulated room member: a raw `ws` socket speaking the y-websocket protocol around a
 * real Y.Doc. No WebsocketProvider and no Awareness instance (each would cost timers and
 * listeners per member); just the message framing of y-websocket, so a few thousand members
 * fit in one thread.
 *
 * Latency probe: every edit a member makes also rewrites that member's own `members` entry
 * (members may always write their own entry) with `probe: {t, u, s}` — send time (ms since
 * the epoch), the index of the URL the sender is connected to, and a sequence number — in
 * the same transaction, so it travels in the same update as the edit. Receivers read the probe
 * when the update arrives as a live update (not a catch-up sync after a reconnect).
 */
import * as Y from 'yjs';
import WebSocket from 'ws';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import * as authProtocol from 'y-protocols/auth';
import { membersMap, type RoomMember } from '@patungan/model';
import { nowMs, type Stats } from './stats.ts';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

export type MemberRole = 'organiser' | 'member';

export interface MemberSpec {
  roomId: string;
  roomIndex: number;
  memberId: string;
  name: string;
  role: MemberRole;
  urlIndex: number;
  url: string;
  sourceAddress?: string;
}

export interface Probe {
  /** Send time, ms since the epoch (fractional). */
  t: number;
  /** Index of the URL the sender is connected to. */
  u: number;
  /** The sender's probe sequence number. */
  s: number;
}

export type MemberState = 'idle' | 'connecting' | 'open' | 'synced' | 'closed';

/** Encodes one awareness update for a single client (y-protocols/awareness wire format). */
export function encodeAwareness(clientId: number, clock: number, state: unknown): Uint8Array {
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, 1);
  encoding.writeVarUint(inner, clientId);
  encoding.writeVarUint(inner, clock);
  encoding.writeVarString(inner, JSON.stringify(state));
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  return encoding.toUint8Array(e);
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_SYNC);
  syncProtocol.writeSyncStep1(e, doc);
  return encoding.toUint8Array(e);
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_SYNC);
  syncProtocol.writeUpdate(e, update);
  return encoding.toUint8Array(e);
}

function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

/** HTTP status from ws's "Unexpected server response: 401" error, if any. */
function statusOf(err: Error): number | null {
  const m = /Unexpected server response: (\d{3})/.exec(err.message);
  return m ? Number(m[1]) : null;
}

export interface MemberEvents {
  /** First sync of this connection finished. */
  onSynced?(m: SimMember, first: boolean): void;
  /** The socket closed; `planned` when we closed it. */
  onClosed?(m: SimMember, planned: boolean): void;
}

export class SimMember {
  readonly doc: Y.Doc;
  state: MemberState = 'idle';
  token: string | null = null;
  /** Connections that reached sync, this member's whole life. */
  syncs = 0;
  /** Connection attempts, this member's whole life. */
  attempts = 0;
  /** Consecutive failed attempts, for back-off. */
  failures = 0;
  /** Set when the server refused the token: never retry. */
  refused = false;
  private ws: WebSocket | null = null;
  private seq = 0;
  private awarenessClock = 0;
  private presenceState: unknown = null;
  private lastSeen = new Map<string, number>();
  /** True while a live update (not a catch-up sync) is being applied. */
  private live = false;
  private planned = false;
  private connectStarted = 0;

  constructor(
    readonly spec: MemberSpec,
    private readonly stats: Stats,
    private readonly events: MemberEvents = {},
  ) {
    // A guid given up front spares Y.Doc a uuidv4 (≈ 30 crypto.getRandomValues calls), which
    // was 6% of the generator's CPU when thousands of members are created.
    this.doc = new Y.Doc({ guid: `${spec.roomId}/${spec.memberId}` });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this) return;
      this.send(encodeUpdate(update));
    });
    membersMap(this.doc).observe((ev, tr) => {
      if (tr.origin !== this || !this.live) return;
      const now = nowMs();
      for (const key of ev.keysChanged) {
        if (key === this.spec.memberId) continue;
        const probe = (ev.target.get(key) as (RoomMember & { probe?: Probe }) | undefined)?.probe;
        if (!probe || typeof probe.t !== 'number' || typeof probe.s !== 'number') continue;
        if (probe.s <= (this.lastSeen.get(key) ?? -1)) continue;
        this.lastSeen.set(key, probe.s);
        this.stats.latency(now - probe.t, probe.u === this.spec.urlIndex);
      }
    });
  }

  get synced(): boolean {
    return this.state === 'synced';
  }

  /** Opens the socket; resolves once synced, closed or failed (never rejects). */
  connect(token: string): Promise<void> {
    if (this.state === 'connecting' || this.state === 'open' || this.state === 'synced') {
      return Promise.resolve();
    }
    this.token = token;
    this.state = 'connecting';
    this.planned = false;
    this.stats.counters.attempted++;
    this.connectStarted = nowMs();
    const { url, roomId, sourceAddress } = this.spec;
    return new Promise<void>((resolve) => {
      let opened = false;
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      const ws = new WebSocket(`${url}/${roomId}?token=${encodeURIComponent(token)}`, {
        perMessageDeflate: false,
        handshakeTimeout: 15_000,
        // An all-zero frame mask lets ws skip the random pool and the masking copy on every
        // send. Masks protect browsers' traffic through caching proxies; a load generator on
        // a network its operator controls does not need that, and the server accepts any mask.
        generateMask: zeroMask,
        ...(sourceAddress ? { localAddress: sourceAddress } : {}),
      });
      this.ws = ws;
      ws.on('open', () => {
        opened = true;
        this.failures = 0;
        this.state = 'open';
        this.stats.counters.opened++;
        this.stats.open++;
        this.stats.connect.record(Math.round((nowMs() - this.connectStarted) * 1000));
        this.send(encodeSyncStep1(this.doc));
        if (this.presenceState !== null) this.sendPresence();
      });
      ws.on('message', (data: Buffer) => {
        try {
          this.onMessage(data);
        } catch (err) {
          this.stats.error('protocol', `${this.spec.memberId}: ${(err as Error).message}`);
        }
        if (this.state === 'synced') done();
      });
      ws.on('error', (err: Error) => {
        if (opened) {
          this.stats.error('socket', `${this.spec.memberId}: ${err.message}`);
          return;
        }
        const status = statusOf(err);
        if (status === 401 || status === 403) this.refused = true;
        this.stats.counters.failed++;
        this.failures++;
        this.stats.error(
          status ? `http_${status}` : 'connect',
          `${this.spec.memberId}: ${err.message}`,
        );
      });
      ws.on('close', (code: number) => {
        if (this.ws === ws) this.ws = null;
        const wasOpen = opened;
        if (wasOpen) this.stats.open--;
        const planned = this.planned;
        if (wasOpen && !planned) {
          this.stats.counters.unexpectedCloses++;
          this.stats.error('closed', `${this.spec.memberId}: server closed the socket (${code})`);
        }
        this.state = 'closed';
        this.events.onClosed?.(this, planned);
        done();
      });
    });
  }

  private onMessage(data: Buffer): void {
    this.stats.counters.received++;
    const decoder = decoding.createDecoder(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC: {
        const sub = decoding.peekVarUint(decoder);
        const reply = encoding.createEncoder();
        encoding.writeVarUint(reply, MESSAGE_SYNC);
        if (sub === syncProtocol.messageYjsUpdate) {
          this.stats.counters.updates++;
          this.live = true;
        }
        try {
          syncProtocol.readSyncMessage(decoder, reply, this.doc, this);
        } finally {
          this.live = false;
        }
        if (encoding.length(reply) > 1) this.send(encoding.toUint8Array(reply));
        if (sub === syncProtocol.messageYjsSyncStep2 && this.state === 'open') {
          this.state = 'synced';
          this.syncs++;
          this.stats.sync.record(Math.round((nowMs() - this.connectStarted) * 1000));
          this.events.onSynced?.(this, this.syncs === 1);
        }
        break;
      }
      case MESSAGE_AWARENESS:
        this.stats.counters.awareness++;
        break;
      case MESSAGE_AUTH:
        authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => {
          this.stats.counters.refusedWrites++;
          this.stats.error('permission_denied', `${this.spec.memberId}: ${reason}`);
        });
        break;
      case MESSAGE_QUERY_AWARENESS:
        if (this.presenceState !== null) this.sendPresence();
        break;
      default:
        this.stats.error('protocol', `${this.spec.memberId}: unknown message type ${type}`);
    }
  }

  private send(bytes: Uint8Array): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(bytes);
  }

  /** Runs `edit` and stamps the probe in the same transaction, so one update carries both. */
  edit(edit: (doc: Y.Doc) => void): void {
    const me = this.spec.memberId;
    this.doc.transact(() => {
      edit(this.doc);
      const members = membersMap(this.doc);
      const entry = members.get(me) ?? { name: this.spec.name, joinedAt: Date.now() };
      const probe: Probe = { t: nowMs(), u: this.spec.urlIndex, s: ++this.seq };
      members.set(me, { ...entry, probe } as RoomMember);
    });
  }

  /** Sets and sends this member's presence (awareness) state. */
  presence(state: unknown): void {
    this.presenceState = state;
    if (this.state === 'open' || this.state === 'synced') this.sendPresence();
  }

  private sendPresence(): void {
    this.send(encodeAwareness(this.doc.clientID, ++this.awarenessClock, this.presenceState));
    this.stats.counters.presenceSent++;
  }

  /** Closes the socket on purpose (churn or the end of the run). */
  disconnect(): void {
    this.planned = true;
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  }

  /** Final close: socket and document. */
  destroy(): void {
    this.disconnect();
    this.ws?.terminate();
    this.doc.destroy();
  }
}
