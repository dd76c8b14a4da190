// End to end (issue #4), backend outage: the demo's real AgentSession exports to the sidecar
// (collector-config/sidecar.yaml + overlays/jaeger.yaml) while Jaeger is down for the first 30 s
// of the call. The sidecar's persistent sending queue holds the spans and retries; once Jaeger is
// back, every span of traces.jsonl must arrive.
import { backendsOrSkip, startCollector, startJaeger, type CollectorHandle, type JaegerHandle } from '@voicetrace/test-backends';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { otlpProtoExporter, RecordingExporter } from './e2e/recording.js';
import { readTruth, type TruthSpan } from './e2e/spans.js';
import { metricSum, pollUntil, sleep } from './e2e/util.js';

const bins = await backendsOrSkip('collector', 'jaeger');

/** How long Jaeger stays down, counted from the start of the call. */
const JAEGER_DOWN_MS = 30_000;

describe.skipIf(!bins)('demo -> sidecar -> Jaeger down for 30 s of the call (persistent sending queue)', () => {
  let jaeger: JaegerHandle;
  let collector: CollectorHandle;
  let result: DemoResult;
  let truth: TruthSpan[];
  let recorder: RecordingExporter;
  let jaegerBackAt = 0;
  let completeAt = 0;
  let received = 0;
  const duringOutage = { accepted: 0, sent: 0, failed: 0, queued: 0 };

  beforeAll(async () => {
    jaeger = await startJaeger();
    await jaeger.stop(); // its ports are known: the sidecar points at a Jaeger that is down
    collector = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'], env: { VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint } });
    recorder = new RecordingExporter(otlpProtoExporter(collector.otlpHttpUrl));

    const demoStarted = Date.now();
    const outage = (async () => {
      await sleep(JAEGER_DOWN_MS - 1500);
      const m = await collector.internalMetrics();
      duringOutage.accepted = metricSum(m, 'otelcol_receiver_accepted_spans');
      duringOutage.sent = metricSum(m, 'otelcol_exporter_sent_spans', { exporter: 'otlp_grpc/jaeger' });
      duringOutage.failed = metricSum(m, 'otelcol_exporter_send_failed_spans', { exporter: 'otlp_grpc/jaeger' });
      duringOutage.queued = metricSum(m, 'otelcol_exporter_queue_size', { exporter: 'otlp_grpc/jaeger' });
      await sleep(Math.max(0, demoStarted + JAEGER_DOWN_MS - Date.now()));
      await jaeger.start(); // same ports, empty storage
      jaegerBackAt = Date.now();
    })();
    result = await runDemo({
      out: mkdtempSync(join(tmpdir(), 'voicetrace-e2e-jaeger-down-')),
      voicetrace: { otlp: false, exporters: [recorder] },
    });
    await outage;
    truth = readTruth(result.tracesPath);
    const traceId = truth[0]!.traceId;
    // the exporter's retry backoff is capped at 30 s (max_interval): everything is in within ~35 s
    await pollUntil(
      'every span of the call in Jaeger',
      async () => {
        const trace = await jaeger.getTrace(traceId);
        received = trace?.spans.length ?? 0;
        return received >= truth.length ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(() => undefined);
    completeAt = Date.now();
  }, 170_000);

  afterAll(async () => {
    await Promise.all([collector?.stop(), jaeger?.stop()]);
  });

  it('delivers every span of traces.jsonl once Jaeger is back', async () => {
    const trace = (await jaeger.getTrace(truth[0]!.traceId))!;
    const metrics = await collector.internalMetrics();
    console.log(
      `[e2e] Jaeger down ${JAEGER_DOWN_MS / 1000} s from the start of a ${result.seconds.toFixed(1)} s call: ` +
        `traces.jsonl ${truth.length} spans; agent sent ${recorder.sentSpans} (acknowledged ${recorder.acked().size}, failed ${recorder.failed().size}); ` +
        `sidecar during the outage: accepted ${duringOutage.accepted}, delivered ${duringOutage.sent}, given up ${duringOutage.failed}, queue ${duringOutage.queued} batch(es); ` +
        `at the end: accepted ${metricSum(metrics, 'otelcol_receiver_accepted_spans')}, delivered ${metricSum(metrics, 'otelcol_exporter_sent_spans', { exporter: 'otlp_grpc/jaeger' })}; ` +
        `Jaeger received ${trace?.spans.length ?? 0}, complete ${((completeAt - jaegerBackAt) / 1000).toFixed(1)} s after it came back`,
    );
    expect(recorder.acked().size).toBe(truth.length);
    expect(duringOutage.sent, 'nothing could be delivered while Jaeger was down').toBe(0);
    expect(duringOutage.accepted).toBeGreaterThan(0);
    const got = new Set(trace.spans.map((s) => `${s.spanId} ${s.operationName} ${s.parentSpanId ?? '-'}`));
    const want = truth.map((s) => `${s.spanId} ${s.name} ${s.parentSpanId || '-'}`);
    expect(want.filter((k) => !got.has(k)), 'spans missing from Jaeger').toEqual([]);
    expect(trace.spans).toHaveLength(truth.length); // and no duplicates
  });
});
