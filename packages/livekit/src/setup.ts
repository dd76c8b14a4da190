import { telemetry, type JobContext, type voice } from '@livekit/agents';
import { diag } from '@opentelemetry/api';
import { resourceFromAttributes, defaultResource, detectResources, envDetector, type Resource } from '@opentelemetry/resources';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { VOICETRACE_SCOPE, type SignalThresholds } from '@voicetrace/conventions';
import { PriceBook, SessionMetrics, VoiceTraceSpanProcessor, observeVoiceTraceCounters, type DropCounters, type PriceTable, type TraceMode, type VoiceTraceSpanProcessorOptions } from '@voicetrace/core';
import { RemoteParentIds, SpanJournal, recoverJournals } from '@voicetrace/core/internal';
import type { BoundedBatchOptions, QueuedExportStats } from '@voicetrace/exporters';
import { renderReportHtml } from '@voicetrace/report';
import { LangfuseClips, LangfuseConfigError, LangfuseMappingProcessor, LangfuseScores, LangfuseTurnRootsProcessor, langfuseConfigFromEnv, langfuseConfigWarnings, langfuseTracesUrl, type LangfuseConfig } from '@voicetrace/langfuse';
import { createS3Uploader, startAudioEgress, type AudioEgressOptions, type S3UploaderOptions } from '@voicetrace/recording';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfigGuard, signalEndpointError, strictConfig, type ConfigGuard } from './config-guard.js';
import { buildDestinations, deliveryReport, describeDestinations, destinationStats, exporterLosses, type Destination } from './exporters.js';
import { instrumentSession, type InstrumentContext, type InstrumentOptions, type InstrumentedSession, type ReportHtmlRenderer } from './instrument.js';
import { currentJob, isJobProcess, traceparentOfJob } from './job.js';
import { defaultLinkTemplates } from './links.js';
import { createLogs, type LogsOptions, type VoiceTraceLogs } from './logs.js';
import { agentResource, createMetrics, type MetricsOptions, type VoiceTraceMetrics } from './metrics.js';
import { createNotices, type WarningSink } from './notices.js';
import { installSignalFlush } from './signals.js';
import { within } from './within.js';
import { parseTraceparent } from './traceparent.js';
import type { ClipPlan } from './artifacts.js';
import { sdkFfmpegPath } from './clips.js';

