import { telemetry, type voice } from '@livekit/agents';
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { setupVoiceTrace, type VoiceTrace, type VoiceTraceOptions } from '@voicetrace/livekit';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedCall } from './workload.js';

/** The two paths the bench compares (and `none`: the simulated SDK with no tracing, the baseline of what tracing adds). */
export type PathName = 'stock' | 'voicetrace' | 'none';

/** One tracing path, set up in this process (each bench task runs in a child process of its own). */
export interface Pipeline {
  readonly name: PathName;
  /** The tracer the SDK's spans are made with (the `livekit-agents` scope, as the SDK's). */
  readonly tracer: Tracer;
  /** A new call, instrumented when the path is voicetrace's. */
  newCall(index: number, options?: { maxMessages?: number | undefined }): SimulatedCall;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  /** voicetrace's setup, when this is its path. */
  readonly vt?: VoiceTrace | undefined;
}

export interface PipelineOptions {
  /** Base URL of the OTLP/HTTP receiver (the bench's sink, or a Collector). */
  endpoint: string;
  traceMode?: 'session' | 'turn' | undefined;
  /** Queue bounds high enough that nothing is dropped while a task pushes turns as fast as it can. */
  maxQueueSize?: number | undefined;
  /** setupVoiceTrace options over the bench's (to measure a feature off). */
  setup?: Partial<VoiceTraceOptions> | undefined;
}

/** Both paths batch alike: a 1 s delay (voicetrace's default for voice calls), 512 spans per request. */
const SCHEDULED_DELAY_MS = 1000;
const BATCH = 512;

/**
 * The stock path: the SDK's spans through the SDK alone, the way LiveKit's docs wire a custom
 * provider (a `NodeTracerProvider`, the SDK's `FanoutSpanProcessor`, `telemetry.setTracerProvider`
 * so the SDK installs its PII filter), exported by `BatchSpanProcessor` and the stock
 * `@opentelemetry/exporter-trace-otlp-proto` exporter.
 */
export function stockPipeline(options: PipelineOptions): Pipeline {
  const fanout = new telemetry.FanoutSpanProcessor();
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` });
  fanout.add(new BatchSpanProcessor(exporter, { maxQueueSize: options.maxQueueSize ?? 2048, maxExportBatchSize: BATCH, scheduledDelayMillis: SCHEDULED_DELAY_MS }));
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': 'voicetrace-bench' }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [fanout] });
  provider.register();
  telemetry.setTracerProvider(provider, { registerSpanProcessor: (p) => fanout.add(p), allowPii: true });
  const tracer = provider.getTracer('livekit-agents');
  return {
    name: 'stock',
    tracer,
    newCall: (_index, callOptions) => new SimulatedCall(tracer, callOptions),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** What the voicetrace path has on, for the results. */
export const VOICETRACE_FEATURES =
  'setupVoiceTrace defaults: OTLP/HTTP protobuf export through the bounded queue, LangFuse mapping, span journal (as in a job process), ' +
  'session model (stage spans, latency breakdown, usage, cost), session event log, OTel metrics and logs views (exported to the sink); ' +
  'session reports off in the per-turn rows (one per call, counted in the whole-agent row)';

/**
 * voicetrace's path as users run it: `setupVoiceTrace` with an OTLP endpoint, and each call's
 * session instrumented (`vt.instrument`) right before it starts. The bench's child processes are
 * named like the SDK's job process, so the span journal is on as in production.
 */
export function voicetracePipeline(options: PipelineOptions): Pipeline {
  process.env.VOICETRACE_JOURNAL_DIR ??= mkdtempSync(join(tmpdir(), 'voicetrace-bench-journal-'));
  const vt = setupVoiceTrace({
    serviceName: 'voicetrace-bench',
    otlp: { endpoint: options.endpoint },
    handleSignals: false,
    warnings: false,
    report: false,
    traceMode: options.traceMode,
    batch: { maxQueueSize: options.maxQueueSize ?? 2048, maxQueueBytes: 1 << 30, maxExportBatchSize: BATCH, scheduledDelayMillis: SCHEDULED_DELAY_MS },
    ...options.setup,
  });
  const tracer = vt.provider.getTracer('livekit-agents');
  return {
    name: 'voicetrace',
    tracer,
    vt,
    newCall: (index, callOptions) => {
      const call = new SimulatedCall(tracer, callOptions);
      vt.instrument(call.session as unknown as voice.AgentSession, {
        sessionId: `bench_${process.pid}_${index}`,
        userId: 'caller-42',
        attributes: { 'lk.job_id': 'bench-job', 'lk.pii.room_name': `room-${index}` },
      });
      return call;
    },
    flush: () => vt.forceFlush(),
    shutdown: () => vt.shutdown(),
  };
}

/** No tracing: the API's no-op tracer (no provider registered), as an agent that traces nothing. */
export function untracedPipeline(): Pipeline {
  const tracer = trace.getTracer('livekit-agents');
  return {
    name: 'none',
    tracer,
    newCall: (_index, callOptions) => new SimulatedCall(tracer, callOptions),
    flush: async () => {},
    shutdown: async () => {},
  };
}

export function pipeline(name: PathName, options: PipelineOptions): Pipeline {
  if (name === 'none') return untracedPipeline();
  return name === 'stock' ? stockPipeline(options) : voicetracePipeline(options);
}
