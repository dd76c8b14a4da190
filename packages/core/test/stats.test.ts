import { describe, expect, it } from 'vitest';
import { QuantileSketch, quantile } from '../src/model/stats.js';

describe('quantile', () => {
  it('interpolates linearly and is undefined without values', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0.95)).toBeCloseTo(3.85, 9);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});

describe('QuantileSketch', () => {
  it('is exact while it holds few values', () => {
    const sketch = new QuantileSketch(100);
    for (const v of [0.8, 1.2, 1.0, 3.0]) sketch.add(v);
    expect(sketch.summary()).toEqual({ count: 4, p50: quantile([0.8, 1.2, 1.0, 3.0], 0.5), p95: quantile([0.8, 1.2, 1.0, 3.0], 0.95), p99: quantile([0.8, 1.2, 1.0, 3.0], 0.99), max: 3.0, mean: 1.5 });
  });

  it('stays within 2% of the exact percentile past its exact limit, in bounded memory', () => {
    const sketch = new QuantileSketch(64);
    const values: number[] = [];
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 20_000; i++) {
      const v = 0.4 + random() * random() * 3; // a skewed latency-like distribution
      values.push(v);
      sketch.add(v);
    }
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = quantile(values, q)!;
      expect(Math.abs(sketch.quantile(q)! - exact) / exact, `q=${q}`).toBeLessThan(0.02);
    }
    expect(sketch.summary().count).toBe(20_000);
    expect((sketch as unknown as { buckets: Map<number, number> }).buckets.size).toBeLessThan(400);
  });

  it('ignores NaN and infinities', () => {
    const sketch = new QuantileSketch();
    sketch.add(Number.NaN);
    sketch.add(Infinity);
    expect(sketch.summary()).toEqual({ count: 0 });
  });
});
