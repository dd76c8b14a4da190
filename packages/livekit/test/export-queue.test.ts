// The destinations of setupVoiceTrace sit behind the bounded export queue of @voicetrace/exporters:
// its bounds follow the OTEL_BSP_* variables, its counters reach vt.exportStats(), and the delivery
// report printed on SIGTERM, vt.exportStats() and the exporter drop metric give one figure of loss, by reason.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BoundedBatchSpanProcessor, ExportHttpError } from '@voicetrace/exporters';
import { describe, expect, it } from 'vitest';
import { EXPORTER_DROP_REASONS } from '@voicetrace/conventions';
import { LOSS_REASONS } from '@voicetrace/exporters';
import { buildDestinations, deliveryReport, destinationStats, describeDestinations, exporterLosses } from '../src/exporters.js';
import { setupVoiceTrace } from '../src/setup.js';

class SwitchableExporter implements SpanExporter {
  mode: 'ok' | 'down' | 'reject' | 'hang' = 'ok';
  delivered = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const mode = this.mode;
    if (mode === 'hang') return;
    setImmediate(() => {
      if (mode === 'ok') {
        this.delivered += spans.length;
        return done({ code: ExportResultCode.SUCCESS });
      }
      const error =
        mode === 'down'
          ? new ExportHttpError({ url: 'http://127.0.0.1:1/v1/traces', kind: 'network', networkCode: 'ECONNREFUSED', message: 'ECONNREFUSED connect' })
          : new ExportHttpError({ url: 'http://127.0.0.1:1/v1/traces', kind: 'http', status: 401, message: 'HTTP 401 Unauthorized' });
      done({ code: ExportResultCode.FAILED, error });
    });
  }
  async shutdown(): Promise<void> {}
}

const noWarn = () => undefined;
function spans(n: number): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({ spanProcessors: [{ onStart: () => {}, onEnd: (s) => void out.push(s), forceFlush: async () => {}, shutdown: async () => {} }] });
  const tracer = provider.getTracer('t');
  for (let i = 0; i < n; i++) tracer.startSpan(`s${i}`).end();
  return out;
}

