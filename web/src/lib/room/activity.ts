/**
 * The activity feed ("Budi added 2 × Indomie Goreng"), derived from Yjs events rather than
 * written into the document: nothing extra to sync, nothing for the write rules to police.
 *
 * Who did something is read from the change itself where Yjs records it: a new line carries
 * `addedBy`; a changed field is an Item whose `id.client` is the writer's Yjs client id, which
 * `actorOf` maps to a member through awareness. A deletion records no author in Yjs, so it is
 * attributed to the transaction's other writers, or to "you" when it was local.
 */
import * as Y from 'yjs';
import {
  commentsArray,
  linesMap,
  metaMap,
  settlementMap,
  votesMap,
  type RoomComment,
  type SettlementStatus,
  type SplitMode,
} from '@patungan/model';

export type ActivityKind =
  | { type: 'added'; sku: string; qty: number }
  | { type: 'qty'; sku: string; from: number; to: number }
  | { type: 'removed'; sku: string; qty: number }
  | { type: 'note'; sku: string; note: string }
  | { type: 'shared'; sku: string; count: number }
  | { type: 'voted'; sku: string; value: number }
  | { type: 'commented'; sku?: string; text: string }
  | { type: 'status'; status: string }
  | { type: 'split'; mode: SplitMode }
  | { type: 'store'; storeId: string }
  | { type: 'settlement'; status: SettlementStatus };

export interface ActivityEntry {
  id: number;
  at: number;
  /** Member id, or null when Yjs does not say who. */
  actor: string | null;
  local: boolean;
  kind: ActivityKind;
}

interface LineShadow {
  sku: string;
  qty: number;
  note?: string;
}

export interface ActivityOptions {
  /** Member id behind a Yjs client id (from awareness), if known. */
  actorOf: (clientId: number) => string | null;
  /** This client's member id. */
  me: string;
  /** Keep at most this many entries (newest first). */
  limit?: number;
  now?: () => number;
}

/** Keys changed on `type` in this transaction (Yjs types `changed` too narrowly for plain maps). */
function changedKeys(tr: Y.Transaction, type: object): Set<string | null> | undefined {
  return (tr.changed as unknown as Map<object, Set<string | null>>).get(type);
}

function itemClient(map: Y.Map<unknown>, key: string): number | null {
  // Y.Map keeps the current Item per key; its id names the client that wrote it.
  const item = (map as unknown as { _map: Map<string, { id: { client: number } }> })._map.get(key);
  return item ? item.id.client : null;
}

export class ActivityFeed {
  entries: ActivityEntry[] = [];
  private seq = 0;
  private shadow = new Map<string, LineShadow>();
  /**
   * Last seen room-level values: the service side rewrites `meta.status` and `settlement.status`
   * with every settlement delivery, and a rewrite with the same value is not news.
   */
  private last = { status: '', split: '', storeId: '', settlement: '' };
  private listeners = new Set<(entries: ActivityEntry[]) => void>();
  private readonly limit: number;
  private readonly now: () => number;
  /** While true, changes update the shadow but make no entries (initial load, IndexedDB). */
  quiet = true;

  constructor(
    private readonly doc: Y.Doc,
    private readonly opts: ActivityOptions,
  ) {
    this.limit = opts.limit ?? 50;
    this.now = opts.now ?? Date.now;
    this.snapshotLines();
    this.snapshotRoom();
    doc.on('afterTransaction', this.onTransaction);
  }

  destroy(): void {
    this.doc.off('afterTransaction', this.onTransaction);
    this.listeners.clear();
  }

  subscribe(fn: (entries: ActivityEntry[]) => void): () => void {
    this.listeners.add(fn);
    fn(this.entries);
    return () => this.listeners.delete(fn);
  }

  private snapshotLines(): void {
    this.shadow.clear();
    linesMap(this.doc).forEach((m, id) => {
      const s = this.readLine(m);
      if (s) this.shadow.set(id, s);
    });
  }

  private snapshotRoom(): typeof this.last {
    const meta = metaMap(this.doc);
    const prev = this.last;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    this.last = {
      status: str(meta.get('status')),
      split: JSON.stringify(meta.get('split') ?? null),
      storeId: str(meta.get('storeId')),
      settlement: str(settlementMap(this.doc).get('status')),
    };
    return prev;
  }

  private readLine(m: unknown): LineShadow | null {
    if (!(m instanceof Y.Map)) return null;
    const sku = m.get('sku');
    const qty = m.get('qty');
    const note = m.get('note');
    if (typeof sku !== 'string' || typeof qty !== 'number') return null;
    return { sku, qty, ...(typeof note === 'string' ? { note } : {}) };
  }