/** Options of {@link setupVoiceTrace}. Everything is optional; `OTEL_*` variables are honoured. */
export interface VoiceTraceOptions {
  /** `service.name` (default: `OTEL_SERVICE_NAME`, else `voice-agent`). */
  serviceName?: string | undefined;
  /** `deployment.environment.name` on every span (default: `VOICETRACE_ENVIRONMENT`). */
  environment?: string | undefined;
  /**
   * OTLP/HTTP export. Default: on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (protocol, headers from the OTEL_* variables).
   */
  otlp?: boolean | { endpoint?: string | undefined; headers?: Record<string, string> | undefined } | undefined;
  /** Also write OTLP/JSON lines (the Collector file exporter format) to this path. */
  file?: string | undefined;
  /**
   * Direct export to LangFuse's OTel endpoint. Default: from `LANGFUSE_PUBLIC_KEY`,
   * `LANGFUSE_SECRET_KEY` and `LANGFUSE_BASE_URL` (or `LANGFUSE_HOST`) when set; half-set
   * variables turn it off with one warning naming them (see `strict`). `false` turns it off.
   */
  langfuse?: LangfuseConfig | false | undefined;
  /**
   * Add LangFuse's attributes (observation types, usage/cost details, input/output) to the
   * spans, so they read well in LangFuse directly or through a collector. Default true.
   */
  langfuseMapping?: boolean | undefined;
  /**
   * How the direct LangFuse export lays traces out. Default `turn`: one LangFuse trace per user
   * turn, grouped into the call's LangFuse session, so a long call stays well under LangFuse's
   * ~150 observations per trace while Jaeger/Tempo keep one trace per call (`traceMode`).
   * `session`: as `traceMode`.
   */
  langfuseTraceMode?: TraceMode | undefined;
  /** `langfuse.release` on every span (default: `VOICETRACE_RELEASE`). */
  release?: string | undefined;
  /** More exporters (each gets its own BatchSpanProcessor). */
  exporters?: SpanExporter[] | undefined;
  /** More processors that receive voicetrace's enriched spans (e.g. a LangFuse mapping). */
  spanProcessors?: SpanProcessor[] | undefined;
  /**
   * Whether transcripts, tool arguments/outputs and other content may leave the
   * process. Default: `LIVEKIT_TELEMETRY_ALLOW_PII` when set, else true (the SDK's default).
   * When false, the SDK strips its PII attributes in-process and voicetrace writes none.
   */
  allowPii?: boolean | undefined;
  /**
   * `session` (default) or `turn`: one trace per user turn, linked to the session (default:
   * `VOICETRACE_TRACE_MODE`). A Collector that forwards to LangFuse wants `turn`; the agent cannot see
   * that, so by default a call whose session trace passes 150 spans over OTLP (no direct LangFuse export)
   * warns once. `session` set explicitly (here or in the variable), or `langfuseMapping: false`, keeps
   * session traces without the warning.
   */
  traceMode?: TraceMode | undefined;
  /** Price overrides (`provider/model` -> prices), merged over the defaults. */
  prices?: PriceTable | undefined;
  /**
   * The export queue of every span exporter (`BoundedBatchSpanProcessor`): span and byte bounds,
   * delay (default: export every second), export and shutdown timeouts. Each wins over its
   * `OTEL_BSP_*` variable.
   */
  batch?: BoundedBatchOptions | undefined;
  /**
   * How long `shutdown()` may take in all, from the reports to the last metrics export (default
   * 5000 ms): a Collector that is down or stalled costs the process at most this at exit. Spans
   * get their queue's `shutdownTimeoutMillis` (3 s by default) of it; what cannot go in time is counted.
   */
  shutdownTimeoutMillis?: number | undefined;
  /**
   * Flush and end open spans on SIGTERM/SIGINT before the process exits. Default: true, except in
   * a LiveKit job process, where the SDK owns the lifecycle (it drains the job and runs its
   * shutdown callbacks, which is where voicetrace flushes).
   */
  handleSignals?: boolean | undefined;
  /**
   * Crash safety: a job process journals its open session and turn spans to a file
   * (`VOICETRACE_JOURNAL_DIR`, default `<tmpdir>/voicetrace-journal`); when a process is killed
   * outright, another voicetrace process (the worker, or the next job) exports them force-ended
   * and flagged `voicetrace.recovered`. Default: on in job processes, recovery on everywhere.
   * `false` turns both off.
   */
  journal?: boolean | undefined;
  /**
   * Object storage for each session's recording and report (S3 or S3-compatible, with
   * `@aws-sdk/client-s3` installed), uploaded when the session ends, bounded and retried; the
   * outcome is in the report and the trace. Default: on when `VOICETRACE_UPLOAD_BUCKET` is set
   * (`VOICETRACE_UPLOAD_PREFIX`, and the `AWS_*` variables for endpoint, region and credentials).
   */
  upload?: S3UploaderOptions | false | undefined;
  /**
   * Record each job's room with LiveKit Egress (audio-only OGG to S3, `livekit-server-sdk`
   * installed), started with the session and never awaited by the call. Off by default.
   */
  egress?: Omit<AudioEgressOptions, 'roomName'> | false | undefined;
  /**
   * LangFuse scores per turn (the wait in seconds, whether it met `latencyTargetSeconds`,
   * interrupted) and per session (p95 wait, cost), posted with `@langfuse/client` when LangFuse is
   * configured. Target default: `VOICETRACE_LATENCY_TARGET_SECONDS`, else 1.5 s. `false` turns them off.
   */
  langfuseScores?: { latencyTargetSeconds?: number | undefined } | false | undefined;
  /**
   * Thresholds of the conversation quality signals (ATTRIBUTES.md, Signals): `deadAirSeconds`
   * (default 2), `playoutGapSeconds` (0.5), `cutOffWindowSeconds` (1.5), `repeatSimilarity` (0.8), `repeatLookback` (3). The
   * slow-turn target is the LangFuse scores' latency target (`langfuseScores.latencyTargetSeconds`,
   * else `VOICETRACE_LATENCY_TARGET_SECONDS`, else 1.5 s): one target, every view.
   */
  signals?: Partial<Omit<SignalThresholds, 'latencyTargetSeconds'>> | undefined;
  /**
   * The post-call session report. `dir`: where `vt.shutdown()` writes `<dir>/<session id>/report.json`
   * (and `report.html`) for sessions whose report was not written yet (default: `VOICETRACE_REPORT_DIR`;
   * without either, reports are written only when you call `writeReport`). `links`: link templates per
   * backend (`{trace_id}`, `{session_id}` filled in). `false` turns automatic reports off. `clips`: cut
   * each turn's user speech and agent reply out of the SDK's recording (`session.start({ record: true })`)
   * as WAV files beside the report (`clips/turn-003-user.wav`), linked from report.json and played by
   * report.html, uploaded beside the recording when a bucket is set; default on, off when PII is not
   * allowed (audio is content); `{ timeoutMs }` bounds the cutting (default 10 000), `ffmpegPath` the
   * decoder (default: the SDK's, `LIVEKIT_FFMPEG_PATH` or its bundled `@livekit/av`); with LangFuse
   * configured each clip is attached to its turn's observation (media API), `langfuse: false` not.
   */
  report?:
    | { dir?: string | undefined; html?: boolean | ReportHtmlRenderer | undefined; links?: Record<string, string> | undefined; clips?: ReportClipsOption | undefined }
    | false
    | undefined;
  /**
   * One-time setup warnings and failures (a wrong endpoint, a half-set config, a report not
   * written): printed to stderr by default, or given to this function (e.g. your logger);
   * `false` silences them (`VOICETRACE_WARNINGS=off` too). They always reach OTel's `diag`.
   */
  warnings?: WarningSink | undefined;
  /**
   * The agent's OTel metrics (METRICS.md: LiveKit's `lk.agents.turn.*` and `lk.agents.usage.*`,
   * `voicetrace.wait.*`, cost, errors, drops) over OTLP/HTTP, cumulative, with a unique
   * `service.instance.id` per process. Default: on when an OTLP endpoint is configured
   * (`OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT`, the `otlp` option); `OTEL_METRICS_EXPORTER=none` or
   * `false` turns it off. `OTEL_METRIC_EXPORT_INTERVAL` (default 15 s) and the
   * `OTEL_EXPORTER_OTLP_METRICS_*` variables are honoured.
   */
  metrics?: boolean | MetricsOptions | undefined;
  /**
   * The agent's logs beside its trace: the SDK's pino records (instrumented by
   * `node --import @voicetrace/livekit/register`) carry the turn's trace and span ids, go to the
   * Collector over OTLP/HTTP (same default rule as `metrics`, `OTEL_LOGS_EXPORTER`), and each
   * turn's warnings and errors land in the session report. `false` turns both off.
   */
  logs?: boolean | LogsOptions | undefined;
  /**
   * Telemetry configuration never takes calls down: a destination whose settings cannot work (an
   * `OTEL_EXPORTER_OTLP_*ENDPOINT` or `endpoint` option that is not an http(s) URL, such as
   * `localhost:4318`; LangFuse half set, or its `baseUrl` not a URL) is named once (the setting, its
   * value with credentials masked, what was turned off) and turned off, and everything else keeps
   * running. `true` throws the typed error instead (`OtlpConfigError` with the `setting`,
   * `LangfuseConfigError` with the `missing`/`invalid` settings), e.g. in CI. Default: `VOICETRACE_STRICT_CONFIG=true`, else false.
   */
  strict?: boolean | undefined;
}

