import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Histogram } from '../src/histogram.ts';

/** The exact percentile with the same rank rule the histogram uses. */
function exact(sorted: number[], p: number): number {
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('Histogram', () => {
  it('is exact for small values', () => {
    const h = new Histogram();
    for (let v = 0; v < 200; v++) h.record(v);
    expect(h.percentile(50)).toBe(99);
    expect(h.percentile(99)).toBe(197);
    expect(h.min).toBe(0);
    expect(h.max).toBe(199);
    expect(h.mean()).toBeCloseTo(99.5);
  });

  it('maps every value into a bucket that contains it, buckets contiguous', () => {
    const h = new Histogram(6);
    let prev = -1;
    for (let v = 0; v < 100_000; v += 1 + Math.floor(v / 300)) {
      const i = h.indexOf(v);
      const [lo, hi] = h.bucketRange(i);
      expect(lo).toBeLessThanOrEqual(v);
      expect(hi).toBeGreaterThanOrEqual(v);
      expect(i).toBeGreaterThanOrEqual(prev);
      prev = i;
    }
    for (let i = 1; i < 2000; i++) {
      expect(h.bucketRange(i)[0]).toBe(h.bucketRange(i - 1)[1] + 1);
    }
  });

  it('keeps percentiles within 0.4% of the exact ones (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60_000_000 }), { minLength: 1, maxLength: 400 }),
        fc.constantFrom(1, 25, 50, 90, 95, 99, 99.9, 100),
        (values, p) => {
          const h = new Histogram();
          for (const v of values) h.record(v);
          const sorted = [...values].sort((a, b) => a - b);
          const want = exact(sorted, p);
          const got = h.percentile(p);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(0.5, want * 0.004));
        },
      ),
    );
  });

  it('is accurate on a skewed latency-like distribution', () => {
    const h = new Histogram();
    const values: number[] = [];
    let x = 12345;
    for (let i = 0; i < 50_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const u = x / 2 ** 31;
      const v = Math.floor(800 + 200 * (-Math.log(1 - u)) ** 2 * 10); // long tail, in µs
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [50, 95, 99, 99.9]) {
      const want = exact(values, p);
      expect(Math.abs(h.percentile(p) - want) / want).toBeLessThan(0.004);
    }
    expect(h.max).toBe(values[values.length - 1]);
  });

  it('adds and round-trips through JSON without losing anything', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 1000; i++) {
      const v = (i * 7919) % 100_003;
      (i % 2 ? a : b).record(v);
      all.record(v);
    }
    const merged = new Histogram()
      .add(Histogram.fromJSON(JSON.parse(JSON.stringify(a))))
      .add(b.toJSON());
    expect(merged.toJSON()).toEqual(all.toJSON());
    expect(merged.percentile(99)).toBe(all.percentile(99));
  });

  it('reports empty as null and ignores garbage values', () => {
    const h = new Histogram();
    expect(h.summary().p99).toBeNull();
    h.record(Number.NaN);
    h.record(-5);
    expect(h.count).toBe(2);
    expect(h.max).toBe(0);
    expect(() => new Histogram(1)).toThrow(/bits/);
  });

  it('summarises in milliseconds when given a scale', () => {
    const h = new Histogram();
    h.record(1500);
    h.record(2500);
    const s = h.summary(1000);
    expect(s.count).toBe(2);
    expect(s.max).toBe(2.5);
    expect(s.min).toBe(1.5);
  });
});
