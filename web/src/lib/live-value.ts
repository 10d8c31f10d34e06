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
