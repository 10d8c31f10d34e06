/**
 * The room page's state: a reactive mirror of the Yjs document plus the actions the UI takes.
 * Every write goes through `@patungan/model` with this client's origin (so undo sees only our
 * own changes), and every refused or impossible write becomes a notice the user can read.
 */
import {
  RoomError,
  addComment,
  addLine,
  initRoom,
  joinMember,
  memberOrder,
  metaMap,
  readComments,
  readLines,
  recordActivity,
  readMembers,
  readMeta,
  readSettlement,
  readVotes,
  removeLine,
  setLineNote,
  setLineQty,
  setLineSharedWith,
  setMemberMethod,
  setMeta,
  setPaysOverage,
  vote as castVote,
  type CartLine,
  type PaymentMethod,
  type RoomComment,
  type RoomMember,
  type RoomMeta,
  type RoomSettlement,
  type SplitConfig,
} from '@patungan/model';
import type { MessageKey, Params } from '$lib/i18n/translate.ts';
import { ActivityFeed, diffActivity, snapshotForActivity, type ActivityEntry } from './activity.ts';
import { ProductCache, type Product } from './catalog.ts';
import { MembershipEnded, RoomConnection, type ConnectionState } from './connection.ts';
import { colourFor, readPeers, sameView, type Peer, type View } from './presence.ts';
import {
  previewAdd,
  summarise,
  type BudgetWarning,
  type SplitInputs,
  type SplitSummary,
} from './split-panel.ts';

export interface RoomPageData {
  room: {
    id: string;
    code: string;
    name: string;
    currency: string;
    organiserId: string;
    deadline: string | null;
    budget: number | null;
    inviteUrl: string;
  };
  me: { id: string; name: string; role: 'organiser' | 'member'; guest: boolean };
  token: string;
  roomServerUrl: string;
}

export interface Notice {
  id: number;
  tone: 'info' | 'warn' | 'error';
  key: MessageKey;
  params?: Params;
}

let noticeSeq = 0;
/** How long a notice stays on screen unless dismissed. */
const NOTICE_MS = 15_000;

export class Room {
  readonly conn: RoomConnection;
  readonly feed: ActivityFeed;
  readonly products: ProductCache;
  private scheduled = false;
  private offs: (() => void)[] = [];

  meta = $state<RoomMeta | null>(null);
  members = $state<Record<string, RoomMember>>({});
  order = $state<string[]>([]);
  lines = $state<CartLine[]>([]);
  votes = $state<Record<string, { score: number; byMember: Record<string, number> }>>({});
  comments = $state<RoomComment[]>([]);
  settlement = $state<RoomSettlement>({});
  connection = $state<ConnectionState>('connecting');
  /** When the next reconnect attempt is due (ms since the epoch), or null. */
  retryAt = $state<number | null>(null);
  synced = $state(false);
  /**
   * No longer a member and the connection ended for good (connection state `ended`): `left`
   * when this page asked to leave, `removed` otherwise. The page is then read-only.
   */
  ended = $state<'left' | 'removed' | null>(null);
  /** This page asked to leave the room (lifecycle.ts), so an end is ours, not a removal. */
  leaving = false;
  peers = $state<Peer[]>([]);
  activity = $state<ActivityEntry[]>([]);
  notices = $state<Notice[]>([]);
  canUndo = $state(false);
  canRedo = $state(false);
  /** Bumped whenever a product arrives in the cache, so prices re-derive. */
  productsVersion = $state(0);
  view = $state<View>({ kind: 'browse', q: '', category: '', page: 1 });
  following = $state<string | null>(null);
  finalising = $state(false);
  /** Names and addresses of stores seen so far (picker, pickup), for the feed and the outcome. */
  storeInfo = $state<Record<string, { name: string; address: string; city: string }>>({});

  get me(): RoomPageData['me'] {
    return this.data.me;
  }
  get currency(): string {
    return this.data.room.currency;
  }