/** What {@link setupVoiceTrace} returns. */
export interface VoiceTrace {
  /** The registered provider (use it for your own spans, or `trace.getTracer` from the global API). */
  readonly provider: NodeTracerProvider;
  /** Drop/correction counters, by reason. */
  readonly counters: DropCounters;
  /**
   * Export counters per configured exporter (`otlp`, `file`, `langfuse`, `exporter.<n>`): spans
   * delivered (`exportedSpans`) and lost for good (`lostSpans`, by reason in `lostByReason`), the
   * queue's counters (`queue`) and the exporter's (requests, retries, failures by reason).
   */
  exportStats(): Record<string, QueuedExportStats>;
  /** The agent's metrics (provider, `service.instance.id`, export counters `stats()`), when on. */
  readonly metrics: VoiceTraceMetrics | undefined;
  /** The agent's logs (provider, export counters `stats()`), unless `logs: false`. */
  readonly logs: VoiceTraceLogs | undefined;
  /** Adds a processor to the provider after setup (the SDK attaches LiveKit Cloud's this way). */
  registerSpanProcessor(processor: SpanProcessor): void;
  /** Traces one `AgentSession`: call it right before `session.start()`. */
  instrument(session: voice.AgentSession, options?: InstrumentOptions): InstrumentedSession;
  /**
   * For the job's `onSessionEnd` (`defineAgent({ entry, onSessionEnd: (ctx) => vt.onSessionEnd(ctx) })`):
   * writes the report of each session of this job (with the SDK's own report, recording path and
   * offsets) and exports everything finished. Never throws (failures are said once and kept in
   * each session's `lastReport`).
   */
  onSessionEnd(jobContext?: JobContext): Promise<void>;
  /** Exports everything finished so far. */
  forceFlush(): Promise<void>;
  /**
   * Writes the reports not written yet (when `report.dir` is set), ends open spans (flagged),
   * flushes and shuts the exporters down. Idempotent.
   */
  shutdown(): Promise<void>;
}

