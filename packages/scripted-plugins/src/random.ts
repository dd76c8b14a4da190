/**
 * A small seeded PRNG (mulberry32) so that a scripted session's latencies are
 * realistic but identical from run to run for the same seed.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }
}

/** A latency range in milliseconds; a value is drawn uniformly from it. */
export interface LatencyRange {
  minMs: number;
  maxMs: number;
}

/** Draws a latency in ms from `range`, scaled by `scale` (1 = real time). */
export function drawLatency(random: SeededRandom, range: LatencyRange, scale = 1): number {
  return random.between(range.minMs, range.maxMs) * scale;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
