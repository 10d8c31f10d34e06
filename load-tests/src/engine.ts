/**
 * An engine runs a set of rooms in one thread: it opens their members' connections at the
 * ramp rate, drives the behaviour mix, and answers the controller's calls (stats, stop,
 * settle, close). The controller talks to it directly (one thread) or through
 * `worker.ts` (several); every method is async-safe and returns plain data for that reason.
 */
import {
  initRoom,
  joinMember,
  linesMap,
  readSettlement,
  setMeta,
  addLine,
  metaMap,
} from '@patungan/model';
import { SimMember, type MemberSpec } from './member.ts';
import { Rng } from './rng.ts';
import { Stats, nowMs, type FinalHistograms, type StatsDelta } from './stats.ts';
import { chatEdit, NAMES, presenceState, SHOPPING_MIX, shoppingEdit } from './behaviour.ts';
import {
  checkRoom,
  digestDoc,
  sameStateVectors,
  summariseChecks,
  type ConvergenceSummary,
} from './convergence.ts';
import { fetchingTokenSource, mintingTokenSource, type TokenSource } from './tokens.ts';
import type { Scenario } from './report-types.ts';

export interface EngineConfig {
  urls: string[];
  secret: string | null;
  tokenUrl: string | null;
  members: number;
  rate: number;
  presence: number;
  churn: number;
  /** Connections per second for this engine. */
  ramp: number;
  seed: number;
  scenario: Scenario;
  spread: 'members' | 'rooms';
  roomPrefix: string;
  sourceAddresses: string[];
  skus: string[];
  checkout: { storeId: string; sku: string; qty: number } | null;
  roomIndices: number[];
}

export const roomIdOf = (prefix: string, index: number) => `${prefix}-${index}`;

/** Longest back-off between reconnect attempts (y-websocket's client uses 2.5 s). */
const MAX_BACKOFF_MS = 5000;

class SimRoom {
  readonly members: SimMember[] = [];
  private timer: NodeJS.Timeout | null = null;
  active = false;
  /** Checkout: when the finalise request was sent (ms epoch); set once. */
  finaliseSentAt = 0;
  finaliseSeen = false;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly rng: Rng,
  ) {}

  get organiser(): SimMember {
    return this.members[0]!;
  }

  synced(): SimMember[] {
    return this.members.filter((m) => m.synced);
  }

  schedule(engine: Engine): void {
    if (!engine.loadRunning) return;
    const c = engine.config;
    const n = this.members.length;
    const lambda = c.rate + n * c.presence + (n * c.churn) / 60;
    if (lambda <= 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        engine.roomEvent(this, {
          edit: c.rate,
          presence: n * c.presence,
          churn: (n * c.churn) / 60,
        });
        this.schedule(engine);
      },
      this.rng.exp(lambda) * 1000,
    );
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

export class Engine {
  readonly stats = new Stats();
  private rooms: SimRoom[] = [];
  private queue: SimMember[] = [];
  private started = 0;
  private rampTimer: NodeJS.Timeout | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private tokens: TokenSource;
  private t0 = 0;
  loadRunning = false;
  private closing = false;

  constructor(readonly config: EngineConfig) {
    if (config.secret) this.tokens = mintingTokenSource(config.secret);
    else if (config.tokenUrl) this.tokens = fetchingTokenSource(config.tokenUrl);
    else throw new Error('no token source: give a secret or a token URL');
    const c = config;
    for (const index of c.roomIndices) {
      const room = new SimRoom(index, roomIdOf(c.roomPrefix, index), Rng.derive(c.seed, index));
      for (let j = 0; j < c.members; j++) {
        const urlIndex = (c.spread === 'rooms' ? index : index + j) % c.urls.length;
        const g = index * c.members + j;
        const spec: MemberSpec = {
          roomId: room.id,
          roomIndex: index,
          memberId: `m${j}`,
          name: `${NAMES[j % NAMES.length]} ${j}`,
          role: j === 0 ? 'organiser' : 'member',
          urlIndex,
          url: c.urls[urlIndex]!,
          ...(c.sourceAddresses.length
            ? { sourceAddress: c.sourceAddresses[g % c.sourceAddresses.length]! }
            : {}),
        };
        const m = new SimMember(spec, this.stats, {
          onSynced: (mm, first) => this.onSynced(room, mm, first),
          onClosed: (mm, planned) => this.onClosed(mm, planned),
        });
        room.members.push(m);
        this.queue.push(m);
      }
      this.rooms.push(room);
    }
  }

  /**
   * Mints every member's token before the run, so that signing (WebCrypto HMAC, a few hundred
   * microseconds each) does not compete with the ramp it would otherwise slow down and skew.
   * Tokens from a token URL stay lazy: fetching them all at once would be a burst on the
   * tester's token service.
   */
  async prepare(): Promise<void> {
    if (!this.config.secret) return;
    const all = this.rooms.flatMap((r) => r.members);
    for (let i = 0; i < all.length; i += 500) {
      await Promise.all(
        all.slice(i, i + 500).map(async (m) => {
          m.token ??= await this.tokens({
            roomId: m.spec.roomId,
            memberId: m.spec.memberId,
            name: m.spec.name,
            role: m.spec.role,
          });
        }),
      );
    }
  }

