import { telemetry, type voice } from '@livekit/agents';
import { diag } from '@opentelemetry/api';
import { resourceFromAttributes, defaultResource, detectResources, envDetector } from '@opentelemetry/resources';
import { BatchSpanProcessor, type BufferConfig, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { VOICETRACE_SCOPE } from '@voicetrace/conventions';
import { PriceBook, VoiceTraceSpanProcessor, type DropCounters, type PriceTable, type TraceMode } from '@voicetrace/core';
import { OtlpJsonLinesFileExporter, ReportingSpanExporter, createOtlpTraceExporter, readExportStats, type ExportStats } from '@voicetrace/exporters';
import { LangfuseMappingProcessor, createLangfuseSpanExporter, langfuseConfigFromEnv, type LangfuseConfig } from '@voicetrace/langfuse';
import { instrumentSession, type InstrumentOptions, type InstrumentedSession } from './instrument.js';

/** Options of {@link setupVoiceTrace}. Everything is optional; `OTEL_*` variables are honoured. */
export interface VoiceTraceOptions {
  /** `service.name` (default: `OTEL_SERVICE_NAME`, else `voice-agent`). */
  serviceName?: string;
  /** `deployment.environment.name` on every span (default: `VOICETRACE_ENVIRONMENT`). */
  environment?: string;
  /**
   * OTLP/HTTP export. Default: on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (protocol, headers from the OTEL_* variables).
   */
  otlp?: boolean | { endpoint?: string; headers?: Record<string, string> };
  /** Also write OTLP/JSON lines (the Collector file exporter format) to this path. */
  file?: string;
  /**
   * Direct export to LangFuse's OTel endpoint. Default: from `LANGFUSE_PUBLIC_KEY`,
   * `LANGFUSE_SECRET_KEY` and `LANGFUSE_BASE_URL` (or `LANGFUSE_HOST`) when set; half-set
   * variables throw one `LangfuseConfigError` here, at setup. `false` turns it off.
   */
  langfuse?: LangfuseConfig | false;
  /**
   * Add LangFuse's attributes (observation types, usage/cost details, input/output) to the
   * spans, so they read well in LangFuse directly or through a collector. Default true.
   */
  langfuseMapping?: boolean;
  /** `langfuse.release` on every span (default: `VOICETRACE_RELEASE`). */
  release?: string;
  /** More exporters (each gets its own BatchSpanProcessor). */
  exporters?: SpanExporter[];
  /** More processors that receive voicetrace's enriched spans (e.g. a LangFuse mapping). */
  spanProcessors?: SpanProcessor[];
  /**
   * Whether transcripts, tool arguments/outputs and other content may leave the
   * process. Default: `LIVEKIT_TELEMETRY_ALLOW_PII` when set, else true (the SDK's default).
   * When false, the SDK strips its PII attributes in-process and voicetrace writes none.
   */
  allowPii?: boolean;
  /** `session` (default) or `turn`: one trace per user turn, linked to the session. */
  traceMode?: TraceMode;
  /** Price overrides (`provider/model` -> prices), merged over the defaults. */
  prices?: PriceTable;
  /** BatchSpanProcessor settings for every exporter. */
  batch?: BufferConfig;
  /** Flush and end open spans on SIGTERM/SIGINT before the process exits (default true). */
  handleSignals?: boolean;
}

/** What {@link setupVoiceTrace} returns. */
export interface VoiceTrace {
  /** The registered provider (use it for your own spans, or `trace.getTracer` from the global API). */
  readonly provider: NodeTracerProvider;
  /** Drop/correction counters, by reason. */
  readonly counters: DropCounters;
  /** Export counters per configured exporter (`otlp`, `file`, `langfuse`, `exporter.<n>`). */
  exportStats(): Record<string, ExportStats>;
  /** Adds a processor to the provider after setup (the SDK attaches LiveKit Cloud's this way). */
  registerSpanProcessor(processor: SpanProcessor): void;
  /** Traces one `AgentSession`: call it right before `session.start()`. */
  instrument(session: voice.AgentSession, options?: InstrumentOptions): InstrumentedSession;
  /** Exports everything finished so far. */
  forceFlush(): Promise<void>;
  /** Ends open spans (flagged), flushes and shuts the exporters down. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * One call in the agent: builds a registered OTel SDK 2.x tracer provider,
 * wires it into `@livekit/agents` (`telemetry.setTracerProvider` through the
 * SDK's `FanoutSpanProcessor`, so LiveKit Cloud tracing can still attach), and
 * returns a handle that instruments sessions.
 *
 * @example
 * ```ts
 * const vt = setupVoiceTrace({ serviceName: 'support-agent' });
 * const traced = vt.instrument(session, { sessionId: ctx.room.name });
 * await session.start({ agent, room: ctx.room });
 * ctx.addShutdownCallback(() => vt.shutdown());
 * ```
 */
export function setupVoiceTrace(options: VoiceTraceOptions = {}): VoiceTrace {
  const env = process.env;
  const allowPii = options.allowPii ?? parseBool(env.LIVEKIT_TELEMETRY_ALLOW_PII) ?? true;
  // each exporter with the name its counters are reported under
  const exporters = (options.exporters ?? []).map((exporter, i) => ({ label: `exporter.${i}`, exporter }));
  const otlpWanted = options.otlp ?? Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const add = (label: string, exporter: SpanExporter): void => void exporters.push({ label, exporter });
  if (otlpWanted) add('otlp', createOtlpTraceExporter(typeof options.otlp === 'object' ? options.otlp : {}));
  if (options.file) add('file', new ReportingSpanExporter(new OtlpJsonLinesFileExporter(options.file), { target: options.file, what: 'traces file' }));
  const langfuse = options.langfuse === false ? undefined : (options.langfuse ?? langfuseConfigFromEnv(env));
  if (langfuse) add('langfuse', createLangfuseSpanExporter(langfuse));
  if (exporters.length === 0 && !options.spanProcessors?.length) {
    diag.warn('voicetrace: no exporter configured (set OTEL_EXPORTER_OTLP_ENDPOINT or pass `file`/`exporters`)');
  }
  const batches = exporters.map(({ exporter }) => new BatchSpanProcessor(exporter, options.batch));
  // the mapping runs in onEnding, after voicetrace's own enrichment and before any export
  const mapping = options.langfuseMapping === false ? [] : [new LangfuseMappingProcessor({ allowPii, release: options.release ?? env.VOICETRACE_RELEASE })];
  const processor = new VoiceTraceSpanProcessor({
    next: [...mapping, ...batches, ...(options.spanProcessors ?? [])],
    traceMode: options.traceMode ?? (env.VOICETRACE_TRACE_MODE === 'turn' ? 'turn' : 'session'),
  });
  const fanout = new telemetry.FanoutSpanProcessor();
  fanout.add(processor);
  const serviceName = options.serviceName ?? env.OTEL_SERVICE_NAME ?? 'voice-agent';
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [fanout] });
  // a global context manager: without it most SDK spans lose their parent
  provider.register();
  telemetry.setTracerProvider(provider, { registerSpanProcessor: (p) => fanout.add(p), allowPii });

  const context = {
    processor,
    tracer: provider.getTracer(VOICETRACE_SCOPE),
    prices: new PriceBook(options.prices),
    allowPii,
    environment: options.environment ?? env.VOICETRACE_ENVIRONMENT,
  };
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shutdownPromise ??= processor.shutdown().then(() => provider.shutdown()).catch((error) => diag.error('voicetrace: shutdown', error));
    return shutdownPromise;
  };
  if (options.handleSignals ?? true) installSignalFlush(shutdown);
  return {
    provider,
    counters: processor.counters,
    registerSpanProcessor: (p) => fanout.add(p),
    exportStats: () => {
      const stats: Record<string, ExportStats> = {};
      for (const { label, exporter } of exporters) {
        const read = readExportStats(exporter);
        if (read) stats[label] = read;
      }
      return stats;
    },
    instrument: (session, instrumentOptions) => instrumentSession(session, context, instrumentOptions),
    forceFlush: () => provider.forceFlush(),
    shutdown,
  };
}

function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

/**
 * On SIGTERM/SIGINT: end open spans and flush, then let the signal do what it
 * would have done (re-raised once our listener is gone), so a killed agent
 * still exports its session span.
 */
function installSignalFlush(shutdown: () => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = (): void => {
      const timer = setTimeout(() => reraise(), 5_000);
      void shutdown().finally(() => {
        clearTimeout(timer);
        reraise();
      });
    };
    const reraise = (): void => {
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}
