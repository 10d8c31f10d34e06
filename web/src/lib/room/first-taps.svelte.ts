/**
 * Taps on "add" made before the live room exists (issue 11 item 12, decision 0020). The
 * server-rendered first view shows the catalog and cart while Yjs is still on its way; a tap
 * there is kept — first by the page head's inline script (`first-taps.inline.js`, before any
 * script file has run), then by the hydrated page — in `sessionStorage`
 * (`patungan:taps:<room>`, so a reload keeps it too), shown on the product's card, and added
 * to the shared cart by the live room once it has synced ({@link Taps.take}).
 */
import script from './first-taps.inline.js?raw';

declare global {
  interface Window {
    /** Skus tapped before the live room, in order (the inline script's and ours). */
    __patunganTaps?: string[];
    /** The hydrated page keeps the taps now; the inline script stops listening. */
    __patunganTapsOwned?: boolean;
  }
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The `<script>` for the room page's head (allowed by its hash, see svelte.config.js). */
export function firstTapsTag(roomId: string): string {
  return `<script data-room="${escapeAttr(roomId)}">${script}</script>`;
}

const keyOf = (roomId: string) => `patungan:taps:${roomId}`;

export class Taps {
  skus = $state<string[]>([]);

  constructor(readonly roomId: string) {
    // Set while hydrating, before any handler of ours can run: from now on a tap is ours.
    if (typeof window !== 'undefined') window.__patunganTapsOwned = true;
  }

  /**
   * Takes in the taps kept so far (the inline script's, or an earlier page's in this tab).
   * Called once the page is hydrated: hydrating with them would not match the server's HTML.
   */
  load(): void {
    let kept = window.__patunganTaps;
    if (!kept) {
      try {
        kept = JSON.parse(sessionStorage.getItem(keyOf(this.roomId)) ?? '[]') as string[];
      } catch {
        kept = [];
      }
    }
    this.skus = [...kept.filter((s) => typeof s === 'string'), ...this.skus];
    this.save();
  }

  count(sku: string): number {
    return this.skus.filter((s) => s === sku).length;
  }

  add(sku: string): void {
    this.skus.push(sku);
    this.save();
  }

  /** The taps, handed to the live room once; they are then forgotten here. */
  take(): string[] {
    const out = [...this.skus];
    this.skus = [];
    this.save();
    return out;
  }

  private save(): void {
    window.__patunganTaps = [...this.skus];
    try {
      if (this.skus.length) sessionStorage.setItem(keyOf(this.roomId), JSON.stringify(this.skus));
      else sessionStorage.removeItem(keyOf(this.roomId));
    } catch {
      // private mode: kept for this page only
    }
  }
}
