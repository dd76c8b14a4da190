import type { PercentileSummary } from './types.js';

/** Relative accuracy of the log buckets once a sketch stops keeping exact values (1%). */
const GAMMA = 1.02;
const LOG_GAMMA = Math.log(GAMMA);
/** Values below this (seconds) share the first bucket. */
const MIN_VALUE = 1e-4;

/**
 * Values kept exactly per figure: every output of a call shows the same, exact percentiles up to
 * this many replies (16,384: days of conversation; 128 KiB per figure at most, 8 bytes a reply).
 * Past it, the sketch below: the same bound and the same value in every output, since they all read
 * the model's summary.
 */
export const EXACT_PERCENTILE_LIMIT = 16_384;

/**
 * Percentiles of one figure over a session, in bounded memory: exact (linear
 * interpolation, numpy's default) up to `exactLimit` values, then log-spaced
 * buckets with 1% relative accuracy.
 */
export class QuantileSketch {
  private exact: number[] | undefined = [];
  /** Made when the exact values overflow (most sessions never get there). */
  private buckets: Map<number, number> | undefined;
  private count = 0;
  private sum = 0;
  private max = -Infinity;

  constructor(private readonly exactLimit = EXACT_PERCENTILE_LIMIT) {}

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.count += 1;
    this.sum += value;
    if (value > this.max) this.max = value;
    if (this.exact) {
      this.exact.push(value);
      if (this.exact.length <= this.exactLimit) return;
      for (const v of this.exact) this.addToBucket(v);
      this.exact = undefined;
      return;
    }
    this.addToBucket(value);
  }

  /** The q-quantile (0..1), or undefined with no values. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    if (this.exact) return quantile(this.exact, q);
    const rank = q * (this.count - 1);
    let seen = 0;
    for (const [index, n] of [...(this.buckets ?? [])].sort((a, b) => a[0] - b[0])) {
      seen += n;
      if (seen > rank) return Math.min(this.max, bucketValue(index));
    }
    return this.max;
  }

  summary(): PercentileSummary {
    if (this.count === 0) return { count: 0 };
    if (this.exact) {
      // one sort for the three figures (a session's totals read every figure's summary)
      const sorted = [...this.exact].sort((a, b) => a - b);
      return { count: this.count, p50: sortedQuantile(sorted, 0.5), p95: sortedQuantile(sorted, 0.95), p99: sortedQuantile(sorted, 0.99), max: this.max, mean: this.sum / this.count };
    }
    return { count: this.count, p50: this.quantile(0.5), p95: this.quantile(0.95), p99: this.quantile(0.99), max: this.max, mean: this.sum / this.count };
  }

  private addToBucket(value: number): void {
    const index = value <= MIN_VALUE ? 0 : Math.ceil(Math.log(value / MIN_VALUE) / LOG_GAMMA);
    this.buckets ??= new Map();
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
  }
}

/** The middle of a bucket's range, so the relative error is at most about 1%. */
function bucketValue(index: number): number {
  if (index === 0) return MIN_VALUE;
  return (MIN_VALUE * (Math.pow(GAMMA, index - 1) + Math.pow(GAMMA, index))) / 2;
}

/** The q-quantile (0..1) of `values` by linear interpolation; undefined when empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  return sortedQuantile([...values].sort((a, b) => a - b), q);
}

/** The q-quantile of values sorted ascending (at least one): the one percentile rule of every output. */
export function sortedQuantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower]!;
  const high = sorted[upper]!;
  return low + (high - low) * (position - lower);
}