  private onTransaction = (tr: Y.Transaction): void => {
    if (tr.changed.size === 0 && tr.changedParentTypes.size === 0) return;
    const out: Omit<ActivityEntry, 'id' | 'at'>[] = [];
    const local = tr.local;
    const writers = new Set<number>();
    tr.afterState.forEach((clock, client) => {
      if ((tr.beforeState.get(client) ?? 0) < clock) writers.add(client);
    });
    const fallback = (): string | null => {
      if (local) return this.opts.me;
      for (const c of writers) {
        const a = this.opts.actorOf(c);
        if (a) return a;
      }
      return null;
    };
    const actorFor = (map: Y.Map<unknown>, key: string): string | null => {
      if (local) return this.opts.me;
      const c = itemClient(map, key);
      return (c !== null && this.opts.actorOf(c)) || fallback();
    };

    const lines = linesMap(this.doc);
    const lineKeys = changedKeys(tr, lines);
    if (lineKeys) {
      for (const key of lineKeys) {
        if (key === null) continue;
        const now = lines.get(key);
        const before = this.shadow.get(key);
        const cur = this.readLine(now);
        if (cur && !before) {
          const addedBy = now?.get('addedBy');
          out.push({
            actor: typeof addedBy === 'string' ? addedBy : fallback(),
            local,
            kind: { type: 'added', sku: cur.sku, qty: cur.qty },
          });
        } else if (!cur && before) {
          out.push({
            actor: fallback(),
            local,
            kind: { type: 'removed', sku: before.sku, qty: before.qty },
          });
        }
      }
    }
    // Field changes inside existing lines.
    lines.forEach((m, id) => {
      const keys = changedKeys(tr, m);
      if (!keys || lineKeys?.has(id)) return;
      const before = this.shadow.get(id);
      const cur = this.readLine(m);
      if (!cur) return;
      if (keys.has('qty') && before && before.qty !== cur.qty) {
        out.push({
          actor: actorFor(m, 'qty'),
          local,
          kind: { type: 'qty', sku: cur.sku, from: before.qty, to: cur.qty },
        });
      }
      if (keys.has('note') && cur.note) {
        out.push({
          actor: actorFor(m, 'note'),
          local,
          kind: { type: 'note', sku: cur.sku, note: cur.note },
        });
      }
      if (keys.has('sharedWith')) {
        const sw = m.get('sharedWith');
        out.push({
          actor: actorFor(m, 'sharedWith'),
          local,
          kind: { type: 'shared', sku: cur.sku, count: Array.isArray(sw) ? sw.length : 0 },
        });
      }
    });

    const votes = votesMap(this.doc);
    const voteKeys = changedKeys(tr, votes);
    if (voteKeys) {
      for (const key of voteKeys) {
        if (key === null) continue;
        const i = key.lastIndexOf(':');
        if (i <= 0) continue;
        const v = votes.get(key);
        out.push({
          actor: key.slice(i + 1),
          local,
          kind: { type: 'voted', sku: key.slice(0, i), value: v ?? 0 },
        });
      }
    }

    const comments = commentsArray(this.doc);
    if (changedKeys(tr, comments)) {
      // New comments are the ones whose Items were created in this transaction.
      for (
        let item = (comments as unknown as { _start: Y.Item | null })._start;
        item;
        item = item.right
      ) {
        if (item.deleted) continue;
        const created = (tr.beforeState.get(item.id.client) ?? 0) <= item.id.clock;
        if (!created) continue;
        for (const c of item.content.getContent() as RoomComment[]) {
          out.push({
            actor: c.by,
            local,
            kind: { type: 'commented', text: c.text, ...(c.sku ? { sku: c.sku } : {}) },
          });
        }
      }
    }

    const meta = metaMap(this.doc);
    const prev = this.snapshotRoom();
    const now = this.last;
    if (now.status && now.status !== prev.status) {
      // `open ↔ locked` is the organiser's; the rest (and a reopened room) the service's.
      const byOrganiser =
        (prev.status === 'open' || prev.status === 'locked' || !prev.status) &&
        (now.status === 'open' || now.status === 'locked');
      out.push({
        actor: byOrganiser ? actorFor(meta, 'status') : null,
        local,
        kind: { type: 'status', status: now.status },
      });
    }
    const split = meta.get('split') as { mode?: SplitMode } | undefined;
    if (now.split !== prev.split && split?.mode) {
      out.push({
        actor: actorFor(meta, 'split'),
        local,
        kind: { type: 'split', mode: split.mode },
      });
    }
    if (now.storeId && now.storeId !== prev.storeId) {
      out.push({
        actor: actorFor(meta, 'storeId'),
        local,
        kind: { type: 'store', storeId: now.storeId },
      });
    }
    if (now.settlement && now.settlement !== prev.settlement) {
      out.push({
        actor: null,
        local: false,
        kind: { type: 'settlement', status: now.settlement as SettlementStatus },
      });
    }

    this.snapshotLines();
    if (this.quiet || out.length === 0) return;
    const at = this.now();
    const fresh = out.map((e) => ({ ...e, id: ++this.seq, at }));
    this.entries = [...fresh.reverse(), ...this.entries].slice(0, this.limit);
    for (const fn of this.listeners) fn(this.entries);
  };
}
