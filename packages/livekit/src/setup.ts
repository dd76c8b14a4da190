import { telemetry, type JobContext, type voice } from '@livekit/agents';
import { diag } from '@opentelemetry/api';
import { resourceFromAttributes, defaultResource, detectResources, envDetector, type Resource } from '@opentelemetry/resources';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { VOICETRACE_SCOPE } from '@voicetrace/conventions';
import { PriceBook, RemoteParentIds, SessionMetrics, SpanJournal, VoiceTraceSpanProcessor, observeVoiceTraceCounters, recoverJournals, type DropCounters, type PriceTable, type TraceMode } from '@voicetrace/core';
import type { BoundedBatchOptions, ExportStats } from '@voicetrace/exporters';
import { renderReportHtml } from '@voicetrace/report';
import { LangfuseMappingProcessor, LangfuseScores, LangfuseTurnRootsProcessor, langfuseConfigFromEnv, langfuseConfigWarnings, type LangfuseConfig } from '@voicetrace/langfuse';
import { createS3Uploader, startAudioEgress, type AudioEgressOptions, type S3UploaderOptions } from '@voicetrace/recording';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDestinations, deliveryReport, describeDestinations, destinationStats } from './exporters.js';
import { instrumentSession, type InstrumentContext, type InstrumentOptions, type InstrumentedSession, type ReportHtmlRenderer } from './instrument.js';
import { currentJob, isJobProcess, traceparentOfJob } from './job.js';
import { defaultLinkTemplates } from './links.js';
import { createLogs, type LogsOptions, type VoiceTraceLogs } from './logs.js';
import { agentResource, createMetrics, exporterDrops, type MetricsOptions, type VoiceTraceMetrics } from './metrics.js';
import { createNotices, type WarningSink } from './notices.js';
import { installSignalFlush } from './signals.js';
import { within } from './within.js';
import { parseTraceparent } from './traceparent.js';

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
   * variables throw one `LangfuseConfigError` here, at setup. `false` turns it off.
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
  /** `session` (default) or `turn`: one trace per user turn, linked to the session. */
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
   * The post-call session report. `dir`: where `vt.shutdown()` writes `<dir>/<session id>/report.json`
   * (and `report.html`) for sessions whose report was not written yet (default: `VOICETRACE_REPORT_DIR`;
   * without either, reports are written only when you call `writeReport`). `links`: link templates per
   * backend (`{trace_id}`, `{session_id}` filled in). `false` turns automatic reports off.
   */
  report?: { dir?: string | undefined; html?: boolean | ReportHtmlRenderer | undefined; links?: Record<string, string> | undefined } | false | undefined;
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
}

