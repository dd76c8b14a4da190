// End to end (issue #13), the sidecar itself down for 30 s mid-call: the demo's real AgentSession
// exports with voicetrace's own OTLP exporter to the sidecar (collector-config/sidecar.yaml +
// overlays/jaeger.yaml, persistent queue), which is killed (SIGKILL) 6 s into the call and started
// again 30 s later on the same ports and queue directory. While it is down, the agent's bounded
// export queue (@voicetrace/exporters BoundedBatchSpanProcessor) holds the spans and retries; what
// the sidecar had acknowledged waits in its on-disk queue. Every span of the call must reach Jaeger:
// 0 lost, 0 dropped, and the agent's counters must say so.
import type { VoiceTrace } from '@voicetrace/livekit';
import { backendsOrSkip, startCollector, startJaeger, type CollectorHandle, type JaegerHandle } from '@voicetrace/test-backends';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { readTruth, type TruthSpan } from './e2e/spans.js';
import { pollUntil, sleep } from './e2e/util.js';

type ExportStats = ReturnType<VoiceTrace['exportStats']>[string];

const bins = await backendsOrSkip('collector', 'jaeger');

const DOWN_AT_MS = 6_000;
const DOWN_FOR_MS = 30_000;

describe.skipIf(!bins)('demo -> sidecar down for 30 s mid-call (the agent\'s bounded queue holds, the sidecar\'s persistent queue delivers) -> Jaeger', () => {
  let jaeger: JaegerHandle;
  let collector: CollectorHandle;
  let result: DemoResult;
  let truth: TruthSpan[];
  let inJaeger: string[] = [];
  let startedAt = 0;
  let downAt = 0;
  let backAt = 0;
  let completeAt = 0;

  beforeAll(async () => {
    jaeger = await startJaeger();
    collector = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'], env: { VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint } });
    startedAt = Date.now();
    const outage = (async () => {
      await sleep(DOWN_AT_MS);
      downAt = Date.now();
      await collector.kill('SIGKILL');
      await sleep(DOWN_FOR_MS);
      await collector.start(); // same ports, same on-disk queue
      backAt = Date.now();
    })();
    result = await runDemo({
      out: mkdtempSync(join(tmpdir(), 'voicetrace-e2e-sidecar-down-')),
      turns: 14, // about 60 s: the call goes on well after the sidecar is back
      voicetrace: { otlp: { endpoint: collector.otlpHttpUrl } },
    });
    await outage;
    truth = readTruth(result.tracesPath);
    const traceId = truth[0]!.traceId;
    await pollUntil(
      'every span of the call in Jaeger',
      async () => {
        inJaeger = (await jaeger.getTrace(traceId))?.spans.map((s) => s.spanId) ?? [];
        return new Set(inJaeger).size >= truth.length ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(() => undefined);
    completeAt = Date.now();
  }, 240_000);

  afterAll(async () => {
    await Promise.all([collector?.stop(), jaeger?.stop()]);
  });

  it('loses nothing: every span of the call reaches Jaeger, and the agent\'s counters agree', () => {
    const otlp = result.exports.otlp as ExportStats;
    const q = otlp.queue!;
    const received = new Set(inJaeger);
    const lost = truth.filter((s) => !received.has(s.spanId));
    const sessionEnd = Math.max(...truth.map((s) => Number(s.endNs / 1_000_000n)));
    console.log(
      `[e2e sidecar down] sidecar SIGKILL at +${((downAt - startedAt) / 1000).toFixed(1)} s, back at +${((backAt - startedAt) / 1000).toFixed(1)} s ` +
        `(${((backAt - downAt) / 1000).toFixed(1)} s down) of a ${result.seconds.toFixed(1)} s call that ended at +${((sessionEnd - startedAt) / 1000).toFixed(1)} s; ` +
        `spans: call ${truth.length}, handed to the agent's queue ${q.handedOverSpans}, delivered ${q.deliveredSpans}, dropped ${q.droppedSpans} ${JSON.stringify(q.droppedByReason)}, ` +
        `queued at most ${q.peakQueuedSpans} (bound ${q.maxQueueSize}) / ${(q.peakQueuedBytes / 1024).toFixed(0)} KiB (bound ${(q.maxQueueBytes / 1048576).toFixed(0)} MiB), ` +
        `failed attempts put back ${q.retriedExports} (${q.requeuedSpans} spans), exporter attempts failed ${otlp.failedExports} ${JSON.stringify(otlp.failuresByReason)}; ` +
        `Jaeger received ${received.size} (${inJaeger.length - received.size} duplicates), lost ${lost.length}; all in Jaeger at +${((completeAt - startedAt) / 1000).toFixed(1)} s`,
    );
    expect(downAt).toBeGreaterThan(0);
    expect(backAt - downAt).toBeGreaterThanOrEqual(DOWN_FOR_MS);
    expect(sessionEnd).toBeGreaterThan(backAt); // the call went on after the sidecar came back
    // the outage reached the agent: exports failed and were put back, the queue held spans meanwhile
    expect(q.retriedExports).toBeGreaterThan(0);
    expect(q.peakQueuedSpans).toBeGreaterThan(0);
    expect(q.peakQueuedSpans).toBeLessThanOrEqual(q.maxQueueSize);
    // and nothing was lost or dropped, anywhere
    expect(q.handedOverSpans).toBe(truth.length);
    expect(q.droppedSpans).toBe(0);
    expect(q.deliveredSpans).toBe(truth.length);
    expect(otlp.failedSpans).toBe(0);
    expect(lost.map((s) => s.name)).toEqual([]);
  });
});