/**
 * One call in the agent: builds a registered OTel SDK 2.x tracer provider,
 * wires it into `@livekit/agents` (`telemetry.setTracerProvider` through the
 * SDK's `FanoutSpanProcessor`, so LiveKit Cloud tracing can still attach), and
 * returns a handle that instruments sessions. In a LiveKit agent, call it at
 * module load of the agent file: the job process imports that file before the
 * SDK starts the job's first span.
 *
 * @example
 * ```ts
 * const vt = setupVoiceTrace({ serviceName: 'support-agent' });
 * export default defineAgent({
 *   entry: async (ctx) => {
 *     // ... create the AgentSession
 *     vt.instrument(session, { sessionId: ctx.room.name });
 *     await session.start({ agent, room: ctx.room });
 *   },
 *   onSessionEnd: (ctx) => vt.onSessionEnd(ctx),
 * });
 * ```
 */
export function setupVoiceTrace(options: VoiceTraceOptions = {}): VoiceTrace {
  const base = readBasics(options);
  const config = configureDestinations(base);
  const pipeline = createSpanPipeline(base, config);
  const tracing = registerTracing(base, pipeline);
  const signals = startMetricsAndLogs(base, config, tracing.resource, pipeline.processor);
  const context = instrumentContext(base, config, pipeline, tracing, signals);
  const shutdown = shutdownSequence(base, context, pipeline.processor, tracing.provider, signals);
  if (options.handleSignals ?? !base.inJobProcess) installSignalFlush({ shutdown, deliveryReport: () => deliveryReport(config.destinations) });
  if (pipeline.journalDir !== undefined) startRecovery(pipeline.journalDir, tracing.resource, pipeline.processor);
  return voiceTraceHandle(config, pipeline, tracing, signals, context, shutdown);
}

// ---- the steps of setupVoiceTrace, in order ------------------------------------------------

/** What every step reads: the options, the environment, the notices, and what is decided once. */
interface SetupBasics {
  options: VoiceTraceOptions;
  env: NodeJS.ProcessEnv;
  warn: (key: string, message: string) => void;
  allowPii: boolean;
  inJobProcess: boolean;
  traceMode: TraceMode;
  environment: string | undefined;
}

/** Where spans, metrics and logs go, every destination whose settings can work. */
interface DestinationConfig {
  langfuse: LangfuseConfig | undefined;
  destinations: Destination[];
  /** The `metrics` and `logs` options, OTLP export off for a signal whose endpoint setting cannot work. */
  metrics: VoiceTraceOptions['metrics'];
  logs: VoiceTraceOptions['logs'];
  /** Logs' OTLP export turned off (its endpoint setting cannot work); the records still reach the session report. */
  logsOtlpOff: boolean;
}

interface SpanPipeline {
  processor: VoiceTraceSpanProcessor;
  remoteParents: RemoteParentIds;
  /** Where span journals are read from (and written, in a job process); undefined with `journal: false`. */
  journalDir: string | undefined;
}

interface Tracing {
  provider: NodeTracerProvider;
  fanout: telemetry.FanoutSpanProcessor;
  resource: Resource;
  serviceName: string;
}

interface MetricsAndLogs {
  metrics: VoiceTraceMetrics | undefined;
  logs: VoiceTraceLogs | undefined;
  stopCounters: (() => void) | undefined;
  /** Exports the metrics and logs recorded so far. */
  flush(): Promise<void>;
}

/** Step 1: the environment, the notices, and the switches every later step reads (PII, trace mode). */
function readBasics(options: VoiceTraceOptions): SetupBasics {
  const env = process.env;
  const warn = createNotices(options.warnings, env);
  return {
    options,
    env,
    warn,
    allowPii: options.allowPii ?? parsePiiSwitch(env.LIVEKIT_TELEMETRY_ALLOW_PII, warn) ?? true,
    inJobProcess: isJobProcess(),
    traceMode: options.traceMode ?? (env.VOICETRACE_TRACE_MODE === 'turn' ? 'turn' : 'session'),
    environment: options.environment ?? env.VOICETRACE_ENVIRONMENT,
  };
}

