/**
 * The room's panels that the first view on a phone does not show (cart, pay, activity), loaded
 * as separate chunks after the room has synced: the first view ships only what it renders.
 * One promise per page: every caller gets the same modules.
 */
import type CartPanel from '$lib/room/ui/CartPanel.svelte';
import type CheckoutPanel from '$lib/room/ui/CheckoutPanel.svelte';
import type SplitPanel from '$lib/room/ui/SplitPanel.svelte';
import type StorePicker from '$lib/room/ui/StorePicker.svelte';
import type ActivityPanel from '$lib/room/ui/ActivityPanel.svelte';
import type ChatPanel from '$lib/room/ui/ChatPanel.svelte';
import type BudgetPanel from '$lib/room/ui/BudgetPanel.svelte';
import type CoversPanel from '$lib/room/ui/CoversPanel.svelte';

export interface LaterPanels {
  CartPanel: typeof CartPanel;
  CheckoutPanel: typeof CheckoutPanel;
  SplitPanel: typeof SplitPanel;
  StorePicker: typeof StorePicker;
  ActivityPanel: typeof ActivityPanel;
  ChatPanel: typeof ChatPanel;
  BudgetPanel: typeof BudgetPanel;
  CoversPanel: typeof CoversPanel;
}

let loading: Promise<LaterPanels> | null = null;

export function loadLaterPanels(): Promise<LaterPanels> {
  loading ??= Promise.all([
    import('$lib/room/ui/CartPanel.svelte'),
    import('$lib/room/ui/CheckoutPanel.svelte'),
    import('$lib/room/ui/SplitPanel.svelte'),
    import('$lib/room/ui/StorePicker.svelte'),
    import('$lib/room/ui/ActivityPanel.svelte'),
    import('$lib/room/ui/ChatPanel.svelte'),
    import('$lib/room/ui/BudgetPanel.svelte'),
    import('$lib/room/ui/CoversPanel.svelte'),
  ]).then(([cart, checkout, split, store, activity, chat, budget, covers]) => ({
    CartPanel: cart.default,
    CheckoutPanel: checkout.default,
    SplitPanel: split.default,
    StorePicker: store.default,
    ActivityPanel: activity.default,
    ChatPanel: chat.default,
    BudgetPanel: budget.default,
    CoversPanel: covers.default,
  }));
  // A product's page (CatalogPanel imports it when one is opened) comes along, ready for then.
  void import('$lib/room/ui/ProductDetail.svelte').catch(() => undefined);
  // A failed load (offline) may be tried again on the next call.
  loading.catch(() => (loading = null));
  return loading;
}