describe('buildDestinations: the bounded export queue', () => {
  it('puts every destination behind a BoundedBatchSpanProcessor; 1 s batches by default, OTEL_BSP_* honoured, the batch option wins', () => {
    const exporter = new SwitchableExporter();
    const [plain] = buildDestinations({ exporters: [exporter], env: {}, warn: noWarn });
    expect(plain!.processor).toBeInstanceOf(BoundedBatchSpanProcessor);
    expect([plain!.processor.scheduledDelayMillis, plain!.processor.maxQueueSize, plain!.processor.maxQueueBytes]).toEqual([1000, 2048, 8 * 1024 * 1024]);
    const env = { OTEL_BSP_SCHEDULE_DELAY: '250', OTEL_BSP_MAX_QUEUE_SIZE: '300', VOICETRACE_BSP_MAX_QUEUE_BYTES: '1000000', VOICETRACE_BSP_SHUTDOWN_TIMEOUT: '1200' };
    const [fromEnv] = buildDestinations({ exporters: [exporter], env, warn: noWarn });
    expect([fromEnv!.processor.scheduledDelayMillis, fromEnv!.processor.maxQueueSize, fromEnv!.processor.maxQueueBytes, fromEnv!.processor.shutdownTimeoutMillis]).toEqual([250, 300, 1_000_000, 1200]);
    const [fromCode] = buildDestinations({ exporters: [exporter], env, batch: { scheduledDelayMillis: 50, maxQueueSize: 10 }, warn: noWarn });
    expect([fromCode!.processor.scheduledDelayMillis, fromCode!.processor.maxQueueSize]).toEqual([50, 10]);
  });

  it('the delivery report, stats() and the drop metric say delivered and lost, by reason, with the same figures', async () => {
    const up = new SwitchableExporter();
    const rejecting = new SwitchableExporter();
    rejecting.mode = 'reject';
    const full = new SwitchableExporter();
    full.mode = 'down';
    const hanging = new SwitchableExporter();
    hanging.mode = 'hang';
    const destinations = buildDestinations({
      exporters: [up, rejecting, full, hanging],
      batch: { scheduledDelayMillis: 60_000, maxQueueSize: 5, shutdownTimeoutMillis: 300, retry: { initialBackoffMs: 60_000 } },
      env: {},
      warn: noWarn,
    });
    const [roomy] = buildDestinations({ exporters: [new SwitchableExporter()], batch: { scheduledDelayMillis: 60_000 }, env: {}, warn: noWarn });
    for (const span of spans(8)) for (const d of [...destinations, roomy!]) d.processor.onEnd(span);
    await Promise.all([...destinations, roomy!].map((d) => d.processor.shutdown()));
    expect(deliveryReport([roomy!])).toEqual([expect.stringMatching(/exporter\.0 .*: 8 spans handed over, 8 delivered, 0 lost$/)]);
    const lines = deliveryReport(destinations);
    // a bound of 5: one batch of 5 in flight, so the 3 others found nothing to evict and were refused
    expect(lines[0]).toMatch(/exporter\.0 .*: 8 spans handed over, 5 delivered, 3 lost \(queue_full: 3\)$/);
    // then HTTP 401 refused the 5 for good
    expect(lines[1]).toMatch(/exporter\.1 .*: 8 spans handed over, 0 delivered, 8 lost \(export_failed: 5, queue_full: 3\); last failure: HTTP 401 Unauthorized$/);
    // the collector is down: the queue held its bound of 5 and shutdown gave up on them
    expect(lines[2]).toMatch(/exporter\.2 .*: 8 spans handed over, 0 delivered, 8 lost \(queue_full: 3, shutdown: 5\); last failure: ECONNREFUSED connect$/);
    // an export that never answers: given up on at shutdown
    expect(lines[3]).toMatch(/exporter\.3 .*: 8 spans handed over, 0 delivered, 8 lost \(queue_full: 3, shutdown: 5\)$/);
    const stats = destinationStats(destinations);
    // failedSpans keeps its meaning (refused for good); lostSpans is every reason
    expect(stats['exporter.1']).toMatchObject({ exportedSpans: 0, failedSpans: 5, lostSpans: 8, lostByReason: { export_failed: 5, queue_full: 3, shutdown: 0 }, queue: { droppedByReason: { export_failed: 5, queue_full: 3 } } });
    expect(stats['exporter.2']).toMatchObject({ exportedSpans: 0, failedSpans: 0, lostSpans: 8, lostByReason: { queue_full: 3, shutdown: 5, export_failed: 0 } });
    expect(stats['exporter.2']!.queue).toMatchObject({ handedOverSpans: 8, droppedByReason: { queue_full: 3, shutdown: 5 }, queuedSpans: 0 });
    // the metric reads the same figures, every reason (0 included), per exporter
    const metric = exporterLosses(destinations);
    expect(metric).toHaveLength(4 * LOSS_REASONS.length);
    for (const [label, s] of Object.entries(stats)) {
      const mine = metric.filter((m) => m.exporter === label);
      expect(Object.fromEntries(mine.map((m) => [m.reason, m.spans]))).toEqual(s.lostByReason);
      expect(mine.reduce((sum, m) => sum + m.spans, 0)).toBe(s.lostSpans);
      expect(s.lostSpans).toBe(s.queue.droppedSpans);
    }
  });

  it('never prints the password of an endpoint URL with userinfo', () => {
    const destinations = buildDestinations({ otlp: { endpoint: 'http://agent:s3cr3t-pw@127.0.0.1:4318' }, env: {}, warn: noWarn });
    const text = [describeDestinations(destinations, 0), ...deliveryReport(destinations)].join('\n');
    expect(text).toContain('127.0.0.1:4318');
    expect(text).not.toContain('s3cr3t-pw');
  });
});

describe('setupVoiceTrace: exportStats() carries the queue', () => {
  it('per destination, the queue\'s outcomes and counters', async () => {
    const exporter = new SwitchableExporter();
    const vt = setupVoiceTrace({ exporters: [exporter], handleSignals: false, warnings: false, journal: false, report: false, batch: { scheduledDelayMillis: 10 } });
    vt.provider.getTracer('user-code').startSpan('one').end();
    await vt.forceFlush();
    const stats = vt.exportStats()['exporter.0']!;
    expect(stats).toMatchObject({ exportedSpans: 1, failedSpans: 0, queue: { handedOverSpans: 1, deliveredSpans: 1, droppedSpans: 0, queuedSpans: 0 } });
    await vt.shutdown();
  });
});

describe('one list of loss reasons', () => {
  it('the exporter drop metric accepts every reason the export queue can lose a span for', () => {
    expect([...EXPORTER_DROP_REASONS].sort()).toEqual([...LOSS_REASONS].sort());
  });
});