/**
 * Step 2: the destinations. One whose settings cannot work (an endpoint without a scheme, LangFuse
 * half set) is turned off and said once, naming the setting; the others go on. Strict
 * (`strict: true`, `VOICETRACE_STRICT_CONFIG=true`) throws its typed error instead.
 */
function configureDestinations(base: SetupBasics): DestinationConfig {
  const { options, env, warn } = base;
  const guard = createConfigGuard(strictConfig(options.strict, env, warn), warn);
  const langfuse = langfuseConfigOf(base, guard);
  const destinations = buildDestinations({ otlp: options.otlp, file: options.file, langfuse, exporters: options.exporters, batch: options.batch, env, warn, reject: guard.reject });
  const signals = otlpSignalOptions(base, guard);
  guard.flush();
  warn('destinations', describeDestinations(destinations, options.spanProcessors?.length ?? 0));
  // a LangFuse that cannot be reached by spans gets no scores either
  return { langfuse: destinations.some((d) => d.label === 'langfuse') ? langfuse : undefined, destinations, ...signals };
}

/** LangFuse's settings: the option, else the `LANGFUSE_*` variables (their likely mistakes said once); half set is rejected. */
function langfuseConfigOf(base: SetupBasics, guard: ConfigGuard): LangfuseConfig | undefined {
  const { options, env, warn } = base;
  if (options.langfuse === false) return undefined;
  let langfuse: LangfuseConfig | undefined;
  try {
    langfuse = options.langfuse ?? langfuseConfigFromEnv(env);
    // the option's baseUrl is checked here, as the variables' is: a URL without a scheme is the typed error
    if (options.langfuse) langfuseTracesUrl(options.langfuse.baseUrl);
  } catch (error) {
    if (!(error instanceof LangfuseConfigError)) throw error;
    guard.reject(error, 'LangFuse export (spans and scores)');
    return undefined;
  }
  if (langfuse) for (const warning of langfuseConfigWarnings(langfuse, options.langfuse ? {} : env)) warn(warning, warning);
  return langfuse;
}

/** The `metrics` and `logs` options, with OTLP export turned off (rejected) for a signal whose endpoint setting cannot work. */
function otlpSignalOptions(base: SetupBasics, guard: ConfigGuard): Pick<DestinationConfig, 'metrics' | 'logs' | 'logsOtlpOff'> {
  const { options, env } = base;
  let metrics = options.metrics;
  const metricsError = signalEndpointError('metrics', metrics, options.otlp, env);
  if (metricsError) {
    guard.reject(metricsError, 'OTLP metrics');
    // readers of your own still get the metrics
    metrics = typeof metrics === 'object' && metrics.readers?.length ? { ...metrics, endpoint: undefined } : false;
  }
  // logs also feed the session report: only their export goes, whether the endpoint came from the option or a variable
  const logsError = signalEndpointError('logs', options.logs, options.otlp, env);
  if (logsError) guard.reject(logsError, 'OTLP logs');
  return { metrics, logs: options.logs, logsOtlpOff: logsError !== undefined };
}

/**
 * Step 3: voicetrace's span processor, feeding the LangFuse mapping, every destination's export
 * queue and your processors; LangFuse (direct) gets a trace per user turn unless told otherwise.
 */