  status = $derived(this.meta?.status ?? 'open');
  isOrganiser = $derived.by(
    () => (this.meta?.organiser ?? this.data.room.organiserId) === this.data.me.id,
  );
  cartOpen = $derived(this.status === 'open');
  /** Members in split order; before anyone has joined, at least ourselves. */
  memberIds = $derived.by(() => {
    // who left or was removed pays no share (the finalised snapshot says the same)
    const current = this.order.filter((id) => !this.members[id]?.removedAt);
    return current.length ? current : [this.data.me.id];
  });
  prices = $derived.by(() => {
    void this.productsVersion;
    const out: Record<string, { price: number; currency: string }> = {};
    for (const [sku, p] of this.products.bySku) out[sku] = { price: p.price, currency: p.currency };
    return out;
  });
  splitInputs = $derived.by<SplitInputs>(() => ({
    currency: this.currency,
    members: this.memberIds,
    lines: this.lines,
    prices: this.prices,
    split: this.meta?.split ?? { mode: 'equal' },
    budgets: this.meta?.budgets,
    defaultBudget: this.meta?.budget ?? this.data.room.budget,
    paysOverage: this.memberIds.filter((id) => this.members[id]?.paysOverage),
  }));
  summary = $derived<SplitSummary>(summarise(this.splitInputs));
  itemCount = $derived(this.lines.reduce((a, l) => a + l.qty, 0));

  constructor(
    readonly data: RoomPageData,
    opts: { persist?: boolean } = {},
  ) {
    this.conn = new RoomConnection({
      roomId: data.room.id,
      serverUrl: data.roomServerUrl,
      token: data.token,
      memberId: data.me.id,
      refreshToken: () => this.fetchToken(),
      ...(opts.persist === undefined ? {} : { persist: opts.persist }),
    });
    this.products = new ProductCache(() => this.productsVersion++);
    this.feed = new ActivityFeed(this.conn.doc);
  }

  /** Connects and starts mirroring the document. Browser only. */
  start(): void {
    const { conn } = this;
    conn.doc.on('afterTransaction', this.schedule);
    this.offs.push(() => conn.doc.off('afterTransaction', this.schedule));
    this.offs.push(this.feed.subscribe((e) => (this.activity = e)));
    this.offs.push(
      conn.on('state', (s) => {
        this.connection = s;
        if (s === 'ended') this.ended = this.leaving ? 'left' : 'removed';
      }),
    );
    this.offs.push(conn.on('retry', (at) => (this.retryAt = at)));
    this.offs.push(conn.on('synced', () => this.onSynced()));
    this.offs.push(conn.on('denied', (reason) => this.onDenied(reason)));
    const undoChanged = () => {
      this.canUndo = conn.undo.canUndo();
      this.canRedo = conn.undo.canRedo();
    };
    for (const ev of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) {
      conn.undo.on(ev, undoChanged);
      this.offs.push(() => conn.undo.off(ev, undoChanged));
    }
    const onAwareness = () => this.onPeers();
    conn.awareness.on('change', onAwareness);
    this.offs.push(() => conn.awareness.off('change', onAwareness));
    conn.awareness.setLocalState({
      user: { id: this.me.id, name: this.me.name, colour: colourFor(this.me.id) },
      view: $state.snapshot(this.view),
      following: null,
    });
    this.refresh();
    conn.connect();
    this.connection = conn.state;
  }

  /** "Try now" on the connection badge: skips the backoff wait. */
  reconnectNow(): void {
    this.conn.reconnectNow();
  }

  destroy(): void {
    for (const off of this.offs.splice(0)) off();
    this.feed.destroy();
    this.conn.destroy();
  }

