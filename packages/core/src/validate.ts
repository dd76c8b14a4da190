import type { DropCounters } from './counters.js';

/** Limits applied to incoming values. */
export interface ValueLimits {
  /** Longest string kept on a span, in UTF-16 code units. Default 8192. */
  maxStringLength: number;
  /** Largest duration that is plausible for one pipeline step, in seconds. Default 600. */
  maxStepSeconds: number;
}

export const DEFAULT_LIMITS: ValueLimits = { maxStringLength: 8192, maxStepSeconds: 600 };

/**
 * Collects the outcome of validating one input's fields: values that pass are
 * returned, the others are left out and named in `implausible` / `truncated`.
 */
export class FieldValidator {
  readonly implausible: string[] = [];
  readonly truncated: string[] = [];
  /** Why each implausible field was left out. */
  readonly reasons: Record<string, 'non_finite_value' | 'negative_value' | 'sentinel_value' | 'implausible_value'> = {};

  constructor(
    private readonly counters: DropCounters,
    private readonly limits: ValueLimits = DEFAULT_LIMITS,
  ) {}

  /**
   * A duration in seconds from a raw number in `unit` ('ms' or 's'). NaN,
   * negative, the -1 "none" sentinel and values above the step limit are
   * left out and flagged under `name`.
   */
  duration(name: string, raw: unknown, unit: 'ms' | 's', options: { sentinel?: boolean } = {}): number | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return this.reject(name, 'non_finite_value');
    if (options.sentinel && raw === -1) return this.reject(name, 'sentinel_value');
    if (raw < 0) return this.reject(name, 'negative_value');
    const seconds = unit === 'ms' ? raw / 1000 : raw;
    if (seconds > this.limits.maxStepSeconds) return this.reject(name, 'implausible_value');
    return seconds;
  }

  /** A timestamp in epoch seconds from a raw epoch value in `unit`. */
  timestamp(name: string, raw: unknown, unit: 'ms' | 's'): number | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return this.reject(name, 'non_finite_value');
    const seconds = unit === 'ms' ? raw / 1000 : raw;
    // before 2001 or after 2100: not a wall-clock time (often a duration passed by mistake)
    if (seconds < 978_307_200 || seconds > 4_102_444_800) return this.reject(name, 'implausible_value');
    return seconds;
  }

  /** A non-negative count (tokens, characters, requests). */
  count(name: string, raw: unknown): number | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return this.reject(name, 'non_finite_value');
    if (raw < 0) return this.reject(name, 'negative_value');
    return Math.round(raw);
  }

  /** A non-negative rate (tokens per second). */
  rate(name: string, raw: unknown): number | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return this.reject(name, 'non_finite_value');
    if (raw < 0) return this.reject(name, 'negative_value');
    return raw;
  }

  /** A string, cut to the length limit (flagged under `name` when cut). */
  text(name: string, raw: unknown): string | undefined {
    if (typeof raw !== 'string') return undefined;
    if (raw.length <= this.limits.maxStringLength) return raw;
    this.truncated.push(name);
    this.counters.count('truncated_string', name);
    return `${raw.slice(0, this.limits.maxStringLength)}…`;
  }

  private reject(name: string, reason: 'non_finite_value' | 'negative_value' | 'sentinel_value' | 'implausible_value'): undefined {
    this.implausible.push(name);
    this.reasons[name] = reason;
    // -1 is the SDK saying "no first token/byte came" (a cancelled request): flagged, not a drop
    if (reason !== 'sentinel_value') this.counters.count(reason, name);
    return undefined;
  }
}
