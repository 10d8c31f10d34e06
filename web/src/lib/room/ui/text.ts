/**
 * Text helpers for the room's phone UI that must respect what a person sees as one character
 * (a grapheme: an emoji with its modifiers, a letter with its accents), not UTF-16 code units.
 */

let segmenter: Intl.Segmenter | null = null;

/** The user-perceived characters of `text`. */
export function graphemes(text: string): string[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return [...segmenter.segment(text)].map((s) => s.segment);
}

/**
 * Up to two initials for an avatar: the first grapheme of the first and of the last word,
 * upper-cased ("Budi Santoso" → "BS", "Budi 😀" → "B😀", "Ärzte Ölz" → "ÄÖ"); "?" when empty.
 */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/u).filter(Boolean);
  const first = (w: string | undefined) => (w ? (graphemes(w)[0] ?? '') : '');
  const a = first(words[0]) || '?';
  const b = words.length > 1 ? first(words[words.length - 1]) : '';
  return (a + b).toLocaleUpperCase();
}

/** The first word of a name, for the small label under an avatar on a phone. */
export function firstName(name: string): string {
  return name.trim().split(/\s+/u)[0] ?? name;
}
