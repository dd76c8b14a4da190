// End to end (issue #13), direct export with a long outage: the demo's real AgentSession exports
// straight to Jaeger's OTLP/HTTP receiver (no Collector: the agent's bounded export queue is the
// only buffer), and Jaeger is down for the first 45 s of a ~60 s call. The queue is bounded to 60
// spans here, so the outage overflows it: what is lost must be exactly what did not fit (dropped
// oldest first, never the session root), every lost span counted by reason, and everything else
// delivered once Jaeger is back.
import type { VoiceTrace } from '@voicetrace/livekit';
import { backendsOrSkip, startJaeger, type JaegerHandle } from '@voicetrace/test-backends';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { readTruth, type TruthSpan } from './e2e/spans.js';
import { pollUntil, sleep } from './e2e/util.js';

type ExportStats = ReturnType<VoiceTrace['exportStats']>[string];

const bins = await backendsOrSkip('jaeger');

const DOWN_FOR_MS = 45_000;
const MAX_QUEUE = 60;

describe.skipIf(!bins)('demo -> Jaeger directly, down for 45 s, queue bounded to 60 spans: losses only past the bound, every one counted', () => {
  let jaeger: JaegerHandle;
  let result: DemoResult;
  let truth: TruthSpan[];
  let received = new Set<string>();
  let duplicates = 0;
  let startedAt = 0;
  let backAt = 0;

  beforeAll(async () => {
    jaeger = await startJaeger();
    await jaeger.stop(); // its ports are known: the agent points at a Jaeger that is down
    startedAt = Date.now();
    const outage = (async () => {
      await sleep(DOWN_FOR_MS);
      await jaeger.start(); // same ports, empty storage: it only holds what arrives from now on
      backAt = Date.now();
    })();
    result = await runDemo({
      out: mkdtempSync(join(tmpdir(), 'voicetrace-e2e-direct-')),
      turns: 14,
      voicetrace: { otlp: { endpoint: jaeger.otlpHttpUrl }, batch: { maxQueueSize: MAX_QUEUE, maxExportBatchSize: 30 } },
    });
    await outage;
    truth = readTruth(result.tracesPath);
    const traceId = truth[0]!.traceId;
    const expected = truth.length - ((result.exports.otlp as ExportStats).queue?.droppedSpans ?? 0);
    await pollUntil(
      'every delivered span in Jaeger',
      async () => {
        const spans = (await jaeger.getTrace(traceId))?.spans ?? [];
        received = new Set(spans.map((s) => s.spanId));
        duplicates = spans.length - received.size;
        return received.size >= expected ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch(() => undefined);
  }, 240_000);

  afterAll(async () => {
    await jaeger?.stop();
  });

  it('delivers everything that fit, drops only past the bound (oldest first, not the root), counts every loss', () => {
    const otlp = result.exports.otlp as ExportStats;
    const q = otlp.queue!;
    const lost = truth.filter((s) => !received.has(s.spanId));
    const endMs = (s: TruthSpan) => Number(s.endNs / 1_000_000n);
    const endedDuringOutage = truth.filter((s) => endMs(s) < backAt);
    console.log(
      `[e2e direct] Jaeger down for the first ${((backAt - startedAt) / 1000).toFixed(1)} s of a ${result.seconds.toFixed(1)} s call; queue bound ${q.maxQueueSize} spans; ` +
        `spans: call ${truth.length} (${endedDuringOutage.length} ended during the outage), handed over ${q.handedOverSpans}, delivered ${q.deliveredSpans}, ` +
        `dropped ${q.droppedSpans} ${JSON.stringify(Object.fromEntries(Object.entries(q.droppedByReason).filter(([, n]) => n > 0)))}, queued at most ${q.peakQueuedSpans}; ` +
        `Jaeger received ${received.size} (${duplicates} duplicates); lost ${lost.length} (${lost.filter((s) => endMs(s) >= backAt).length} of them ended after Jaeger was back, before the next attempt), counted ${q.droppedSpans}; failed attempts put back ${q.retriedExports}`,
    );
    expect(backAt - startedAt).toBeGreaterThanOrEqual(DOWN_FOR_MS);
    // the outage overflowed the bound, and the queue never held more than it
    expect(q.peakQueuedSpans).toBe(MAX_QUEUE);
    expect(q.droppedByReason.queue_full).toBeGreaterThan(0);
    // every span lost is counted, by reason, and nothing else is missing
    expect(lost.length).toBe(q.droppedSpans);
    expect(q.droppedSpans).toBe(q.droppedByReason.queue_full);
    expect(q.handedOverSpans).toBe(truth.length);
    expect(q.deliveredSpans + q.droppedSpans).toBe(truth.length);
    expect(received.size).toBe(q.deliveredSpans);
    // losses only while the backend was away (the first export after it is back may wait out one
    // failed attempt, 10 s, and the backoff, at most 15 s)
    expect(Math.max(...lost.map(endMs))).toBeLessThan(backAt + 25_000);
    // the root that carries the call's usage and cost made it
    expect(lost.map((s) => s.name)).not.toContain('agent_session');
    // oldest first: what was lost ended before what was kept (but for one batch that was in flight)
    const lastLost = Math.max(...lost.map(endMs));
    const keptOlder = truth.filter((s) => received.has(s.spanId) && endMs(s) < lastLost);
    expect(keptOlder.length, keptOlder.map((s) => s.name).join(', ')).toBeLessThanOrEqual(30);
  });
});
