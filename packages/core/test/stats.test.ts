import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FigureValues, QuantileSketch, quantile } from '../src/model/stats.js';

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

describe('FigureValues', () => {
  const FIGURES = 31; // the most it holds: figure 30 takes the top bits of a word
  const value = fc.oneof(
    { weight: 12, arbitrary: fc.double({ min: -1, max: 30, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0) },
  );

  it('summarizes each figure as a sketch of its own would, past the exact limit too', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(0, 1, 2, 29, 30), value), { maxLength: 120 }), fc.integer({ min: 1, max: 40 }), (adds, limit) => {
        const figures = new FigureValues(FIGURES, limit);
        const sketches = new Map<number, QuantileSketch>();
        for (const [figure, v] of adds) {
          figures.add(figure, v);
          if (!sketches.has(figure)) sketches.set(figure, new QuantileSketch(limit));
          sketches.get(figure)!.add(v);
        }
        const expected = Array.from({ length: FIGURES }, (_, figure) => sketches.get(figure)?.summary());
        expect(figures.summaries()).toStrictEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps values in the order they came while another figure moves to buckets', () => {
    const figures = new FigureValues(2, 4);
    for (const v of [0.5, 0.7, 0.9]) figures.add(0, v);
    for (const v of [1, 2, 3, 4, 5]) figures.add(1, v); // figure 1 passes the limit
    figures.add(0, 0.1);
    const [exact, bucketed] = figures.summaries();
    expect(exact).toStrictEqual({ count: 4, p50: quantile([0.5, 0.7, 0.9, 0.1], 0.5), p95: quantile([0.5, 0.7, 0.9, 0.1], 0.95), p99: quantile([0.5, 0.7, 0.9, 0.1], 0.99), max: 0.9, mean: (0.5 + 0.7 + 0.9 + 0.1) / 4 });
    expect(bucketed!.count).toBe(5);
    expect(bucketed!.max).toBe(5);
    expect(bucketed!.p50).not.toBe(3); // from the buckets (within 1%), no longer exact
    expect(bucketed!.p50).toBeCloseTo(3, 1);
  });

  it('ignores figures out of range and refuses more figures than it can mark', () => {
    const figures = new FigureValues(2);
    figures.add(2, 1);
    figures.add(-1, 1);
    figures.add(0.5, 1);
    expect(figures.summaries()).toStrictEqual([undefined, undefined]);
    expect(() => new FigureValues(32)).toThrow(RangeError);
  });
});
