// Loss is one figure (issue 20): with the Collector down, every span a session produced is lost
// (given up on at shutdown), and vt.exportStats(), the exporter drop metric and the delivery
// report say so with the same numbers.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { METRIC } from '@voicetrace/conventions';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { deliveryReport, type Destination } from '../src/exporters.js';
import { setupVoiceTrace } from '../src/setup.js';

/** Counts what it is given: the spans the session produced. */
class CountingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the Collector is down (a closed port)', () => {
  it('delivered 0, lost = every span produced (shutdown), the same in exportStats(), the drop metric and the delivery report', async () => {
    const port = await closedPort();
    const produced = new CountingExporter();
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const vt = setupVoiceTrace({
      otlp: { endpoint: `http://127.0.0.1:${port}` },
      exporters: [produced],
      metrics: { exporter: metrics, exportIntervalMillis: 60_000 },
      logs: false,
      handleSignals: false,
      journal: false,
      report: false,
      warnings: false,
      batch: { scheduledDelayMillis: 10, shutdownTimeoutMillis: 600 },
    });
    const tracer = vt.provider.getTracer('user-code');
    await tracer.startActiveSpan('agent_session', async (root) => {
      for (let i = 0; i < 6; i++) tracer.startSpan(`turn ${i}`).end();
      root.end();
    });
    await vt.shutdown();

    const stats = vt.exportStats();
    expect(produced.spans).toBe(7);
    expect(stats['exporter.0']).toMatchObject({ exportedSpans: 7, lostSpans: 0 });
    const otlp = stats.otlp!;
    expect(otlp.exportedSpans).toBe(0);
    expect(otlp.lostSpans).toBe(produced.spans);
    expect(otlp.lostByReason).toEqual({ export_failed: 0, oversized: 0, queue_full: 0, queue_bytes_full: 0, shutdown: produced.spans, after_shutdown: 0 });
    expect(otlp.failedSpans).toBe(0); // its meaning is kept: nothing was refused by a backend
    expect(otlp.queue.droppedSpans).toBe(otlp.lostSpans);

    // voicetrace.exporter.dropped_spans, as exported at shutdown: the same figures, by reason
    const points = metrics
      .getMetrics()
      .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
      .filter((m) => m.descriptor.name === METRIC.EXPORTER_DROPPED_SPANS)
      .at(-1)!.dataPoints;
    const byReason = (exporter: string) =>
      Object.fromEntries(points.filter((p) => p.attributes['voicetrace.exporter'] === exporter).map((p) => [p.attributes['voicetrace.drop.reason'], p.value]));
    expect(byReason('otlp')).toEqual(otlp.lostByReason);
    expect(byReason('exporter.0')).toEqual(stats['exporter.0']!.lostByReason);

    // the delivery report printed on SIGTERM reads them too
    const destinations = [{ label: 'otlp', target: 'x', processor: { stats: () => otlp } }] as unknown as Destination[];
    expect(deliveryReport(destinations)[0]).toMatch(/: 7 spans handed over, 0 delivered, 7 lost \(shutdown: 7\)/);
  }, 20_000);
});
