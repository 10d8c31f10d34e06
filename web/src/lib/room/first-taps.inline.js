// The room's first view (first-taps.svelte.ts): a tap on "add" made before the page's scripts
// have run is kept (sessionStorage) and shown on the card; the live room adds it to the shared
// cart once it has synced. The tab bar switches panels meanwhile. The hydrated page takes over
// (window.__patunganTapsOwned).
(function () {
  var me = /** @type {HTMLScriptElement} */ (document.currentScript);
  var key = 'patungan:taps:' + me.getAttribute('data-room');
  /** @type {string[]} */
  var q = window.__patunganTaps || [];
  if (!window.__patunganTaps) {
    try {
      q = JSON.parse(sessionStorage.getItem(key) || '[]');
    } catch (e) {
      q = [];
    }
    window.__patunganTaps = q;
  }
  // The cart tab's count, with the taps kept here (the server counted the cart's lines only).
  function paintCount() {
    var s = document.querySelector('[data-first-cart]');
    var label = s && s.getAttribute('data-first-label');
    if (!s || !label || window.__patunganTapsOwned) return;
    var n = Number(s.getAttribute('data-first-cart')) + q.length;
    s.textContent = label.replace('#', String(n));
  }
  if (q.length) document.addEventListener('DOMContentLoaded', paintCount);
  document.addEventListener('click', function (e) {
    if (window.__patunganTapsOwned) return;
    var el = /** @type {Element | null} */ (e.target);
    // The tab bar (a phone shows one panel at a time): the page's code reads the hash later.
    var tab = el && el.closest ? el.closest('[data-first-tab]') : null;
    if (tab) {
      var id = String(tab.getAttribute('data-first-tab'));
      history.replaceState(history.state, '', '#' + id);
      document.querySelectorAll('[data-first-tab]').forEach(function (t) {
        t.setAttribute('aria-pressed', String(t === tab));
      });
      document.querySelectorAll('.panel').forEach(function (p) {
        p.classList.toggle('shown', p.id === 'panel-' + id);
      });
      return;
    }
    var b = el && el.closest ? el.closest('[data-first-add]') : null;
    if (!b || /** @type {HTMLButtonElement} */ (b).disabled) return;
    q.push(String(b.getAttribute('data-first-add')));
    try {
      sessionStorage.setItem(key, JSON.stringify(q));
    } catch (e) {
      // private mode: the tap is still kept for this page
    }
    var card = b.closest('[data-testid=product]');
    var shown = card && card.querySelector('[data-testid=queued]');
    if (shown) /** @type {HTMLElement} */ (shown).hidden = false;
    paintCount();
  });
})();
