import type { voice } from '@livekit/agents';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setupVoiceTrace } from '@voicetrace/livekit';
import { SimulatedCall } from '../workload.js';

/**
 * The spans voicetrace exports for `calls` simulated calls (the SDK's spans enriched, its stage
 * spans, the export copies): what the throughput rows push through each exporter, the same spans
 * for both.
 */
export async function voicetraceSpans(calls: number, turns: number): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const vt = setupVoiceTrace({
    serviceName: 'voicetrace-bench',
    exporters: [memory],
    handleSignals: false,
    warnings: false,
    report: false,
    metrics: false,
    logs: false,
    journal: false,
    batch: { maxQueueSize: 1_000_000, maxQueueBytes: 1 << 30 },
  });
  const tracer = vt.provider.getTracer('livekit-agents');
  for (let i = 0; i < calls; i++) {
    const call = new SimulatedCall(tracer);
    vt.instrument(call.session as unknown as voice.AgentSession, { sessionId: `bench_${i}`, userId: 'caller-42' });
    call.start();
    for (let t = 0; t < turns; t++) call.runTurn();
    call.end();
  }
  await vt.forceFlush();
  return memory.getFinishedSpans();
}