  private schedule = (): void => {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.refresh();
    });
  };

  private refresh(): void {
    const doc = this.conn.doc;
    this.meta = readMeta(doc);
    this.members = readMembers(doc);
    this.order = memberOrder(doc);
    this.lines = readLines(doc);
    this.votes = readVotes(doc);
    this.comments = readComments(doc);
    this.settlement = readSettlement(doc);
    this.products.ensure(this.lines.map((l) => l.sku));
  }

  private onSynced(): void {
    const doc = this.conn.doc;
    const { room, me } = this.data;
    this.synced = true;
    try {
      if (me.role === 'organiser' && !metaMap(doc).has('status')) {
        initRoom(
          doc,
          {
            name: room.name,
            currency: room.currency,
            organiser: me.id,
            organiserName: me.name,
            ...(room.deadline ? { deadline: room.deadline } : {}),
            ...(room.budget ? { budget: room.budget } : {}),
          },
          this.conn.origin,
        );
      }
      // The room's budget lives in the document too, so settlement's split applies it; rooms
      // made before it did get it from their organiser's next visit.
      if (me.role === 'organiser' && room.budget && !metaMap(doc).has('budget')) {
        this.conn.transact(() => metaMap(doc).set('budget', room.budget));
      }
      joinMember(doc, me.id, me.name, Date.now(), this.conn.origin);
    } catch (err) {
      this.fail(err);
    }
  }

  private onDenied(reason: string): void {
    if (this.recording && /not writable/.test(reason)) {
      // A room-server without the history's write rule refuses our `activity` entries (and
      // only those): stop writing them on this page rather than show an error per edit.
      this.recording = false;
      return;
    }
    if (this.status !== 'open') this.notify('error', 'room.denied.locked');
    else this.notify('error', 'room.denied', { reason });
  }

  private onPeers(): void {
    this.peers = readPeers(this.conn.awareness);
    // Name what friends are looking at, even products we have not seen ourselves.
    this.products.ensure(
      this.peers.flatMap((p) => (p.view?.kind === 'product' ? [p.view.sku] : [])),
    );
    if (!this.following) return;
    const leader = this.peers.find((p) => p.user.id === this.following && !p.self);
    if (leader?.view && !sameView(leader.view, this.view)) {
      this.view = $state.snapshot(leader.view);
      this.publishView();
    }
  }

  private async fetchToken(): Promise<string> {
    const res = await fetch(`/rooms/${encodeURIComponent(this.data.room.id)}/token`, {
      method: 'POST',
    });
    // 403: no longer a member (docs/contracts.md "Leaving and removal"); the connection ends.
    if (res.status === 403) throw new MembershipEnded(`token ${res.status}`);
    if (!res.ok) throw new Error(`token ${res.status}`);
    const body = (await res.json()) as { token?: unknown };
    if (typeof body.token !== 'string') throw new Error('token missing');
    return body.token;
  }

  // ---- notices --------------------------------------------------------------------------------

  notify(tone: Notice['tone'], key: MessageKey, params?: Params): void {
    const n: Notice = { id: ++noticeSeq, tone, key, ...(params ? { params } : {}) };
    // The same message twice in a row is shown once.
    this.notices = [n, ...this.notices.filter((x) => x.key !== key)].slice(0, 4);
    // Read out at once (role=alert); kept on screen long enough to read, then tidied away.
    setTimeout(() => this.dismiss(n.id), NOTICE_MS);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  private fail(err: unknown): void {
    if (err instanceof RoomError)
      this.notify('error', 'room.error.write', { message: err.message });
    else throw err;
  }

  /** Cart writes need an open room; say why not instead of sending a write the server refuses. */
  private cartWritable(): boolean {
    if (this.cartOpen) return true;
    this.notify(
      'warn',
      this.status === 'locked' ? 'room.locked.tried' : 'room.locked.triedSettling',
    );
    return false;
  }

  /** Whether our writes append to the room's history (`activity`). */
  private recording = true;

  /**
   * Runs `fn` as one local transaction and, in the same transaction, appends to the room's
   * history what it changed, in our name: the entry travels (and is refused) with the change.
   */
  private write(fn: () => void, needsOpenCart = true): boolean {
    if (needsOpenCart && !this.cartWritable()) return false;
    try {
      const doc = this.conn.doc;
      this.conn.transact(() => {
        const before = this.recording ? snapshotForActivity(doc, this.me.id) : null;
        fn();
        if (before)
          recordActivity(
            doc,
            this.me.id,
            diffActivity(before, snapshotForActivity(doc, this.me.id), doc),
          );
      });
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  // ---- cart -----------------------------------------------------------------------------------

  /** My own plain line for a sku (not shared): adding again bumps its quantity. */
  ownLine(sku: string): CartLine | undefined {
    return this.lines.find(
      (l) => l.sku === sku && l.addedBy === this.me.id && !l.sharedWith?.length,
    );
  }

  qtyInCart(sku: string): number {
    return this.lines.filter((l) => l.sku === sku).reduce((a, l) => a + l.qty, 0);
  }

  /** Budget warnings adding `qty × sku` would cause, for the add buttons. */
  addWarnings(sku: string, qty = 1): BudgetWarning[] {
    return previewAdd(this.splitInputs, { sku, qty, addedBy: this.me.id });
  }

  addProduct(product: Pick<Product, 'sku'> & Partial<Product>, qty = 1): boolean {
    if (product.price !== undefined) this.products.remember([product as Product]);
    const own = this.ownLine(product.sku);
    const doc = this.conn.doc;
    return this.write(() => {
      if (own) setLineQty(doc, own.id, Math.min(9999, own.qty + qty), this.conn.origin);
      else addLine(doc, { sku: product.sku, qty, addedBy: this.me.id }, this.conn.origin);
    });
  }

  setQty(lineId: string, qty: number): boolean {
    const doc = this.conn.doc;
    return this.write(() => {
      if (qty < 1) removeLine(doc, lineId, this.conn.origin);
      else setLineQty(doc, lineId, qty, this.conn.origin);
    });
  }

  removeLine(lineId: string): boolean {
    return this.write(() => removeLine(this.conn.doc, lineId, this.conn.origin));
  }

  setNote(lineId: string, note: string): boolean {
    return this.write(() =>
      setLineNote(this.conn.doc, lineId, note.trim().slice(0, 500), this.conn.origin),
    );
  }

  setSharedWith(lineId: string, members: string[]): boolean {
    return this.write(() => setLineSharedWith(this.conn.doc, lineId, members, this.conn.origin));
  }

  vote(sku: string, value: 1 | -1): boolean {
    const mine = this.votes[sku]?.byMember[this.me.id];
    return this.write(() =>
      castVote(this.conn.doc, sku, this.me.id, mine === value ? 0 : value, this.conn.origin),
    );
  }

  comment(text: string, sku?: string): boolean {
    return this.write(
      () =>
        addComment(
          this.conn.doc,
          { by: this.me.id, text, ...(sku ? { sku } : {}) },
          this.conn.origin,
        ),
      false,
    );
  }

  undo(): void {
    this.recorded(() => this.conn.undo.undo());
  }

  redo(): void {
    this.recorded(() => this.conn.undo.redo());
  }

  /** Undo and redo write through the undo manager; their effect is recorded right after. */
  private recorded(fn: () => void): void {
    const doc = this.conn.doc;
    const before = this.recording ? snapshotForActivity(doc, this.me.id) : null;
    fn();
    if (!before) return;
    const actions = diffActivity(before, snapshotForActivity(doc, this.me.id), doc);
    if (actions.length) this.conn.transact(() => recordActivity(doc, this.me.id, actions));
  }

  // ---- organiser --------------------------------------------------------------------------------

  private organiserOnly(): boolean {
    if (this.isOrganiser) return true;
    this.notify('warn', 'room.denied.organiserOnly');
    return false;
  }

  setSplit(split: SplitConfig): boolean {
    if (!this.organiserOnly()) return false;
    return this.write(() => setMeta(this.conn.doc, 'split', split, this.conn.origin));
  }

  /** Per-member budgets (organiser, while the cart is open); an empty map clears them. */
  setBudgets(budgets: Record<string, number>): boolean {
    if (!this.organiserOnly()) return false;
    const meta = metaMap(this.conn.doc);
    return this.write(() =>
      Object.keys(budgets).length ? meta.set('budgets', budgets) : meta.delete('budgets'),
    );
  }

  /** My choice to pay the part of my share above my budget myself (only mine to make). */
  setPaysOverage(pays: boolean): boolean {
    return this.write(
      () => setPaysOverage(this.conn.doc, this.me.id, pays, this.conn.origin),
      false,
    );
  }

  setStore(storeId: string): boolean {
    if (!this.organiserOnly()) return false;
    return this.write(() => setMeta(this.conn.doc, 'storeId', storeId, this.conn.origin));
  }

  /** Who collects the order at the store (`meta.collector`; the organiser by default). */
  setCollector(memberId: string): boolean {
    if (!this.organiserOnly()) return false;
    return this.write(() => setMeta(this.conn.doc, 'collector', memberId, this.conn.origin));
  }

  setLocked(locked: boolean): boolean {
    if (!this.organiserOnly()) return false;
    if (this.status !== 'open' && this.status !== 'locked') return false;
    return this.write(
      () => setMeta(this.conn.doc, 'status', locked ? 'locked' : 'open', this.conn.origin),
      false,
    );
  }

  setMethod(method: PaymentMethod): boolean {
    return this.write(
      () => setMemberMethod(this.conn.doc, this.me.id, method, this.conn.origin),
      false,
    );
  }

  /**
   * Asks the room-server (through web's same-origin `POST /rooms/<id>/finalise`) to finalise:
   * it locks the room, snapshots the cart and creates the settlement, whose status then
   * arrives through the document. Returns an error message key.
   */
  async finalise(): Promise<{ ok: true } | { ok: false; message: string }> {
    if (!this.organiserOnly()) return { ok: false, message: 'organiser only' };
    this.finalising = true;
    try {
      // Same origin: web signs an organiser token for this session and forwards to the
      // room-server (whose HTTP routes are for services and answer no CORS).
      const body = JSON.stringify(this.meta?.storeId ? { storeId: this.meta.storeId } : {});
      const res = await fetch(`/rooms/${encodeURIComponent(this.data.room.id)}/finalise`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (res.ok) {
        if (this.recording)
          this.conn.transact(() =>
            recordActivity(this.conn.doc, this.me.id, [{ type: 'finalised' }]),
          );
        return { ok: true };
      }
      let message = `${res.status} ${res.statusText}`;
      try {
        const e = (await res.json()) as { error?: { message?: string } | string; message?: string };
        message =
          (typeof e.error === 'string' ? e.error : e.error?.message) ?? e.message ?? message;
      } catch {
        // keep the status line
      }
      return { ok: false, message };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    } finally {
      this.finalising = false;
    }
  }

  /**
   * Settlement's member actions, through web (same origin, our session; web signs our join
   * token and settlement checks it): cover a friend's open share, or pay our own another way.
   */
  private async paymentAction(
    memberId: string,
    action: 'cover' | 'retry',
    method: PaymentMethod | undefined,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    const id = this.settlement.id;
    if (!id) return { ok: false, message: 'no settlement' };
    const url = `/rooms/${encodeURIComponent(this.data.room.id)}/settlements/${encodeURIComponent(id)}/payments/${encodeURIComponent(memberId)}/${action}`;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(method ? { method } : {}),
      });
      if (res.ok) return { ok: true };
      let message = `${res.status}`;
      try {
        message =
          ((await res.json()) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // keep the status
      }
      return { ok: false, message };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  }

  cover(memberId: string): Promise<{ ok: true } | { ok: false; message: string }> {
    return this.paymentAction(memberId, 'cover', this.members[this.me.id]?.method);
  }

  payAnotherWay(method: PaymentMethod): Promise<{ ok: true } | { ok: false; message: string }> {
    return this.paymentAction(this.me.id, 'retry', method);
  }

  // ---- presence ---------------------------------------------------------------------------------

  /** Navigates the catalog; a navigation of our own stops following. */
  go(view: View, byUser = true): void {
    this.view = view;
    if (byUser && this.following) this.follow(null);
    this.publishView();
  }

  private publishView(): void {
    this.conn.awareness.setLocalStateField('view', $state.snapshot(this.view));
  }

  follow(memberId: string | null): void {
    this.following = memberId;
    this.conn.awareness.setLocalStateField('following', memberId);
    if (memberId) this.onPeers();
  }

  nameOf(memberId: string | null | undefined): string {
    if (!memberId) return '';
    return (
      this.members[memberId]?.name ??
      this.peers.find((p) => p.user.id === memberId)?.user.name ??
      memberId
    );
  }

  rememberStores(
    stores: readonly { id: string; name: string; address: string; city: string }[],
  ): void {
    let changed = false;
    const next = { ...this.storeInfo };
    for (const s of stores) {
      if (next[s.id]?.name === s.name) continue;
      next[s.id] = { name: s.name, address: s.address, city: s.city };
      changed = true;
    }
    if (changed) this.storeInfo = next;
  }

  storeName(id: string): string {
    return this.storeInfo[id]?.name ?? id;
  }

  productName(sku: string): string {
    void this.productsVersion;
    return this.products.bySku.get(sku)?.name ?? sku;
  }
}
