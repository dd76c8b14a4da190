import { sortedQuantile } from '@voicetrace/core/internal';
import type { Percentiles } from './types.js';

/**
 * The q-quantile (0..1) of ascending `sorted` values: the session model's rule (linear interpolation,
 * numpy's default), one implementation for every output.
 */
export function quantileSorted(sorted: readonly number[], q: number): number | undefined {
  return sorted.length ? sortedQuantile(sorted, q) : undefined;
}

/** count, p50, p95, p99 and max of `values` (non-finite values are ignored). */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0 };
  return {
    count: sorted.length,
    p50: quantileSorted(sorted, 0.5),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1],
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}
