import { diag } from '@opentelemetry/api';

/**
 * Why an input was dropped or changed. Each has a documented outcome (see the
 * core README): nothing bad reaches a span silently, and nothing throws.
 */
export type DropReason =
  /** NaN/Infinity: the field is left out and listed in voicetrace.implausible */
  | 'non_finite_value'
  /** negative duration or count: left out, listed in voicetrace.implausible */
  | 'negative_value'
  /** a "none" sentinel (ttft/ttfb of -1, no token came): left out, listed in voicetrace.implausible; not counted as a drop */
  | 'sentinel_value'
  /** beyond what the turn's own timestamps allow (e.g. a delay that is really a timestamp): left out, flagged */
  | 'implausible_value'
  /** a string over the size cap: cut, listed in voicetrace.truncated */
  | 'truncated_string'
  /** an event that is not an object or lacks its type: dropped */
  | 'malformed_event'
  /** a metrics type this version does not know: dropped */
  | 'unknown_metric_type'
  /** the same metrics object twice: counted once */
  | 'duplicate_event'
  /** the SDK's TTS stream adapter reported the same audio twice: counted once */
  | 'duplicate_usage'
  /** metrics that belong to no known turn: kept on the session only */
  | 'unplaced_event'
  /** the SDK's own session.usage disagrees with voicetrace's on a figure no known cause explains (named in voicetrace.session.usage_check) */
  | 'usage_disagreement'
  /** usage reported for a turn whose spans were already exported: in the session's totals and the report, not on the turn's spans */
  | 'late_usage'
  /** an event or span after shutdown(): dropped */
  | 'after_shutdown'
  /** an internal error while handling an input: the input is dropped, the agent is unaffected */
  | 'internal_error';

/** Counts drops and corrections by reason; read with {@link DropCounters.snapshot}. */
export class DropCounters {
  private readonly counts = new Map<DropReason, number>();
  private readonly warned = new Set<DropReason>();

  /** Counts one occurrence; the first of each reason is logged once through `diag`. */
  count(reason: DropReason, detail?: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (!this.warned.has(reason)) {
      this.warned.add(reason);
      diag.warn(`voicetrace: ${reason}${detail ? ` (${detail})` : ''}; further ones are only counted`);
    }
  }

  /** Occurrences of one reason so far. */
  get(reason: DropReason): number {
    return this.counts.get(reason) ?? 0;
  }

  /** Total of all reasons. */
  total(): number {
    let sum = 0;
    for (const value of this.counts.values()) sum += value;
    return sum;
  }

  /** A copy of all counts, by reason. */
  snapshot(): Partial<Record<DropReason, number>> {
    return Object.fromEntries(this.counts);
  }
}