function createSpanPipeline(base: SetupBasics, config: DestinationConfig): SpanPipeline {
  const { options, env, allowPii, traceMode, inJobProcess } = base;
  // LangFuse (direct) gets a trace per turn unless told otherwise: long calls overflow its trace view
  const langfusePerTurn = Boolean(config.langfuse) && (options.langfuseTraceMode ?? 'turn') === 'turn';
  const perTurn = config.destinations.filter((d) => langfusePerTurn && d.label === 'langfuse');
  const whole = config.destinations.filter((d) => !perTurn.includes(d));
  // the mapping runs in onEnding, after voicetrace's own enrichment and before any export; it names
  // trace roots as LangFuse will receive them
  const mappingOptions = { allowPii, release: options.release ?? env.VOICETRACE_RELEASE, traceMode };
  const mapping = options.langfuseMapping === false ? [] : [new LangfuseMappingProcessor(mappingOptions)];
  // a job's root spans start in the trace of the traceparent it was dispatched with
  const remoteParents = new RemoteParentIds(() => parseTraceparent(traceparentOfJob(currentJob())));
  const journalDir = options.journal === false ? undefined : (env.VOICETRACE_JOURNAL_DIR ?? join(tmpdir(), 'voicetrace-journal'));
  const processor = new VoiceTraceSpanProcessor({
    next: [...mapping, ...whole.map((d) => d.processor), ...(options.spanProcessors ?? [])],
    // LangFuse's per-turn traces: each user turn that roots one gets the trace's name and input
    nextPerTurn: perTurn.map((d) => new LangfuseTurnRootsProcessor(d.processor, { ...mappingOptions, traceMode: 'turn' })),
    traceMode,
    remoteParents,
    journal: journalDir !== undefined && inJobProcess ? new SpanJournal(journalDir) : undefined,
    largeTrace: largeSessionTraceWarning(base, config),
  });
  return { processor, remoteParents, journalDir };
}

/**
 * LangFuse's guidance: at most about 150 observations per trace (its trace view and ingestion degrade
 * past that). A call in session mode is one trace of ~17 spans per turn: past it after 9 turns.
 */
const LANGFUSE_MAX_OBSERVATIONS_PER_TRACE = 150;

/**
 * The README's LangFuse-through-the-Collector path needs `VOICETRACE_TRACE_MODE=turn`, and the agent
 * cannot see whether its Collector forwards to LangFuse: with session traces going over OTLP and no
 * direct LangFuse export (that one is per turn by itself), the first call whose trace passes LangFuse's
 * guidance says once what to set. Session mode chosen explicitly (`traceMode: 'session'`,
 * `VOICETRACE_TRACE_MODE=session`) or `langfuseMapping: false` says LangFuse is not the concern: no warning.
 */
function largeSessionTraceWarning(base: SetupBasics, config: DestinationConfig): VoiceTraceSpanProcessorOptions['largeTrace'] {
  const { options, env, traceMode, warn } = base;
  const sessionChosen = (options.traceMode ?? env.VOICETRACE_TRACE_MODE) === 'session';
  const labels = config.destinations.map((d) => d.label);
  if (traceMode !== 'session' || sessionChosen || options.langfuseMapping === false || !labels.includes('otlp') || labels.includes('langfuse')) return undefined;
  return {
    spans: LANGFUSE_MAX_OBSERVATIONS_PER_TRACE,
    exceeded: () =>
      warn(
        'langfuse:session-trace',
        `voicetrace: a call's trace passed ${LANGFUSE_MAX_OBSERVATIONS_PER_TRACE} spans (session trace mode, one trace per call). If your Collector forwards to LangFuse ` +
          `(collector-config/overlays/langfuse.yaml), set VOICETRACE_TRACE_MODE=turn (or traceMode: 'turn'): LangFuse advises at most ${LANGFUSE_MAX_OBSERVATIONS_PER_TRACE} observations per trace, and turn mode makes one trace per user turn. ` +
          "If it does not, this does not matter: set VOICETRACE_TRACE_MODE=session (or traceMode: 'session') to keep session traces without this warning.",
      ),
  };
}

/**
 * Step 4: the registered tracer provider (with a global context manager: without it most SDK spans
 * lose their parent), wired into the SDK through its `FanoutSpanProcessor`, so LiveKit Cloud's
 * processor can still attach.
 */
function registerTracing(base: SetupBasics, pipeline: SpanPipeline): Tracing {
  const { options, env, allowPii } = base;
  const fanout = new telemetry.FanoutSpanProcessor();
  fanout.add(pipeline.processor);
  const serviceName = options.serviceName ?? env.OTEL_SERVICE_NAME ?? 'voice-agent';
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [fanout], idGenerator: pipeline.remoteParents });
  provider.register();
  telemetry.setTracerProvider(provider, { registerSpanProcessor: (p) => fanout.add(p), allowPii });
  return { provider, fanout, resource, serviceName };
}

