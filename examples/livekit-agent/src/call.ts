/**
 * Places one scripted support call against a running LiveKit server and worker:
 *
 *   NODE_ENV=production node dist/call.js [room name]    (production: @livekit/rtc-node logs at info, not debug)
 *
 * LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET say where (default: a `livekit-server --dev` on
 * this machine); AGENT_NAME which agent to dispatch. The caller speaks with espeak-ng (`apt-get install
 * espeak-ng sox`, or `scripts/install-speech-tools.sh`). With OTEL_EXPORTER_OTLP_ENDPOINT set, the
 * caller's own span is exported too and the agent's trace continues it (the traceparent rides in the
 * job metadata).
 */
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { synthesizeSpeech } from '@voicetrace/test-backends';
import { runCall } from './caller.js';
import { SUPPORT_CALL } from './support-call.js';

const env = process.env;
const roomName = process.argv[2] ?? `support-${new Date().toISOString().replace(/[:.]/g, '-')}`;
// a caller span to continue: exported when there is somewhere to send it, a local root otherwise
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'caller' }),
  spanProcessors: env.OTEL_EXPORTER_OTLP_ENDPOINT ? [new BatchSpanProcessor(new OTLPTraceExporter())] : [],
});

try {
  const result = await runCall({
    url: env.LIVEKIT_URL ?? 'ws://127.0.0.1:7880',
    apiKey: env.LIVEKIT_API_KEY ?? 'devkey',
    apiSecret: env.LIVEKIT_API_SECRET ?? 'secret',
    agentName: env.AGENT_NAME ?? 'voicetrace-support',
    roomName,
    turns: SUPPORT_CALL,
    synthesize: (text) => synthesizeSpeech(text, { wordsPerMinute: 190 }),
    tracer: provider.getTracer('caller'),
    // the job ends when the room closes: one second after the caller left, not LiveKit's default 20 s
    departureTimeoutSeconds: 1,
  });
  console.log(`call ${result.roomName}: said ${result.spoke.length} things, heard ${result.agentVoicedSeconds.toFixed(1)} s of the agent`);
  console.log(`trace ${result.traceId} (the agent's spans continue it)`);
} catch (error) {
  console.error(`the call failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await provider.shutdown();
  trace.disable();
}
