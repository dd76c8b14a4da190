import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportStats, StatsSpanExporter } from './types.js';

/** Counters at zero. */
export function emptyExportStats(): ExportStats {
  return {
    exportedSpans: 0,
    failedSpans: 0,
    successfulExports: 0,
    failedExports: 0,
    requests: 0,
    retries: 0,
    splitBatches: 0,
    truncatedSpans: 0,
    truncatedAttributes: 0,
    droppedOversizedSpans: 0,
    failuresByReason: {},
  };
}

/** `own` plus `inner`: numbers and reasons are added, the newest `lastFailure` (own first) is kept. */
export function addExportStats(own: ExportStats, inner: ExportStats | undefined): ExportStats {
  if (!inner) return own;
  const failuresByReason = { ...inner.failuresByReason };
  for (const [reason, count] of Object.entries(own.failuresByReason)) failuresByReason[reason] = (failuresByReason[reason] ?? 0) + count;
  const sum: ExportStats = {
    exportedSpans: own.exportedSpans + inner.exportedSpans,
    failedSpans: own.failedSpans + inner.failedSpans,
    successfulExports: own.successfulExports + inner.successfulExports,
    failedExports: own.failedExports + inner.failedExports,
    requests: own.requests + inner.requests,
    retries: own.retries + inner.retries,
    splitBatches: own.splitBatches + inner.splitBatches,
    truncatedSpans: own.truncatedSpans + inner.truncatedSpans,
    truncatedAttributes: own.truncatedAttributes + inner.truncatedAttributes,
    droppedOversizedSpans: own.droppedOversizedSpans + inner.droppedOversizedSpans,
    failuresByReason,
  };
  const lastFailure = own.lastFailure ?? inner.lastFailure;
  if (lastFailure) sum.lastFailure = lastFailure;
  // the queue's figures belong to the queue: carried as they are, never added
  const queue = own.queue ?? inner.queue;
  if (queue) sum.queue = queue;
  const loss = own.lostByReason ? own : inner.lostByReason ? inner : undefined;
  if (loss?.lostByReason) {
    sum.lostSpans = loss.lostSpans ?? 0;
    sum.lostByReason = loss.lostByReason;
  }
  return sum;
}

/**
 * `stats` without the export outcomes (spans and exports that succeeded or failed, failure reasons, the
 * last failure): what a decorator that counts outcomes itself adds from the exporter it wraps.
 */
export function withoutOutcomes(stats: ExportStats): ExportStats {
  const { lastFailure: _lastFailure, queue: _queue, lostSpans: _lostSpans, lostByReason: _lostByReason, ...rest } = stats;
  return { ...rest, exportedSpans: 0, failedSpans: 0, successfulExports: 0, failedExports: 0, failuresByReason: {} };
}

/** True when the exporter keeps counters (every exporter of this package does). */
export function hasExportStats(exporter: SpanExporter): exporter is StatsSpanExporter {
  return typeof (exporter as Partial<StatsSpanExporter>).stats === 'function';
}

/**
 * Reads the counters of an exporter chain built from this package's exporters, or `undefined` for an
 * exporter that keeps none. Never throws.
 */
export function readExportStats(exporter: SpanExporter): ExportStats | undefined {
  try {
    return hasExportStats(exporter) ? exporter.stats() : undefined;
  } catch {
    return undefined;
  }
}