  /** Starts the ramp at `t0` (ms since the epoch, shared by every engine). */
  start(t0: number): void {
    this.t0 = t0;
    this.loadRunning = true;
    const step = () => {
      if (!this.loadRunning) return;
      const due = Math.min(
        this.queue.length,
        Math.floor(((nowMs() - this.t0) / 1000) * this.config.ramp) + 1,
      );
      while (this.started < due) {
        const m = this.queue[this.started++]!;
        void this.open(m);
      }
      if (this.started < this.queue.length) {
        this.rampTimer = setTimeout(step, Math.max(5, Math.min(100, 1000 / this.config.ramp)));
      } else this.rampTimer = null;
    };
    step();
  }

  private async open(m: SimMember): Promise<void> {
    if (this.closing) return;
    // Every attempt after a member's first is a reconnect: churn, a retry or the settle phase.
    if (m.attempts++ > 0) this.stats.counters.reconnects++;
    try {
      const token =
        m.token ??
        (await this.tokens({
          roomId: m.spec.roomId,
          memberId: m.spec.memberId,
          name: m.spec.name,
          role: m.spec.role,
        }));
      if (this.closing) return;
      await m.connect(token);
    } catch (err) {
      m.failures++;
      this.stats.counters.failed++;
      this.stats.error('token', `${m.spec.roomId}/${m.spec.memberId}: ${(err as Error).message}`);
      this.retryLater(m);
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private retryLater(m: SimMember): void {
    // Like the stock client, keep trying (with back-off) for as long as the run lasts; only a
    // refused token (401/403) is final.
    if (this.closing || m.refused) return;
    // Jitter spreads a wave of failed connections so the retries do not arrive as one storm.
    const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(m.failures, 5));
    this.later(backoff * (0.5 + Math.random() / 2), () => void this.open(m));
  }

  private onClosed(m: SimMember, planned: boolean): void {
    if (planned || this.closing) return;
    // Never opened (failed) or dropped by the server: a real client retries with back-off.
    this.retryLater(m);
  }

  private onSynced(room: SimRoom, m: SimMember, first: boolean): void {
    const c = this.config;
    const doc = m.doc;
    if (m.spec.role === 'organiser') {
      if (!metaMap(doc).has('status')) {
        initRoom(doc, {
          name: `Load room ${room.index}`,
          currency: 'IDR',
          organiser: m.spec.memberId,
          organiserName: m.spec.name,
        });
      } else joinMember(doc, m.spec.memberId, m.spec.name);
      if (c.checkout && first) {
        const { storeId, sku, qty } = c.checkout;
        if (metaMap(doc).get('storeId') !== storeId) setMeta(doc, 'storeId', storeId);
        if (![...linesMap(doc).values()].some((l) => l.get('sku') === sku)) {
          addLine(doc, { sku, qty, addedBy: m.spec.memberId });
        }
      }
    } else joinMember(doc, m.spec.memberId, m.spec.name);
    m.presence(presenceState(room.rng, m, c.skus));
    if (!room.active) {
      room.active = true;
      room.schedule(this);
    }
  }

  /** One Poisson event of a room: an edit, a presence update or a disconnect. */
  roomEvent(room: SimRoom, weights: { edit: number; presence: number; churn: number }): void {
    const rng = room.rng;
    const what = rng.weighted(weights);
    const ready = room.synced();
    if (ready.length === 0) return;
    const m = rng.pick(ready);
    if (what === 'presence') {
      m.presence(presenceState(rng, m, this.config.skus));
    } else if (what === 'churn') {
      m.disconnect();
      this.later(rng.int(500, 3000), () => void this.open(m));
    } else if (this.config.scenario === 'checkout') {
      this.stats.counters.edits[chatEdit(rng, m)]++;
    } else {
      let kind = rng.weighted(SHOPPING_MIX);
      let actor = m;
      if (kind === 'split') {
        if (room.organiser.synced) actor = room.organiser;
        else kind = 'comment';
      }
      const ids = room.members.map((x) => x.spec.memberId);
      try {
        this.stats.counters.edits[shoppingEdit(rng, actor, kind, this.config.skus, ids)]++;
      } catch (err) {
        this.stats.error('edit', `${room.id}: ${(err as Error).message}`);
      }
    }
  }

  tick(): StatsDelta {
    return this.stats.take();
  }

  /** Stops opening connections and generating load; open sockets stay for the settle phase. */
  stopLoad(): void {
    this.loadRunning = false;
    if (this.rampTimer) clearTimeout(this.rampTimer);
    this.rampTimer = null;
    for (const r of this.rooms) r.stop();
  }

  /**
   * Brings back members that churned, waits (at most `timeoutMs`) until every room's
   * connected members share one state vector, then compares digests.
   */
  async settle(timeoutMs: number): Promise<ConvergenceSummary> {
    this.stopLoad();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const startedAt = Date.now();
    const begun = new Set(this.queue.slice(0, this.started));
    for (const m of begun) {
      if (m.state === 'closed' && !m.refused) void this.open(m);
    }
    const deadline = startedAt + timeoutMs;
    const rooms = this.rooms.filter((r) => r.members.some((m) => begun.has(m)));
    for (;;) {
      const pending = rooms.some((r) => {
        const want = r.members.filter((m) => begun.has(m) && !m.refused);
        const ready = want.filter((m) => m.synced);
        return ready.length < want.length || !sameStateVectors(ready.map((m) => m.doc));
      });
      if (!pending || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const settleMs = Date.now() - startedAt;
    const checks = rooms.map((r) =>
      checkRoom(
        r.id,
        r.members.filter((m) => begun.has(m)).map((m) => (m.synced ? digestDoc(m.doc) : null)),
      ),
    );
    return summariseChecks(checks, this.rooms.length, settleMs);
  }

  /** Closes every socket (gracefully, then by force after `graceMs`) and returns histograms. */
  async close(graceMs = 2000): Promise<FinalHistograms> {
    this.closing = true;
    this.stopLoad();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const all = this.rooms.flatMap((r) => r.members);
    const closed = all.map(
      (m) =>
        new Promise<void>((resolve) => {
          if (m.state === 'closed' || m.state === 'idle') return resolve();
          const check = setInterval(() => {
            if (m.state === 'closed') {
              clearInterval(check);
              resolve();
            }
          }, 20);
          m.disconnect();
          setTimeout(() => {
            clearInterval(check);
            resolve();
          }, graceMs);
        }),
    );
    await Promise.all(closed);
    for (const m of all) m.destroy();
    const h = this.stats.histograms();
    return h;
  }

  /** Open sockets right now. */
  openCount(): number {
    return this.stats.open;
  }

  // ---- checkout ---------------------------------------------------------------------------

  /** Rooms whose organiser is synced and whose cart holds the contended line. */
  checkoutReady(): { ready: number; rooms: number } {
    const sku = this.config.checkout?.sku;
    const ready = this.rooms.filter(
      (r) =>
        r.organiser.synced &&
        [...linesMap(r.organiser.doc).values()].some((l) => l.get('sku') === sku),
    ).length;
    return { ready, rooms: this.rooms.length };
  }

  /**
   * Every ready room's organiser finalises at once (`POST /rooms/<id>/finalise`). The time
   * until `settlement.status` shows up in the organiser's document is recorded per room.
   */
  async finaliseAll(storeId: string): Promise<FinaliseResult[]> {
    const ready = this.rooms.filter((r) => r.organiser.synced && r.organiser.token);
    for (const r of ready) {
      const doc = r.organiser.doc;
      const watch = () => {
        if (r.finaliseSeen || !r.finaliseSentAt) return;
        const s = readSettlement(doc);
        if (s.status) {
          r.finaliseSeen = true;
          this.stats.finalise.record(Math.round((nowMs() - r.finaliseSentAt) * 1000));
        }
      };
      doc.getMap('settlement').observe(watch);
    }
    return Promise.all(
      ready.map(async (r): Promise<FinaliseResult> => {
        const url = r.organiser.spec.url.replace(/^ws/, 'http');
        r.finaliseSentAt = nowMs();
        try {
          const res = await fetch(`${url}/rooms/${r.id}/finalise`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${r.organiser.token}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify({ storeId }),
            signal: AbortSignal.timeout(30_000),
          });
          const body = (await res.json().catch(() => null)) as {
            settlementId?: string;
            error?: { code?: string; message?: string };
          } | null;
          return {
            roomId: r.id,
            status: res.status,
            settlementId: body?.settlementId ?? null,
            code: body?.error?.code ?? null,
            ms: nowMs() - r.finaliseSentAt,
          };
        } catch (err) {
          this.stats.error('finalise', `${r.id}: ${(err as Error).message}`);
          return {
            roomId: r.id,
            status: 0,
            settlementId: null,
            code: 'network',
            ms: nowMs() - r.finaliseSentAt,
          };
        }
      }),
    );
  }

  /** Each room's settlement as its organiser sees it. */
  settlements(): RoomSettlementView[] {
    return this.rooms.map((r) => {
      const s = readSettlement(r.organiser.doc);
      return {
        roomId: r.id,
        id: typeof s.id === 'string' ? s.id : null,
        status: typeof s.status === 'string' ? s.status : null,
        holdExpiresAt: typeof s.holdExpiresAt === 'string' ? s.holdExpiresAt : null,
        roomStatus: (metaMap(r.organiser.doc).get('status') as string | undefined) ?? null,
        lastError: s.lastError
          ? String(typeof s.lastError === 'object' ? JSON.stringify(s.lastError) : s.lastError)
          : null,
      };
    });
  }

  dispose(): void {
    this.stats.dispose();
  }
}

export interface FinaliseResult {
  roomId: string;
  status: number;
  settlementId: string | null;
  code: string | null;
  ms: number;
}

export interface RoomSettlementView {
  roomId: string;
  id: string | null;
  status: string | null;
  holdExpiresAt: string | null;
  roomStatus: string | null;
  lastError: string | null;
}
