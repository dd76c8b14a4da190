// End to end (issue #4), outage of the Collector itself: the demo's real AgentSession exports to
// the sidecar (collector-config/sidecar.yaml + overlays/jaeger.yaml), which is killed with SIGKILL
// mid-session right after it acknowledged a batch, and restarted on the same ports and queue
// directory. Whatever the Collector acknowledged must reach Jaeger: acknowledged means
// "yours now" to the agent, which never sends it again.
import { backendsOrSkip, startCollector, startJaeger, type CollectorHandle, type JaegerHandle } from '@voicetrace/test-backends';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { otlpProtoExporter, RecordingExporter, type ExportRecord } from './e2e/recording.js';
import { readTruth, type TruthSpan } from './e2e/spans.js';
import { metricSum, pollUntil, sleep } from './e2e/util.js';

const bins = await backendsOrSkip('collector', 'jaeger');

/** The kill comes this long after an acknowledgement: well inside any in-memory batching window. */
const KILL_AFTER_ACK_MS = 100;
/** How long the Collector stays dead (a crash and a supervisor restart). */
const DOWN_MS = 2000;

describe.skipIf(!bins)('demo -> Collector killed (SIGKILL) and restarted mid-session -> Jaeger', () => {
  let jaeger: JaegerHandle;
  let collector: CollectorHandle;
  let result: DemoResult;
  let truth: TruthSpan[];
  let recorder: RecordingExporter;
  let demoStartedAt = 0;
  let killedAt = 0;
  let restartedAt = 0;
  let outage: Promise<void> | undefined;
  let inJaeger = new Set<string>();
  const acceptedBeforeKill = { receiver: 0, exporter: 0 };

  beforeAll(async () => {
    jaeger = await startJaeger();
    collector = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'], env: { VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint } });

    // The kill: 100 ms after the Collector acknowledged the batch holding the first reply's
    // agent_turn (about 5 s into the call), i.e. while that batch is at its most exposed.
    const onResult = (record: ExportRecord): void => {
      if (outage || !record.ok || !record.spans.some((s) => s.name === 'agent_turn' && s.attributes['voicetrace.latency.e2e'] !== undefined)) return;
      outage = (async () => {
        await sleep(KILL_AFTER_ACK_MS);
        const before = await collector.internalMetrics().catch(() => []);
        acceptedBeforeKill.receiver = metricSum(before, 'otelcol_receiver_accepted_spans');
        acceptedBeforeKill.exporter = metricSum(before, 'otelcol_exporter_sent_spans', { exporter: 'otlp_grpc/jaeger' });
        killedAt = Date.now();
        await collector.kill('SIGKILL');
        await sleep(DOWN_MS); // the agent's exports fail meanwhile (connection refused) and are retried
        await collector.start(); // same ports, same on-disk queue
        restartedAt = Date.now();
      })();
    };
    recorder = new RecordingExporter(otlpProtoExporter(collector.otlpHttpUrl), onResult);
    demoStartedAt = Date.now();
    result = await runDemo({
      out: mkdtempSync(join(tmpdir(), 'voicetrace-e2e-kill-')),
      voicetrace: { otlp: false, exporters: [recorder], batch: { scheduledDelayMillis: 200 } },
    });
    await outage;
    truth = readTruth(result.tracesPath);
    const acked = recorder.acked();
    const traceId = truth[0]!.traceId;
    // bounded wait until everything acknowledged is in Jaeger (or the time is up: the test reports what is missing)
    await pollUntil(
      'acknowledged spans in Jaeger',
      async () => {
        const trace = await jaeger.getTrace(traceId);
        inJaeger = new Set(trace?.spans.map((s) => s.spanId) ?? []);
        return [...acked].every((id) => inJaeger.has(id)) ? true : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500 },
    ).catch(() => undefined);
  }, 170_000);

  afterAll(async () => {
    await Promise.all([collector?.stop(), jaeger?.stop()]);
  });

  it('was killed mid-session and came back', () => {
    expect(killedAt).toBeGreaterThan(0);
    expect(restartedAt).toBeGreaterThan(killedAt);
    const sessionEnd = Math.max(...truth.map((s) => Number(s.endNs / 1_000_000n)));
    expect(restartedAt).toBeLessThan(sessionEnd); // the call went on after the restart
  });

  it('loses nothing the Collector acknowledged (agent-side export results vs Jaeger)', async () => {
    const acked = recorder.acked();
    const ackedBefore = recorder.acked((r) => r.doneAt! <= killedAt);
    const ackedAfter = recorder.acked((r) => r.doneAt! >= restartedAt);
    const failed = recorder.failed();
    const lost = [...acked].filter((id) => !inJaeger.has(id));
    const truthIds = new Set(truth.map((s) => s.spanId));
    const metrics = await collector.internalMetrics();
    console.log(
      `[e2e] collector SIGKILL at +${((killedAt - demoStartedAt) / 1000).toFixed(1)} s into the call, back (ready) after ${restartedAt - killedAt} ms: ` +
        `traces.jsonl ${truthIds.size} spans; agent handed ${recorder.sentSpans} to the exporter in ${recorder.records.length} exports; ` +
        `acknowledged ${acked.size} (${ackedBefore.size} before the kill, ${ackedAfter.size} after the restart, ${acked.size - ackedBefore.size - ackedAfter.size} retried across it), agent-side failed ${failed.size}; ` +
        `collector before the kill: accepted ${acceptedBeforeKill.receiver}, sent to Jaeger ${acceptedBeforeKill.exporter}; after the restart: accepted ${metricSum(metrics, 'otelcol_receiver_accepted_spans')}, ` +
        `sent to Jaeger ${metricSum(metrics, 'otelcol_exporter_sent_spans', { exporter: 'otlp_grpc/jaeger' })}; ` +
        `Jaeger holds ${inJaeger.size}; acknowledged but lost: ${lost.length}`,
    );
    expect(ackedBefore.size).toBeGreaterThan(0);
    expect(ackedAfter.size).toBeGreaterThan(0);
    expect(lost, 'acknowledged by the Collector, missing from Jaeger').toEqual([]);
    // the agent's exporter retried through the restart: every span of the call was delivered
    expect(failed.size).toBe(0);
    expect([...truthIds].filter((id) => !inJaeger.has(id))).toEqual([]);
  });
});
