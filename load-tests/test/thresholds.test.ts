import { describe, expect, it } from 'vitest';
import { evaluateThreshold, parseThreshold, ThresholdError } from '../src/thresholds.ts';
import { syntheticReport } from './helpers.ts';

describe('parseThreshold', () => {
  it('reads metric, operator, number and unit', () => {
    expect(parseThreshold('p99<100')).toMatchObject({
      metric: 'p99',
      op: '<',
      value: 100,
      rate: false,
    });
    expect(parseThreshold(' p95 <= 1.5s ')).toMatchObject({ metric: 'p95', op: '<=', value: 1500 });
    expect(parseThreshold('max<500us')).toMatchObject({ value: 0.5 });
    expect(parseThreshold('errors<0.1%')).toMatchObject({
      metric: 'errors',
      value: 0.1,
      rate: true,
    });
    expect(parseThreshold('errors<5')).toMatchObject({ metric: 'errors', value: 5, rate: false });
    expect(parseThreshold('converged=100%')).toMatchObject({
      metric: 'converged',
      op: '=',
      value: 100,
    });
    expect(parseThreshold('converged==100')).toMatchObject({ op: '=', value: 100 });
    expect(parseThreshold('cross.p99<250ms')).toMatchObject({ metric: 'cross.p99', value: 250 });
    expect(parseThreshold('edits_per_s>=10')).toMatchObject({ metric: 'edits_per_s', op: '>=' });
  });

  it('refuses what it cannot read, with a message that says how to write it', () => {
    expect(() => parseThreshold('p99 under 100')).toThrow(ThresholdError);
    expect(() => parseThreshold('p99 under 100')).toThrow(/<metric><op><number>/);
    expect(() => parseThreshold('p42<100')).toThrow(/unknown threshold metric "p42"/);
    expect(() => parseThreshold('p99<10%')).toThrow(/time/);
    expect(() => parseThreshold('converged>5ms')).toThrow(/percentage/);
    expect(() => parseThreshold('edits_per_s>5%')).toThrow(/not a percentage/);
    expect(() => parseThreshold('reconnects<5s')).toThrow(/no unit/);
  });
});

describe('evaluateThreshold', () => {
  const report = syntheticReport({
    latencies: [1, 2, 3, 4, 50],
    edits: 100,
    errors: 3,
    attempted: 50,
  });

  it('passes and misses latency thresholds on the report numbers', () => {
    expect(report.latency.all.p99).toBeCloseTo(50, 0);
    expect(evaluateThreshold(parseThreshold('p99<100'), report).ok).toBe(true);
    expect(evaluateThreshold(parseThreshold('p99<10'), report).ok).toBe(false);
    expect(evaluateThreshold(parseThreshold('p50<=3'), report).ok).toBe(true);
    expect(evaluateThreshold(parseThreshold('p99<0.01s'), report).ok).toBe(false);
    expect(evaluateThreshold(parseThreshold('steady.p50<=3'), report).ok).toBe(true);
  });

  it('compares the error rate with % and the count without', () => {
    // 3 errors over 50 connection attempts + 100 edits = 2%
    expect(report.errors.rate).toBeCloseTo(0.02);
    expect(evaluateThreshold(parseThreshold('errors<0.1%'), report).ok).toBe(false);
    expect(evaluateThreshold(parseThreshold('errors<5%'), report).ok).toBe(true);
    expect(evaluateThreshold(parseThreshold('errors<3'), report).ok).toBe(false);
    expect(evaluateThreshold(parseThreshold('errors<=3'), report).ok).toBe(true);
  });

  it('checks convergence as a percentage', () => {
    expect(evaluateThreshold(parseThreshold('converged=100%'), report).ok).toBe(true);
    const partial = syntheticReport({ checked: 10, converged: 9 });
    const r = evaluateThreshold(parseThreshold('converged=100%'), partial);
    expect(r.ok).toBe(false);
    expect(r.actual).toBe(90);
    expect(r.message).toMatch(/MISSED \(actual 90%\)/);
  });

  it('fails a threshold on a metric with no samples instead of passing it silently', () => {
    const r = evaluateThreshold(parseThreshold('cross.p99<100'), report);
    expect(r.ok).toBe(false);
    expect(r.actual).toBeNull();
    expect(r.message).toMatch(/no samples/);
    expect(evaluateThreshold(parseThreshold('oversell=0'), report).ok).toBe(false);
  });

  it('decides report.passed from every threshold', () => {
    const ok = syntheticReport({
      args: ['--threshold', 'p99<100', '--threshold', 'converged=100%'],
    });
    expect(ok.passed).toBe(true);
    expect(ok.thresholds).toHaveLength(2);
    const missed = syntheticReport({
      args: ['--threshold', 'p99<100', '--threshold', 'p50<0.001'],
    });
    expect(missed.passed).toBe(false);
    expect(missed.thresholds.map((t) => t.ok)).toEqual([true, false]);
  });
});