/** Step 5 (issue #12): metrics and logs, views of each session's model, on their own providers. */
function startMetricsAndLogs(base: SetupBasics, config: DestinationConfig, resource: Resource, processor: VoiceTraceSpanProcessor): MetricsAndLogs {
  const { options, env, warn, environment, inJobProcess } = base;
  const agent = agentResource(resource, environment, warn);
  const metrics = createMetrics({ option: config.metrics, otlp: options.otlp, resource: agent.resource, serviceInstanceId: agent.serviceInstanceId, env, warn });
  // voicetrace.exporter.dropped_spans: the loss each destination's stats() reports, every reason
  const stopCounters = metrics ? observeVoiceTraceCounters({ meter: metrics.meter, counters: processor.counters, exporterDrops: () => exporterLosses(config.destinations), environment }) : undefined;
  const logs = createLogs({ option: config.logs, otlp: options.otlp, resource: agent.resource, env, warn, inJobProcess, otlpOff: config.logsOtlpOff });
  if (metrics) warn('metrics', `voicetrace: metrics go to ${metrics.target}`);
  return { metrics, logs, stopCounters, flush: async () => void (await Promise.all([metrics?.forceFlush(), logs?.forceFlush()])) };
}

/** Step 6: what instrumented sessions share: tracer, prices, reports, uploads, scores, egress. */
function instrumentContext(base: SetupBasics, config: DestinationConfig, pipeline: SpanPipeline, tracing: Tracing, signals: MetricsAndLogs): InstrumentContext {
  const { options, env, warn, allowPii, traceMode, environment } = base;
  const reportOptions = options.report === false ? undefined : options.report;
  const { langfuse } = config;
  // one latency target for the LangFuse scores and the slow-turn signal
  const latencyTarget = (options.langfuseScores ? options.langfuseScores.latencyTargetSeconds : undefined) ?? (Number(env.VOICETRACE_LATENCY_TARGET_SECONDS) || 1.5);
  return {
    processor: pipeline.processor,
    tracer: tracing.provider.getTracer(VOICETRACE_SCOPE),
    prices: new PriceBook(options.prices),
    allowPii,
    environment,
    serviceName: tracing.serviceName,
    traceMode,
    report: {
      dir: reportOptions?.dir ?? env.VOICETRACE_REPORT_DIR,
      autoWrite: options.report !== false && (reportOptions?.dir ?? env.VOICETRACE_REPORT_DIR) !== undefined,
      // report.html beside report.json unless turned off (or rendered by a function of yours)
      html: typeof reportOptions?.html === 'function' ? reportOptions.html : reportOptions?.html === false ? undefined : (report, htmlPath) => renderReportHtml(report, { htmlPath }),
      links: reportOptions?.links ?? defaultLinkTemplates(env),
      clips: clipPlan(reportOptions?.clips, allowPii, langfuse),
    },
    warn,
    sessions: new Set(),
    flush: async () => void (await Promise.all([tracing.provider.forceFlush(), signals.flush()])),
    // >>> metrics and logs of each session (issue #12)
    views: (engine) => {
      signals.logs?.processor.track(engine);
      if (signals.metrics) engine.observe(new SessionMetrics({ meter: signals.metrics.meter, environment, currentAgent: () => engine.model.currentAgent }));
    },
    // <<<
    uploader: uploaderFrom(options.upload, env),
    scores:
      langfuse && options.langfuseScores !== false
        ? {
            scores: new LangfuseScores(langfuse, { environment }),
            latencyTargetSeconds: latencyTarget,
          }
        : undefined,
    signalThresholds: { ...options.signals, latencyTargetSeconds: latencyTarget },
    egress: options.egress ? (roomName) => startAudioEgress({ ...(options.egress as Omit<AudioEgressOptions, 'roomName'>), roomName }) : undefined,
  };
}

/**
 * Step 7: `shutdown()`, idempotent, within one deadline for everything (a dead Collector must not
 * hold the process past it): reports first (they read the session model, which shutdown closes),
 * then spans, then the providers and scores, last metrics and logs (the sessions' ends and the final
 * drop counts are in that export).
 */
function shutdownSequence(base: SetupBasics, context: InstrumentContext, processor: VoiceTraceSpanProcessor, provider: NodeTracerProvider, signals: MetricsAndLogs): () => Promise<void> {
  const { options } = base;
  const budget = positiveOr(options.shutdownTimeoutMillis, DEFAULT_SHUTDOWN_BUDGET_MS);
  let shutdownPromise: Promise<void> | undefined;
  return () => {
    shutdownPromise ??= (async () => {
      const deadline = Date.now() + budget;
      const left = (): number => Math.max(MIN_STEP_MS, deadline - Date.now());
      if (context.report.autoWrite) await within(Promise.all([...context.sessions].filter((s) => !s.reportWritten).map((s) => s.writeReport())), left());
      await within(processor.shutdown(), left());
      await within(Promise.all([provider.shutdown(), context.scores?.scores.flush()]), left());
      await Promise.all([signals.metrics?.shutdown(left()), signals.logs?.shutdown(left())]);
      signals.stopCounters?.();
    })().catch((error) => diag.error('voicetrace: shutdown', error));
    return shutdownPromise;
  };
}

