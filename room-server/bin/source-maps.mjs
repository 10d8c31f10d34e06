// Stack traces of the bundled server name the source files and lines (room-server/src/*.ts),
// at almost no memory cost until a stack is actually formatted (in practice: an error is
// logged).
//
// start.mjs builds external source maps (no sources content) next to the bundle; `keep()`
// reads each, makes its source paths absolute and keeps it gzipped in memory (~350 KB; the
// bundle dir is removed after loading). `install()` sets `Error.prepareStackTrace`, which V8
// calls only when an error's `stack` is first read: frames in the bundle are then looked up in
// the map's VLQ mappings through a small index of checkpoints, made on first use and dropped
// after a minute without errors. Node's `--enable-source-maps` parses every map at startup
// (+6 MB idle here), and node:module's SourceMap decodes every mapping into objects (10 MB,
// 0.6 s for the main bundle): both too much for the room-server's memory budget.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Bundle file URL → its source map, gzipped JSON. */
const kept = new Map();
/** Bundle file URL → {mappings, sources, checkpoints}, while errors are being formatted. */
const decoded = new Map();
const DECODED_TTL_MS = 60_000;
/** A checkpoint every this many segments: a lookup decodes at most this many. */
const EVERY = 256;
const STRIDE = 7; // offset after the segment, gen line, gen column, source, line, column, has source

/** Keeps the source maps of every `*.mjs.map` in `outdir`. */
export function keep(outdir) {
  for (const name of readdirSync(outdir)) {
    if (!name.endsWith('.mjs.map')) continue;
    const payload = JSON.parse(readFileSync(join(outdir, name), 'utf8'));
    const file = pathToFileURL(join(outdir, name.slice(0, -'.map'.length))).href;
    const map = {
      sources: payload.sources.map((s) => resolve(outdir, s)),
      mappings: payload.mappings,
    };
    kept.set(file, gzipSync(JSON.stringify(map)));
  }
}

const B64 = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
}

/**
 * Walks `mappings` from a state; `visit(state)` is called after each segment and stops the
 * walk by returning false. state: [offset, genLine, genColumn, source, line, column, hasSource]
 */
function walk(mappings, state, visit) {
  const n = mappings.length;
  const v = [0, 0, 0, 0, 0];
  let i = state[0];
  while (i < n) {
    const c = mappings.charCodeAt(i);
    if (c === 59 /* ; */) {
      state[1]++;
      state[2] = 0;
      state[6] = 0;
      state[0] = ++i;
      if (!visit(state, true)) return;
      continue;
    }
    if (c === 44 /* , */) {
      i++;
      continue;
    }
    let k = 0;
    while (i < n) {
      const d = mappings.charCodeAt(i);
      if (d === 44 || d === 59) break;
      let value = 0;
      let shift = 0;
      let digit;
      do {
        digit = B64[mappings.charCodeAt(i++)];
        if (digit < 0 || digit === undefined) throw new Error('bad source map');
        value += (digit & 31) * 2 ** shift;
        shift += 5;
      } while (digit & 32);
      if (k < 5) v[k++] = value % 2 ? -Math.floor(value / 2) : value / 2;
    }
    state[2] += v[0];
    if (k >= 4) {
      state[3] += v[1];
      state[4] += v[2];
      state[5] += v[3];
    }
    state[6] = k >= 4 ? 1 : 0;
    state[0] = i;
    if (!visit(state, false)) return;
  }
}

function entry(file) {
  let e = decoded.get(file);
  if (!e) {
    const gz = kept.get(file);
    if (!gz) return null;
    const { sources, mappings } = JSON.parse(gunzipSync(gz).toString('utf8'));
    const points = [];
    let segments = 0;
    walk(mappings, [0, 0, 0, 0, 0, 0, 0], (state, newline) => {
      if (!newline && ++segments % EVERY === 0) points.push(...state);
      return true;
    });
    e = { sources, mappings, checkpoints: Int32Array.from(points), timer: null };
    decoded.set(file, e);
  }
  clearTimeout(e.timer);
  e.timer = setTimeout(() => decoded.delete(file), DECODED_TTL_MS).unref();
  return e;
}

/**
 * The source position of a position in a kept bundle file (1-based line and column, as in
 * stack traces), or null.
 */
export function lookup(file, line, column) {
  const e = entry(file);
  if (!e) return null;
  const wantLine = line - 1;
  const wantCol = column - 1;
  const cp = e.checkpoints;
  // the last checkpoint at or before the wanted position
  let lo = 0;
  let hi = cp.length / STRIDE - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const l = cp[mid * STRIDE + 1];
    const c = cp[mid * STRIDE + 2];
    if (l < wantLine || (l === wantLine && c <= wantCol)) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const state =
    at < 0 ? [0, 0, 0, 0, 0, 0, 0] : Array.from(cp.subarray(at * STRIDE, (at + 1) * STRIDE));
  let best = null;
  const take = (s) => (s[6] ? { source: s[3], line: s[4], column: s[5] } : null);
  if (at >= 0 && state[1] === wantLine) best = take(state);
  walk(e.mappings, state, (s, newline) => {
    if (s[1] > wantLine) return false;
    if (newline || s[1] < wantLine) return true;
    if (s[2] > wantCol) return false;
    best = take(s);
    return true;
  });
  if (!best) return null;
  return { source: e.sources[best.source], line: best.line + 1, column: best.column + 1 };
}

function frame(site) {
  const text = String(site);
  try {
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (!file || !line || !column || !kept.has(file)) return text;
    const e = lookup(file, line, column);
    if (!e) return text;
    const at = `${file}:${line}:${column}`;
    const to = `${e.source}:${e.line}:${e.column}`;
    return text.includes(at) ? text.replace(at, to) : `${text} [${to}]`;
  } catch {
    return text;
  }
}

/** Maps every stack formatted from now on. */
export function install() {
  Error.prepareStackTrace = (error, sites) => {
    let head;
    try {
      head = Error.prototype.toString.call(error);
    } catch {
      head = '<error>';
    }
    let out = head;
    for (const site of sites) out += `\n    at ${frame(site)}`;
    return out;
  };
}