/** What {@link setupVoiceTrace} returns. */
export interface VoiceTrace {
  /** The registered provider (use it for your own spans, or `trace.getTracer` from the global API). */
  readonly provider: NodeTracerProvider;
  /** Drop/correction counters, by reason. */
  readonly counters: DropCounters;
  /** Export counters per configured exporter (`otlp`, `file`, `langfuse`, `exporter.<n>`). */
  exportStats(): Record<string, ExportStats>;
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
  const env = process.env;
  const warn = createNotices(options.warnings, env);
  const allowPii = options.allowPii ?? parsePiiSwitch(env.LIVEKIT_TELEMETRY_ALLOW_PII, warn) ?? true;
  const inJobProcess = isJobProcess();
  const langfuse = options.langfuse === false ? undefined : (options.langfuse ?? langfuseConfigFromEnv(env));
  if (langfuse) for (const warning of langfuseConfigWarnings(langfuse, options.langfuse ? {} : env)) warn(warning, warning);
  const destinations = buildDestinations({ otlp: options.otlp, file: options.file, langfuse, exporters: options.exporters, batch: options.batch, env, warn });
  warn('destinations', describeDestinations(destinations, options.spanProcessors?.length ?? 0));
  const traceMode: TraceMode = options.traceMode ?? (env.VOICETRACE_TRACE_MODE === 'turn' ? 'turn' : 'session');
  // LangFuse (direct) gets a trace per turn unless told otherwise: long calls overflow its trace view
  const langfusePerTurn = Boolean(langfuse) && (options.langfuseTraceMode ?? 'turn') === 'turn';
  const perTurn = destinations.filter((d) => langfusePerTurn && d.label === 'langfuse');
  const whole = destinations.filter((d) => !perTurn.includes(d));
  // the mapping runs in onEnding, after voicetrace's own enrichment and before any export; it names
  // trace roots as LangFuse will receive them
  const mappingOptions = { allowPii, release: options.release ?? env.VOICETRACE_RELEASE, traceMode };
  const mapping = options.langfuseMapping === false ? [] : [new LangfuseMappingProcessor(mappingOptions)];
  // a job's root spans start in the trace of the traceparent it was dispatched with
  const remoteParents = new RemoteParentIds(() => parseTraceparent(traceparentOfJob(currentJob())));
  const journalDir = env.VOICETRACE_JOURNAL_DIR ?? join(tmpdir(), 'voicetrace-journal');
  const journaling = options.journal !== false;
  const processor = new VoiceTraceSpanProcessor({
    next: [...mapping, ...whole.map((d) => d.processor), ...(options.spanProcessors ?? [])],
    // LangFuse's per-turn traces: each user turn that roots one gets the trace's name and input
    nextPerTurn: perTurn.map((d) => new LangfuseTurnRootsProcessor(d.processor, { ...mappingOptions, traceMode: 'turn' })),
    traceMode,
    remoteParents,
    journal: journaling && inJobProcess ? new SpanJournal(journalDir) : undefined,
  });
  const fanout = new telemetry.FanoutSpanProcessor();
  fanout.add(processor);
  const serviceName = options.serviceName ?? env.OTEL_SERVICE_NAME ?? 'voice-agent';
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [fanout], idGenerator: remoteParents });
  // a global context manager: without it most SDK spans lose their parent
  provider.register();
  telemetry.setTracerProvider(provider, { registerSpanProcessor: (p) => fanout.add(p), allowPii });

  // >>> metrics and logs (issue #12): views of each session's model, on their own providers
  const environment = options.environment ?? env.VOICETRACE_ENVIRONMENT;
  const signals = agentResource(resource, environment, warn);
  const metrics = createMetrics({ option: options.metrics, otlp: options.otlp, resource: signals.resource, serviceInstanceId: signals.serviceInstanceId, env, warn });
  const stopCounters = metrics ? observeVoiceTraceCounters({ meter: metrics.meter, counters: processor.counters, exporterDrops: () => exporterDrops(destinations), environment }) : undefined;
  const logs = createLogs({ option: options.logs, otlp: options.otlp, resource: signals.resource, env, warn, inJobProcess });
  if (metrics) warn('metrics', `voicetrace: metrics go to ${metrics.target}`);
  const flushSignals = async (): Promise<void> => void (await Promise.all([metrics?.forceFlush(), logs?.forceFlush()]));
  // <<< metrics and logs

  const reportOptions = options.report === false ? undefined : options.report;
  const context: InstrumentContext = {
    processor,
    tracer: provider.getTracer(VOICETRACE_SCOPE),
    prices: new PriceBook(options.prices),
    allowPii,
    environment: options.environment ?? env.VOICETRACE_ENVIRONMENT,
    serviceName,
    traceMode,
    report: {
      dir: reportOptions?.dir ?? env.VOICETRACE_REPORT_DIR,
      // report.html beside report.json unless turned off (or rendered by a function of yours)
      html: typeof reportOptions?.html === 'function' ? reportOptions.html : reportOptions?.html === false ? undefined : (report, htmlPath) => renderReportHtml(report, { htmlPath }),
      links: reportOptions?.links ?? defaultLinkTemplates(env),
    },
    warn,
    sessions: new Set(),
    flush: async () => void (await Promise.all([provider.forceFlush(), flushSignals()])),
    // >>> metrics and logs of each session (issue #12)
    views: (engine) => {
      logs?.processor.track(engine);
      if (metrics) engine.observe(new SessionMetrics({ meter: metrics.meter, environment, currentAgent: () => engine.model.currentAgent }));
    },
    // <<<
    uploader: uploaderFrom(options.upload, env),
    scores:
      langfuse && options.langfuseScores !== false
        ? {
            scores: new LangfuseScores(langfuse, { environment: options.environment ?? env.VOICETRACE_ENVIRONMENT }),
            latencyTargetSeconds: options.langfuseScores?.latencyTargetSeconds ?? (Number(env.VOICETRACE_LATENCY_TARGET_SECONDS) || 1.5),
          }
        : undefined,
    egress: options.egress ? (roomName) => startAudioEgress({ ...(options.egress as Omit<AudioEgressOptions, 'roomName'>), roomName }) : undefined,
  };
  const autoReports = options.report !== false && context.report.dir !== undefined;
  const shutdownBudget = positiveOr(options.shutdownTimeoutMillis, DEFAULT_SHUTDOWN_BUDGET_MS);
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shutdownPromise ??= (async () => {
      // one deadline for everything: a dead Collector must not hold the process past it
      const deadline = Date.now() + shutdownBudget;
      const left = (): number => Math.max(MIN_STEP_MS, deadline - Date.now());
      // reports first: they read the session model, which shutdown closes
      if (autoReports) await within(Promise.all([...context.sessions].filter((s) => !s.reportWritten).map((s) => s.writeReport())), left());
      await within(processor.shutdown(), left());
      await within(Promise.all([provider.shutdown(), context.scores?.scores.flush()]), left());
      // last: the sessions' ends (active sessions -1) and the final drop counts are in this export
      await Promise.all([metrics?.shutdown(left()), logs?.shutdown(left())]);
      stopCounters?.();
    })().catch((error) => diag.error('voicetrace: shutdown', error));
    return shutdownPromise;
  };
  if (options.handleSignals ?? !inJobProcess) installSignalFlush({ shutdown, deliveryReport: () => deliveryReport(destinations) });
  if (journaling) startRecovery(journalDir, resource, processor);
  return {
    provider,
    counters: processor.counters,
    registerSpanProcessor: (p) => fanout.add(p),
    exportStats: () => destinationStats(destinations),
    metrics,
    logs,
    instrument: (session, instrumentOptions) => instrumentSession(session, context, instrumentOptions),
    onSessionEnd: async (jobContext) => {
      const job = jobContext ?? currentJob();
      const mine = [...context.sessions].filter((s) => !job || !s.jobContext || s.jobContext === job);
      await Promise.all(mine.map((s) => s.writeReport({ jobContext: job })));
      await Promise.all([provider.forceFlush().catch(() => {}), context.scores?.scores.flush(), flushSignals()]);
    },
    forceFlush: async () => void (await Promise.all([provider.forceFlush(), flushSignals()])),
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
