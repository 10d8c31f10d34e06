/**
 * `lib0/logging` for the browser build, as much of it as Yjs uses (`print`, `warn` and the
 * colour marks): plain console output. lib0's own module keeps a virtual console for the DOM
 * and with it lib0/dom and lib0/schema (~3 KB brotli) in the room's first view on a phone
 * (issue 11 item 12). vite.config.ts points the bare `lib0/logging` import here.
 */
/** lib0's colour marks: print and warn leave them out. */
export const BOLD = Symbol('bold');
export const UNBOLD = Symbol('unbold');
export const BLUE = Symbol('blue');
export const GREY = Symbol('grey');
export const GREEN = Symbol('green');
export const RED = Symbol('red');
export const PURPLE = Symbol('purple');
export const ORANGE = Symbol('orange');
export const UNCOLOR = Symbol('uncolor');

const plain = (args: unknown[]) => args.filter((a) => typeof a !== 'symbol');

export const print = (...args: unknown[]): void => console.log(...plain(args));
export const warn = (...args: unknown[]): void => console.warn(...plain(args));
