/**
 * A small log-linear ("HDR-style") histogram for latencies.
 *
 * Values are non-negative integers in a caller-chosen unit (we record microseconds). Below
 * 2^b every value has its own bucket; above, each power of two [2^k, 2^(k+1)) is cut into
 * 2^(b-1) equal buckets, so a bucket is never wider than 2^(1-b) of its values. With the
 * default b = 8 that is 1/128, and reporting a bucket's midpoint is within 0.4% of any value
 * in it. Memory is one Float64 per bucket (a few thousand for hours of microseconds), and
 * merging is adding arrays, so per-interval histograms from many workers add up exactly.
 */

export interface HistogramJson {
  /** Sub-bucket bits (`b` above). */
  bits: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  /** Sparse buckets: `[index, count, index, count, …]`. */
  buckets: number[];
}

const MAX_EXPONENT = 52;

export class Histogram {
  readonly bits: number;
  private readonly half: number;
  private counts: Float64Array;
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  constructor(bits = 8) {
    if (!Number.isInteger(bits) || bits < 2 || bits > 16) {
      throw new RangeError(`histogram bits must be an integer from 2 to 16, got ${bits}`);
    }
    this.bits = bits;
    this.half = 1 << (bits - 1);
    this.counts = new Float64Array(1 << bits);
  }

  /** The bucket a value falls into. */
  indexOf(value: number): number {
    const v = Math.floor(value);
    if (v < 1 << this.bits) return v;
    const k = Math.min(Math.floor(Math.log2(v)), MAX_EXPONENT);
    // log2 of a float can land one off near powers of two; correct it.
    const exp = 2 ** k > v ? k - 1 : 2 ** (k + 1) <= v ? k + 1 : k;
    const shift = exp - this.bits + 1;
    return shift * this.half + Math.floor(v / 2 ** shift);
  }

  /** The smallest and largest value that fall into bucket `index`. */
  bucketRange(index: number): [number, number] {
    if (index < 1 << this.bits) return [index, index];
    const shift = Math.floor(index / this.half) - 1;
    const sub = index - shift * this.half;
    const lo = sub * 2 ** shift;
    return [lo, lo + 2 ** shift - 1];
  }

  record(value: number, times = 1): void {
    if (!Number.isFinite(value) || value < 0) value = 0;
    const v = Math.min(Math.floor(value), 2 ** MAX_EXPONENT);
    const i = this.indexOf(v);
    if (i >= this.counts.length) this.grow(i + 1);
    this.counts[i]! += times;
    this.count += times;
    this.sum += v * times;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  private grow(size: number): void {
    const next = new Float64Array(Math.max(size, this.counts.length * 2));
    next.set(this.counts);
    this.counts = next;
  }

  /**
   * The value at percentile `p` (0–100): the midpoint of the bucket holding the sample of
   * rank ⌈p/100 · count⌉, clamped to the exact min and max seen. NaN when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    if (p <= 0) return this.min;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const [lo, hi] = this.bucketRange(i);
        return Math.min(this.max, Math.max(this.min, (lo + hi) / 2));
      }
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  add(other: Histogram | HistogramJson): this {
    const h = other instanceof Histogram ? other : Histogram.fromJSON(other);
    if (h.bits !== this.bits) throw new RangeError('cannot add histograms of different precision');
    if (h.counts.length > this.counts.length) this.grow(h.counts.length);
    for (let i = 0; i < h.counts.length; i++) if (h.counts[i]) this.counts[i]! += h.counts[i]!;
    this.count += h.count;
    this.sum += h.sum;
    if (h.count > 0) {
      this.min = Math.min(this.min, h.min);
      this.max = Math.max(this.max, h.max);
    }
    return this;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.min = Infinity;
    this.max = 0;
    this.sum = 0;
  }

  toJSON(): HistogramJson {
    const buckets: number[] = [];
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i]) buckets.push(i, this.counts[i]!);
    }
    return {
      bits: this.bits,
      count: this.count,
      min: this.count ? this.min : 0,
      max: this.max,
      sum: this.sum,
      buckets,
    };
  }

  static fromJSON(j: HistogramJson): Histogram {
    const h = new Histogram(j.bits);
    for (let i = 0; i + 1 < j.buckets.length; i += 2) {
      const idx = j.buckets[i]!;
      const n = j.buckets[i + 1]!;
      if (idx >= h.counts.length) h.grow(idx + 1);
      h.counts[idx]! += n;
    }
    h.count = j.count;
    h.sum = j.sum;
    h.max = j.max;
    h.min = j.count ? j.min : Infinity;
    return h;
  }

  /** p50 / p90 / p95 / p99 / p99.9 / max / mean in the recorded unit, divided by `scale`. */
  summary(scale = 1): LatencySummary {
    const f = (v: number) => (Number.isNaN(v) ? null : Math.round((v / scale) * 1000) / 1000);
    return {
      count: this.count,
      min: f(this.count ? this.min : NaN),
      mean: f(this.mean()),
      p50: f(this.percentile(50)),
      p90: f(this.percentile(90)),
      p95: f(this.percentile(95)),
      p99: f(this.percentile(99)),
      p999: f(this.percentile(99.9)),
      max: f(this.count ? this.max : NaN),
    };
  }
}

/** Percentiles of one histogram, in milliseconds in reports; null when there were no samples. */
export interface LatencySummary {
  count: number;
  min: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}
