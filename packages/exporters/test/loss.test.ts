// Loss is one figure (issue 20): stats() says how many spans were delivered and how many were
// lost, every reason, through one computation (exportLoss), however they were lost.
import { describe, expect, it } from 'vitest';
import { BoundedBatchSpanProcessor } from '../src/bounded-batch-processor.js';
import { createOtlpTraceExporter } from '../src/create-otlp-trace-exporter.js';
import { describeExportOutcome, exportLoss, LOSS_REASONS } from '../src/loss.js';
import { addExportStats, emptyExportStats, withoutOutcomes } from '../src/stats.js';
import { closedPort, makeSpans } from './helpers.js';

describe('exportLoss and stats().lostSpans', () => {
  it('a Collector that is down (closed port): 0 delivered, every span lost at shutdown, and the line says so', async () => {
    const port = await closedPort();
    const exporter = createOtlpTraceExporter({ endpoint: `http://127.0.0.1:${port}`, timeoutMillis: 300, retry: { maxAttempts: 2, initialBackoffMs: 20 }, logger: () => undefined, env: {} });
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 10, shutdownTimeoutMillis: 400, retry: { initialBackoffMs: 20, maxBackoffMs: 40 }, env: {} });
    const spans = makeSpans(6);
    for (const span of spans) processor.onEnd(span);
    await processor.shutdown();
    const stats = processor.stats();
    expect(stats.exportedSpans).toBe(0);
    // before: the closing line read failedSpans, 0 here though every span was lost
    expect(stats.failedSpans).toBe(0);
    expect(stats.lostSpans).toBe(spans.length);
    expect(stats.lostByReason).toEqual({ export_failed: 0, oversized: 0, queue_full: 0, queue_bytes_full: 0, shutdown: 6, after_shutdown: 0 });
    expect(stats.queue.droppedSpans).toBe(stats.lostSpans);
    expect(describeExportOutcome(stats)).toBe('0 spans delivered, 6 lost (shutdown: 6)');
    // a span that ends after shutdown is lost too, and counted in the same figure
    processor.onEnd(makeSpans(1)[0]!);
    expect(processor.stats()).toMatchObject({ lostSpans: 7, lostByReason: { shutdown: 6, after_shutdown: 1 } });
    expect(describeExportOutcome(processor.stats())).toBe('0 spans delivered, 7 lost (shutdown: 6, after_shutdown: 1)');
  });

  it('every reason is counted; nothing lost reads "0 lost"', () => {
    const dropped = { queue_full: 1, queue_bytes_full: 2, oversized: 3, export_failed: 4, shutdown: 5, after_shutdown: 6 };
    const loss = exportLoss({ failedSpans: 4, droppedOversizedSpans: 0, queue: { droppedByReason: dropped } as never });
    expect(loss.lostSpans).toBe(21);
    expect(Object.keys(loss.lostByReason).sort()).toEqual([...LOSS_REASONS].sort());
    expect(describeExportOutcome({ ...emptyExportStats(), exportedSpans: 3 })).toBe('3 spans delivered, 0 lost');
  });

  it('a bare exporter chain (no queue): lost = refused for good + oversized', () => {
    const loss = exportLoss({ ...emptyExportStats(), failedSpans: 2, droppedOversizedSpans: 1 });
    expect(loss).toMatchObject({ lostSpans: 3, lostByReason: { export_failed: 2, oversized: 1, shutdown: 0 } });
  });

  it('the queue\'s figures are carried through a chain, never added, and left out of what a decorator adds', () => {
    const queued = { ...emptyExportStats(), lostSpans: 4, lostByReason: { export_failed: 0, oversized: 0, queue_full: 0, queue_bytes_full: 0, shutdown: 4, after_shutdown: 0 } };
    expect(addExportStats(emptyExportStats(), queued)).toMatchObject({ lostSpans: 4, lostByReason: { shutdown: 4 } });
    expect(withoutOutcomes(queued)).not.toHaveProperty('lostSpans');
  });
});
