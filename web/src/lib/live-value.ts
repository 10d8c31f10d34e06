/**
 * `use:liveValue={n}` on an input that shows a value kept live by the page (a stream, a poll)
 * and that a person also types into. Pair it with `defaultValue={n}`, not `value={n}`: the
 * server renders it as the value; in the browser, Svelte's hydration then leaves alone what was
 * typed before the scripts arrived (a `value={n}` sets it back to n on hydration, so a count
 * typed on a slow phone was silently replaced by the old one and saved).
 *
 * A new live value replaces what the input shows only while the person has not changed it
 * since the last value shown: their typing wins over a change made elsewhere until they save
 * (the save's answer is the new value shown) or put the old value back.
 */
export function liveValue(node: HTMLInputElement, value: string | number) {
  let shown = node.defaultValue;
  const show = (next: string | number) => {
    const text = String(next);
    if (node.value === shown) node.value = text;
    shown = text;
  };
  show(value);
  return { update: show };
}

/**
 * For a field that `defaultValue` cannot serve (a `<textarea>`: Svelte does not server-render
 * its `defaultValue`), or a radio's `checked`: the value to give the field while the page
 * hydrates. What the person typed or picked in the server's page before the scripts arrived
 * (the field, found by `id`, differs from its default), or else `value`.
 *
 *   <textarea {id} value={typedValue(id, saved)}></textarea>
 *   <input type="radio" {id} checked={typedChecked(id, saved === n)} />
 *
 * Hydration would otherwise set the server's value back over the typing. Later updates (a
 * form's answer) read the field again, so what is shown stays what the person has there.
 */
export function typedValue(id: string, value: string): string {
  if (typeof document === 'undefined') return value;
  const el = document.getElementById(id);
  if (!(el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement)) return value;
  return el.value !== el.defaultValue ? el.value : value;
}

/** {@link typedValue} for a checkbox's or radio's `checked`. */
export function typedChecked(id: string, checked: boolean): boolean {
  if (typeof document === 'undefined') return checked;
  const el = document.getElementById(id);
  if (!(el instanceof HTMLInputElement)) return checked;
  return el.checked !== el.defaultChecked ? el.checked : checked;
}

/**
 * {@link typedValue} for a `<details>`'s `open`: one the person opened in the server's page
 * before the scripts arrived stays open (hydration would close it under their fingers).
 */
export function typedOpen(id: string, open: boolean): boolean {
  if (typeof document === 'undefined') return open;
  const el = document.getElementById(id);
  return (el instanceof HTMLDetailsElement && el.open) || open;
}
