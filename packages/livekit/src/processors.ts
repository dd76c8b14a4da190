import type { voice } from '@livekit/agents';
import { trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { VOICETRACE_SCOPE } from '@voicetrace/conventions';
import { PriceBook, VoiceTraceSpanProcessor, type PriceTable, type TraceMode } from '@voicetrace/core';
import { instrumentSession, type InstrumentContext, type InstrumentOptions, type InstrumentedSession } from './instrument.js';
import { createNotices } from './notices.js';

/** Options of {@link createVoiceTraceProcessor}. */
export interface VoiceTraceProcessorOptions {
  /** The processors that export (e.g. your BatchSpanProcessor); they receive enriched spans. */
  next: SpanProcessor[];
  allowPii?: boolean | undefined;
  traceMode?: TraceMode | undefined;
  prices?: PriceTable | undefined;
  environment?: string | undefined;
}

/** A voicetrace processor for a provider you already have. */
export interface VoiceTraceProcessorHandle {
  /** Put this in your provider's `spanProcessors` (or add it through the SDK's FanoutSpanProcessor). */
  readonly processor: SpanProcessor;
  /** Traces one session: call right before `session.start()`. */
  instrument(session: voice.AgentSession, options?: InstrumentOptions): InstrumentedSession;
}

/**
 * For users with their own tracer provider: a processor to add to it, wrapping
 * your exporting processors. Stage spans are created through the global tracer
 * provider, so register yours (`provider.register()`).
 *
 * @example
 * ```ts
 * const vt = createVoiceTraceProcessor({ next: [new BatchSpanProcessor(myExporter)] });
 * const fanout = new telemetry.FanoutSpanProcessor();
 * fanout.add(vt.processor);
 * const provider = new NodeTracerProvider({ spanProcessors: [fanout] });
 * provider.register();
 * telemetry.setTracerProvider(provider, { registerSpanProcessor: (p) => fanout.add(p) });
 * vt.instrument(session);
 * ```
 */
export function createVoiceTraceProcessor(options: VoiceTraceProcessorOptions): VoiceTraceProcessorHandle {
  const processor = new VoiceTraceSpanProcessor({ next: options.next, traceMode: options.traceMode });
  const context: InstrumentContext = {
    processor,
    get tracer() {
      return trace.getTracer(VOICETRACE_SCOPE);
    },
    prices: new PriceBook(options.prices),
    allowPii: options.allowPii ?? true,
    environment: options.environment,
    traceMode: processor.traceMode,
    report: { autoWrite: false },
    warn: createNotices(undefined),
    sessions: new Set<InstrumentedSession>(),
    // your provider flushes your processors; voicetrace's own flushes its next ones
    flush: () => processor.forceFlush(),
  };
  return { processor, instrument: (session, instrumentOptions) => instrumentSession(session, context, instrumentOptions) };
}
