// The signed-in home page's one script (the page itself ships none: `csr = false`, issue 11
// item 12). Fills the create form's time zone, keeps the budget hint's currency in step with the
// picker, and polls /api/me/live: when the rooms (status, member count) or the inbox changed,
// it fetches the page again and swaps in the parts marked `data-live-part`, so an invite, a
// friend request or a new member shows up without a reload. Allowed in the CSP by its SHA-256
// (svelte.config.js): change it freely.
(() => {
  const me = document.currentScript;
  const tz = document.querySelector('form[action="?/create"] input[name=tz]');
  if (tz) /** @type {HTMLInputElement} */ (tz).value = String(-new Date().getTimezoneOffset());
  const currency = /** @type {HTMLSelectElement | null} */ (document.getElementById('currency'));
  const hint = document.getElementById('budget-hint');
  let shown = currency?.value ?? '';
  currency?.addEventListener('change', () => {
    if (hint && shown) hint.textContent = (hint.textContent ?? '').replace(shown, currency.value);
    shown = currency.value;
  });
  // A date the server wrote in its own time zone (`data-date-text`), in the reader's, as the
  // i18n's dateTime() formats it (format.ts).
  const dates = () => {
    const f = new Intl.DateTimeFormat(document.documentElement.lang === 'en' ? 'en-GB' : 'id-ID', {
      dateStyle: 'medium',
      timeStyle: 'short',
    });
    for (const el of document.querySelectorAll('[data-date][data-date-text]')) {
      const { date, dateText } = /** @type {HTMLElement} */ (el).dataset;
      if (date && dateText)
        el.textContent = (el.textContent ?? '').replace(dateText, f.format(new Date(date)));
      el.removeAttribute('data-date-text');
    }
  };
  let seen = me?.dataset.live;
  // Each live part as the server wrote it: a part that comes back the same is left alone (and
  // the focus in it).
  const served = new Map();
  for (const part of document.querySelectorAll('[data-live-part]'))
    served.set(/** @type {HTMLElement} */ (part).dataset.livePart, part.innerHTML);
  dates();
  if (seen === undefined) return;
  const swap = async () => {
    const res = await fetch(location.pathname, { headers: { accept: 'text/html' } });
    if (!res.ok) return false;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    for (const part of document.querySelectorAll('[data-live-part]')) {
      const name = /** @type {HTMLElement} */ (part).dataset.livePart;
      const fresh = doc.querySelector(`[data-live-part="${name}"]`);
      if (fresh && fresh.innerHTML !== served.get(name)) {
        served.set(name, fresh.innerHTML);
        part.innerHTML = fresh.innerHTML;
      }
    }
    dates();
    return true;
  };
  const poll = async () => {
    try {
      const res = await fetch('/api/me/live', { headers: { accept: 'application/json' } });
      if (res.ok) {
        const now = JSON.stringify(await res.json());
        if (now !== seen && (await swap())) seen = now;
      }
    } catch {
      // Offline or the server restarting: try again on the next tick.
    }
    setTimeout(poll, document.hidden ? 15_000 : 4_000);
  };
  setTimeout(poll, 1_000);
})();
