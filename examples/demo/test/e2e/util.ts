// Small, bounded helpers shared by the end-to-end tests.
import type { PromSample } from '@voicetrace/test-backends';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, opts: { timeoutMs: number; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${opts.timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A threshold in the middle of the largest gap between sorted values: the split of the data that
 * is least sensitive to noise, so a test using it does not depend on how fast the machine is.
 */
export function largestGapThreshold(values: readonly number[]): { threshold: number; gap: number } {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length < 2) throw new Error('largestGapThreshold needs at least two values');
  let best = { threshold: NaN, gap: -1 };
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]! - sorted[i - 1]!;
    if (gap > best.gap) best = { threshold: (sorted[i]! + sorted[i - 1]!) / 2, gap };
  }
  return best;
}

/** Sum of the samples named `name` (or `name_total`: counters carry the suffix or not, by exporter version) whose labels include `labels`. */
export function metricSum(samples: readonly PromSample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((s) => (s.metric.__name__ === name || s.metric.__name__ === `${name}_total`) && Object.entries(labels).every(([k, v]) => s.metric[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Every string inside a parsed JSON document (to search decoded text, not escaped JSON). */
export function allStrings(json: unknown, out: string[] = []): string[] {
  if (typeof json === 'string') out.push(json);
  else if (Array.isArray(json)) for (const v of json) allStrings(v, out);
  else if (json && typeof json === 'object') for (const v of Object.values(json)) allStrings(v, out);
  return out;
}

/** The collector's PII deletion, restated from collector-config (transform/redact_pii): which keys it removes. */
export const REDACTED_KEY = (key: string): boolean =>
  /[.]pii[.]/.test(key) ||
  /^(gen_ai[.](input[.]messages|output[.]messages|system_instructions|tool[.]call[.]arguments|tool[.]call[.]result)|langfuse[.](observation|trace)[.](input|output)|input[.]value|output[.]value|user[.]id|langfuse[.]user[.]id)$/.test(key);

/** What the demo's caller says and hears: none of it may reach a backend when redaction is on. */
export const SPOKEN = ['weather like in Paris', 'opening hours', 'charged twice', 'eighteen degrees', '"city":"Paris"'];