/** Step 8: the handle {@link setupVoiceTrace} returns. */
function voiceTraceHandle(config: DestinationConfig, pipeline: SpanPipeline, tracing: Tracing, signals: MetricsAndLogs, context: InstrumentContext, shutdown: () => Promise<void>): VoiceTrace {
  const { provider, fanout } = tracing;
  return {
    provider,
    counters: pipeline.processor.counters,
    registerSpanProcessor: (p) => fanout.add(p),
    exportStats: () => destinationStats(config.destinations),
    metrics: signals.metrics,
    logs: signals.logs,
    instrument: (session, instrumentOptions) => instrumentSession(session, context, instrumentOptions),
    onSessionEnd: async (jobContext) => {
      const job = jobContext ?? currentJob();
      const mine = [...context.sessions].filter((s) => !job || !s.jobContext || s.jobContext === job);
      await Promise.all(mine.map((s) => s.writeReport({ jobContext: job })));
      await Promise.all([provider.forceFlush().catch(() => {}), context.scores?.scores.flush(), signals.flush()]);
    },
    forceFlush: async () => void (await Promise.all([provider.forceFlush(), signals.flush()])),
    shutdown,
  };
}

/**
 * Exports what killed processes left open (their span journals), now and
 * every few seconds, from whichever voicetrace process is alive (the worker
 * sees its job processes die). The timer never keeps the process alive.
 */
function startRecovery(dir: string, resource: Resource, processor: VoiceTraceSpanProcessor): void {
  const sweep = (): void => {
    try {
      recoverJournals(dir, { resource, export: (spans) => spans.forEach((span) => processor.onEnd(span)) });
    } catch {
      // recovery is best effort
    }
  };
  setTimeout(sweep, 1_000).unref();
  setInterval(sweep, Number(process.env.VOICETRACE_JOURNAL_SWEEP_MS ?? 5_000)).unref();
}

/** The object-storage uploader of the options, else of `VOICETRACE_UPLOAD_BUCKET`, else none. */
function uploaderFrom(option: S3UploaderOptions | false | undefined, env: NodeJS.ProcessEnv): ReturnType<typeof createS3Uploader> | undefined {
  if (option === false) return undefined;
  if (option) return createS3Uploader(option);
  return env.VOICETRACE_UPLOAD_BUCKET ? createS3Uploader({ bucket: env.VOICETRACE_UPLOAD_BUCKET, prefix: env.VOICETRACE_UPLOAD_PREFIX }) : undefined;
}

/** The SDK's PII switch; an unreadable value is said once and read as its default. */
function parsePiiSwitch(value: string | undefined, warn: (key: string, message: string) => void): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  warn('pii', `voicetrace: LIVEKIT_TELEMETRY_ALLOW_PII=${value} is not true or false; content (transcripts, tool arguments) is NOT exported. Set it to true or false.`);
  return false;
}

/** `shutdown()`'s whole budget by default: inside the SDK's job shutdown and Kubernetes' grace period. */
const DEFAULT_SHUTDOWN_BUDGET_MS = 5_000;
/** Each step of the shutdown gets at least this, even past the deadline (one last try). */
const MIN_STEP_MS = 250;

function positiveOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** The clip plan the options ask for: none when turned off or when PII is not allowed (audio is content). */
function clipPlan(option: ReportClipsOption | undefined, allowPii: boolean, langfuse: LangfuseConfig | undefined): ClipPlan | undefined {
  if (option === false || !allowPii) return undefined;
  const given = typeof option === 'object' ? option : {};
  return {
    timeoutMs: given.timeoutMs !== undefined && given.timeoutMs > 0 ? given.timeoutMs : 10_000,
    ffmpegPath: given.ffmpegPath ?? sdkFfmpegPath(),
    // each clip on its LangFuse observation, where LangFuse gets the spans
    langfuse: langfuse && given.langfuse !== false ? new LangfuseClips(langfuse) : undefined,
  };
}

/** `report.clips`: on (default), off, or how. */
export type ReportClipsOption = boolean | { timeoutMs?: number | undefined; ffmpegPath?: string | undefined; langfuse?: boolean | undefined };
