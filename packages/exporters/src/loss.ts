import type { ExportStats, QueueDropReason } from './types.js';

/** Every reason a span can be lost for, in the order reports list them. */
export const LOSS_REASONS: readonly QueueDropReason[] = ['export_failed', 'oversized', 'queue_full', 'queue_bytes_full', 'shutdown', 'after_shutdown'];

/** How many spans were lost for good, in all and by reason (every reason present, 0 included). */
export interface ExportLoss {
  /** Spans that never reached the backend and never will, every reason. */
  lostSpans: number;
  /** The same, by reason: their sum is {@link lostSpans}. */
  lostByReason: Record<QueueDropReason, number>;
}

/**
 * The one computation of "lost": what the export queue dropped, every reason (refused for good,
 * oversized, evicted by a full queue, given up on at shutdown, ended after shutdown). Without a queue
 * (a bare exporter chain) the exporter's own counters say it: `failedSpans` (refused for good) and
 * `droppedOversizedSpans`. Spans still queued or in flight are not lost (yet). Never throws.
 *
 * `BoundedBatchSpanProcessor.stats()` fills `lostSpans`/`lostByReason` with it; every report of
 * export results (setup's delivery report, the exporter drop metric, the demo's closing line) reads them.
 */
export function exportLoss(stats: Pick<ExportStats, 'failedSpans' | 'droppedOversizedSpans' | 'queue'>): ExportLoss {
  return lossFromDrops(stats.queue ? stats.queue.droppedByReason : { export_failed: stats.failedSpans, oversized: stats.droppedOversizedSpans });
}

/** {@link exportLoss} from the drop counts themselves (the export queue's `droppedByReason`). */
export function lossFromDrops(dropped: Readonly<Partial<Record<QueueDropReason, number>>>): ExportLoss {
  const lostByReason = Object.fromEntries(LOSS_REASONS.map((reason) => [reason, count(dropped[reason])])) as Record<QueueDropReason, number>;
  return { lostSpans: LOSS_REASONS.reduce((sum, reason) => sum + lostByReason[reason], 0), lostByReason };
}

/**
 * `N spans delivered, M lost (shutdown: M)`: the delivered and lost figures of {@link exportLoss},
 * with the reasons that lost any (`0 lost` when none).
 */
export function describeExportOutcome(stats: Pick<ExportStats, 'exportedSpans' | 'failedSpans' | 'droppedOversizedSpans' | 'queue'>): string {
  const { lostSpans, lostByReason } = exportLoss(stats);
  return `${stats.exportedSpans} spans delivered, ${describeLoss({ lostSpans, lostByReason })}`;
}

/** `M lost (queue_full: 3, shutdown: 5)`, or `0 lost`. */
export function describeLoss(loss: ExportLoss): string {
  const reasons = LOSS_REASONS.filter((reason) => loss.lostByReason[reason] > 0).map((reason) => `${reason}: ${loss.lostByReason[reason]}`);
  return `${loss.lostSpans} lost${reasons.length ? ` (${reasons.join(', ')})` : ''}`;
}

function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
