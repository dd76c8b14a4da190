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

/**
 * The values of a session's figures (its latency stages and wait slices, by index), exact, in the
 * order they came: the values in one array of doubles, and which figure each belongs to, 5 bits a
 * value, 6 to a small integer in a second array. A live 10-turn call's 17 figures take about 2.2 KiB
 * this way, where a sketch per figure took 5.3: each its own array with spare slots, its sum and
 * maximum boxed, and a map entry. A figure past `exactLimit` values moves to a
 * {@link QuantileSketch} of its own, so the bound and the value are those of a sketch per figure.
 */
export class FigureValues {
  /** Finite values of the figures still exact. */
  private values: number[] = [];
  /** The figure of values[i]: bits 5*(i % 6) of figureWords[floor(i / 6)]. */
  private figureWords: number[] = [];
  /** Each figure's values in `values`. */
  private readonly counts: number[];
  /** Figures given any value, finite or not (bit per figure): a figure given only NaN still has a summary, of count 0. */
  private touched = 0;
  /** Figures past the exact limit (most sessions have none). */
  private overflow: Map<number, QuantileSketch> | undefined;

  constructor(
    private readonly figures: number,
    private readonly exactLimit = EXACT_PERCENTILE_LIMIT,
  ) {
    if (!Number.isInteger(figures) || figures < 0 || figures > FIGURES_MAX) throw new RangeError(`FigureValues holds 0 to ${FIGURES_MAX} figures, not ${figures}`);
    this.counts = new Array<number>(figures).fill(0);
  }

  add(figure: number, value: number): void {
    if (!(figure >= 0 && figure < this.figures && Number.isInteger(figure))) return;
    this.touched |= 1 << figure;
    if (!Number.isFinite(value)) return;
    const sketch = this.overflow?.get(figure);
    if (sketch) {
      sketch.add(value);
      return;
    }
    this.push(figure, value);
    this.counts[figure] = this.counts[figure]! + 1;
    if (this.counts[figure]! > this.exactLimit) this.toSketch(figure);
  }

  /** Each figure's summary, by index; undefined for a figure never given a value. */
  summaries(): Array<PercentileSummary | undefined> {
    const byFigure = this.counts.map((n) => new Array<number>(n));
    const filled = new Array<number>(this.figures).fill(0);
    for (let i = 0; i < this.values.length; i++) {
      const figure = this.figureOf(i);
      byFigure[figure]![filled[figure]!++] = this.values[i]!;
    }
    return byFigure.map((own, figure) => {
      if (!(this.touched & (1 << figure))) return undefined;
      return this.overflow?.get(figure)?.summary() ?? summaryOf(own);
    });
  }

  private push(figure: number, value: number): void {
    const slot = this.values.length % FIGURES_PER_WORD;
    this.values.push(value);
    if (slot === 0) this.figureWords.push(figure);
    else {
      const last = this.figureWords.length - 1;
      this.figureWords[last] = this.figureWords[last]! | (figure << (FIGURE_BITS * slot));
    }
  }

  private figureOf(i: number): number {
    return (this.figureWords[Math.floor(i / FIGURES_PER_WORD)]! >>> (FIGURE_BITS * (i % FIGURES_PER_WORD))) & FIGURES_MAX;
  }

  /** Moves a figure's values, in the order they came, to a sketch of log buckets. */
  private toSketch(figure: number): void {
    const sketch = new QuantileSketch(0);
    const { values } = this;
    const figureOf = values.map((_, i) => this.figureOf(i));
    this.values = [];
    this.figureWords = [];
    for (const [i, value] of values.entries()) {
      if (figureOf[i] === figure) sketch.add(value);
      else this.push(figureOf[i]!, value);
    }
    this.counts[figure] = 0;
    (this.overflow ??= new Map()).set(figure, sketch);
  }
}

/** Bits naming a value's figure: 6 of them fit a small integer (30 bits), held unboxed. */
const FIGURE_BITS = 5;
const FIGURES_PER_WORD = 6;
const FIGURES_MAX = 2 ** FIGURE_BITS - 1;

/** The summary of exact values in the order they came (sum and maximum as a sketch adds them up). */
function summaryOf(values: number[]): PercentileSummary {
  if (values.length === 0) return { count: 0 };
  let sum = 0;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v > max) max = v;
  }
  const sorted = values.sort((a, b) => a - b);
  return { count: values.length, p50: sortedQuantile(sorted, 0.5), p95: sortedQuantile(sorted, 0.95), p99: sortedQuantile(sorted, 0.99), max, mean: sum / values.length };
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
