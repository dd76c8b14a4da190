import { diag, type Context, type SpanContext } from '@opentelemetry/api';
import { logs, SeverityNumber, type Logger, type LoggerOptions, type LoggerProvider as ApiLoggerProvider, type LogRecord as ApiLogRecord } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as OtlpHttpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import type { Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type LogRecordProcessor, type ReadableLogRecord, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { SessionEngine } from '@voicetrace/core';
import { redactUrl, requestSecrets, scrubSecrets } from '@voicetrace/exporters';
import { resolveSignalEndpoint, signalWanted } from './metrics.js';
import { within } from './within.js';

/**
 * The agent's logs beside its trace (issue #12). The SDK's pino logger is
 * instrumented by `@opentelemetry/instrumentation-pino` (`node --import
 * @voicetrace/livekit/register ...`: the SDK loads pino before any agent code
 * runs, so only a module loaded first can instrument it): each line carries
 * the trace and span id of the turn it was written in and becomes an OTel log
 * record. This module provides where those records go: a `LoggerProvider` with
 * the stock OTLP logs exporter (to the Collector's logs pipeline), and a
 * processor that puts each turn's warnings and errors on that turn of the
 * session model (report.json `voicetrace.turns[].logs`). In trace-per-turn
 * mode a turn's spans are exported in another trace than the live one: the
 * ids of a record (and of pino's `trace_id`) are mapped the way the span
 * export maps them (the session's trace layout).
 */

/** `logs` option of `setupVoiceTrace`. */
export interface LogsOptions {
  /**
   * OTLP/HTTP URL: a base (`/v1/logs` appended) or the full `.../v1/logs` URL. Default:
   * `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/logs`, else the
   * `otlp` option's endpoint, else `http://localhost:4318/v1/logs`.
   */
  endpoint?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Export with this exporter instead of OTLP. */
  exporter?: LogRecordExporter | undefined;
  /** Turn warnings (and worse) into the session report; default `true`. */
  report?: boolean | undefined;
}

/** What the logs exporter did so far. */
export interface LogExportStats {
  exportedRecords: number;
  failedRecords: number;
  failedExports: number;
  lastFailure?: string | undefined;
}

/** The logs of a setup (`vt.logs`). */
export interface VoiceTraceLogs {
  readonly provider: LoggerProvider;
  /** Maps ids and feeds the session report; add it to your own LoggerProvider if one is already registered. */
  readonly processor: SessionLogProcessor;
  /** Where the records go (undefined: nowhere but the session report). */
  readonly target: string | undefined;
  /** Whether `@voicetrace/livekit/register` instrumented pino in this process. */
  readonly pinoInstrumented: boolean;
  stats(): LogExportStats;
  forceFlush(): Promise<void>;
  /** Exports what is buffered and stops, within `timeoutMillis` (default 5 s). Idempotent. */
  shutdown(timeoutMillis?: number): Promise<void>;
}

/** Process-wide state shared by every copy of this module (ESM and CommonJS) and by the register module. */
interface LogsGlobal {
  /** The OTel global logger provider voicetrace registered once; each setup points it at its own provider. */
  provider?: SwitchingLoggerProvider;
  /** Maps a live span to the ids it is exported under: pino's `trace_id` (see register.mts). */
  exportedIds?: (traceId: string, spanId: string) => { traceId: string; spanId: string } | undefined;
  /** Set by `@voicetrace/livekit/register` once pino is instrumented. */
  pinoInstrumented?: boolean;
}

const GLOBAL_KEY = Symbol.for('voicetrace.logs');

/** The shared state (created on first use). */
export function logsGlobal(): LogsGlobal {
  const g = globalThis as { [GLOBAL_KEY]?: LogsGlobal };
  return (g[GLOBAL_KEY] ??= {});
}

/** A session whose log records are placed on its turns. */
interface TrackedSession {
  engine: SessionEngine;
  /** The session's trace layout: the trace id a live span is exported under. */
  exportedTraceId?: ((span: SpanContext) => string | undefined) | undefined;
}

/** Records a session keeps on its turns: the agent's warnings and worse. */
const REPORT_LEVEL = SeverityNumber.WARN;
const KEEP_ENDED_MS = 60_000;
const MAX_MESSAGE = 2_000;

/**
 * A log record processor in front of the exporting ones: it gives each record of an
 * instrumented session the trace id its span is exported under, and puts warnings and
 * errors on the right turn of that session (`engine.recordLog`). Never throws.
 */
export class SessionLogProcessor implements LogRecordProcessor {
  private readonly sessions = new Set<TrackedSession>();

  constructor(
    private readonly next: LogRecordProcessor[] = [],
    private readonly options: { report?: boolean | undefined } = {},
  ) {}

  /**
   * Follows a session's logs. Call before the span processor attaches the engine: the
   * engine is told its trace layout then, and the logs follow the same layout.
   */
  track(engine: SessionEngine): void {
    const session: TrackedSession = { engine };
    // forgotten a minute after its end (late lines of a session still find it), by a timer: a process
    // that logs nothing more must not keep every ended call (the engine holds the call's whole model)
    engine.observe({ onSessionEnd: () => void setTimeout(() => this.sessions.delete(session), KEEP_ENDED_MS).unref() });
    // the layout the span export uses (the engine is told once, by processor.attach)
    const locate = engine.locateTraces.bind(engine);
    engine.locateTraces = (exportedTraceId) => {
      session.exportedTraceId = exportedTraceId;
      locate(exportedTraceId);
    };
    this.sessions.add(session);
  }

  /** The ids a live span is exported under, when it belongs to a followed session. */
  exportedIds(traceId: string, spanId: string): { traceId: string; spanId: string } | undefined {
    const session = this.sessionOf(traceId, spanId);
    if (!session) return undefined;
    return { traceId: this.exportedTraceId(session, traceId, spanId), spanId };
  }

  onEmit(record: SdkLogRecord, context?: Context): void {
    try {
      this.place(record);
    } catch (error) {
      diag.debug(`voicetrace: log record not placed: ${String(error)}`);
    }
    for (const next of this.next) {
      try {
        next.onEmit(record, context);
      } catch (error) {
        diag.debug(`voicetrace: log processor failed: ${String(error)}`);
      }
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.next.map((n) => n.forceFlush().catch(() => undefined)));
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.next.map((n) => n.shutdown().catch(() => undefined)));
    this.sessions.clear();
  }

  private place(record: SdkLogRecord): void {
    const live = record.spanContext;
    let session: TrackedSession | undefined;
    let ids: { traceId: string; spanId: string } | undefined;
    if (live) {
      session = this.sessionOf(live.traceId, live.spanId);
      if (session) {
        ids = { traceId: this.exportedTraceId(session, live.traceId, live.spanId), spanId: live.spanId };
        // the exported record carries the ids its span is exported under (turn mode moves spans)
        if (ids.traceId !== live.traceId) (record as { spanContext?: SpanContext }).spanContext = { ...live, traceId: ids.traceId };
      }
    } else {
      // written outside any span (a timer, a callback): the session, when only one runs here
      const open = [...this.sessions].filter((s) => !s.engine.model.ended);
      if (open.length === 1) session = open[0];
    }
    if (!session || this.options.report === false || (record.severityNumber ?? 0) < REPORT_LEVEL) return;
    const entry = {
      at: record.hrTime[0] + record.hrTime[1] / 1e9,
      level: (record.severityText ?? levelName(record.severityNumber)).toLowerCase(),
      message: messageOf(record),
      traceId: ids?.traceId,
      spanId: ids?.spanId,
    };
    // written in the session span itself (the SDK runs onUserTurnCompleted there): on the turn in
    // progress, not on the turn the session span started in
    if (live && session.engine.liveSessionContext()?.spanId === live.spanId) session.engine.model.addLog(entry);
    else session.engine.recordLog(entry);
  }

  private sessionOf(traceId: string, spanId: string): TrackedSession | undefined {
    // the span's own session first (two sessions of one job can share the job's trace), else the trace's
    for (const session of this.sessions) if (session.engine.turnOfSpan(spanId) !== undefined) return session;
    for (const session of this.sessions) if (session.engine.liveSessionContext()?.traceId === traceId) return session;
    return undefined;
  }

  private exportedTraceId(session: TrackedSession, traceId: string, spanId: string): string {
    try {
      return session.exportedTraceId?.({ traceId, spanId, traceFlags: 1 }) ?? traceId;
    } catch {
      return traceId;
    }
  }
}

function levelName(severity: SeverityNumber | undefined): string {
  if (severity === undefined) return 'warn';
  if (severity >= SeverityNumber.FATAL) return 'fatal';
  if (severity >= SeverityNumber.ERROR) return 'error';
  return 'warn';
}

/** The record's message, with the error's own message when one was logged (pino's `err`/`error`). */
function messageOf(record: SdkLogRecord): string {
  const body = record.body;
  let message = typeof body === 'string' ? body : body === undefined ? '' : safeJson(body);
  const attributes = record.attributes as Record<string, unknown>;
  const error = attributes['exception.message'] ?? (attributes.err as { message?: unknown } | undefined)?.message ?? (attributes.error as { message?: unknown } | undefined)?.message;
  if (typeof error === 'string' && error && !message.includes(error)) message = message ? `${message}: ${error}` : error;
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * The OTel global logger provider voicetrace registers once per process. The pino
 * instrumentation takes its logger from the global provider when the SDK creates its
 * logger; every setup after the first (tests, several setups in one process) points
 * this one at its own provider instead of registering another (the global is set once).
 */
export class SwitchingLoggerProvider implements ApiLoggerProvider {
  current: LoggerProvider | undefined;

  getLogger(name: string, version?: string, options?: LoggerOptions): Logger {
    return {
      emit: (record: ApiLogRecord) => this.current?.getLogger(name, version, options).emit(record),
      enabled: (o) => this.current?.getLogger(name, version, options).enabled(o) ?? false,
    };
  }
}

/** Counts what the logs exporter did; says the first failure once. */
class CountingLogExporter implements LogRecordExporter {
  readonly counts: LogExportStats = { exportedRecords: 0, failedRecords: 0, failedExports: 0 };

  constructor(
    private readonly inner: LogRecordExporter,
    private readonly warn: (key: string, message: string) => void,
    private readonly target: string,
    /** Credentials the exporter sends (header values, URL password): scrubbed from failure messages. */
    private readonly secrets: readonly string[] = [],
  ) {}

  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    let settled = false;
    const done = (result: ExportResult): void => {
      if (settled) return;
      settled = true;
      if (result.code === ExportResultCode.SUCCESS) this.counts.exportedRecords += records.length;
      else {
        this.counts.failedRecords += records.length;
        this.counts.failedExports += 1;
        this.counts.lastFailure = scrubSecrets(redactUrl(result.error?.message ?? 'export failed'), this.secrets);
        this.warn('logs:export_failed', `voicetrace: exporting logs to ${this.target} failed (${this.counts.lastFailure}); the agent is unaffected, further failures are only counted (vt.logs.stats())`);
      }
      resultCallback(result);
    };
    try {
      this.inner.export(records, done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** What {@link createLogs} needs from the setup. */
export interface LogsSetup {
  option: boolean | LogsOptions | undefined;
  otlp?: boolean | { endpoint?: string | undefined; headers?: Record<string, string> | undefined } | undefined;
  resource: Resource;
  env: NodeJS.ProcessEnv;
  warn: (key: string, message: string) => void;
  /** In a LiveKit job process (where the SDK's logger must be instrumented to be seen). */
  inJobProcess: boolean;
  /** No OTLP export whatever the option and variables say (its endpoint setting cannot work); records still reach the session report. */
  otlpOff?: boolean | undefined;
}

const FLUSH_TIMEOUT_MS = 5_000;

/**
 * The logs of a setup, or undefined with `logs: false`. Records always reach the session
 * report (warnings and worse); they are exported over OTLP when asked (`logs: true` or options)
 * or when an OTLP endpoint is configured, unless `OTEL_LOGS_EXPORTER=none`.
 */
export function createLogs(setup: LogsSetup): VoiceTraceLogs | undefined {
  const { env, warn } = setup;
  if (setup.option === false) return undefined;
  const options: LogsOptions = typeof setup.option === 'object' ? setup.option : {};
  let exporter: CountingLogExporter | undefined;
  let target: string | undefined;
  if (options.exporter) {
    target = options.exporter.constructor.name;
    exporter = new CountingLogExporter(options.exporter, warn, target);
  } else if (!setup.otlpOff && signalWanted('logs', setup.option, setup.otlp, env)) {
    const endpoint = resolveSignalEndpoint('logs', options.endpoint, setup.otlp, env);
    for (const w of endpoint.warnings) warn(`logs:${w}`, `voicetrace: ${w}`);
    const config = { url: endpoint.url, headers: options.headers ?? (typeof setup.otlp === 'object' ? setup.otlp.headers : undefined) };
    // messages name the endpoint without its credentials, and never repeat what a server echoed of them
    target = `${redactUrl(endpoint.url)} (OTLP ${endpoint.protocol})`;
    const secrets = requestSecrets(endpoint.url, config.headers ?? {});
    exporter = new CountingLogExporter(endpoint.protocol === 'http/json' ? new OtlpHttpJsonLogExporter(config) : new OtlpProtoLogExporter(config), warn, target, secrets);
  }
  // a turn's lines are visible about a second later, as its spans are
  const batch = exporter ? [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 1_000, exportTimeoutMillis: 10_000 })] : [];
  const processor = new SessionLogProcessor(batch, { report: options.report });
  const provider = new LoggerProvider({ resource: setup.resource, processors: [processor] });

  const shared = logsGlobal();
  shared.provider ??= new SwitchingLoggerProvider();
  const registered = logs.setGlobalLoggerProvider(shared.provider);
  if (registered !== shared.provider) {
    warn('logs:global', 'voicetrace: another global OTel LoggerProvider is registered: add vt.logs.processor to it, or the agent\'s log records reach neither the session report nor the Collector.');
  }
  shared.provider.current = provider;
  shared.exportedIds = (traceId, spanId) => processor.exportedIds(traceId, spanId);
  const pinoInstrumented = shared.pinoInstrumented === true;
  if (setup.inJobProcess && !pinoInstrumented) {
    warn(
      'logs:pino',
      'voicetrace: the SDK\'s logs are not linked to the trace: start the worker with `node --import @voicetrace/livekit/register <worker file> start` (or NODE_OPTIONS="--import @voicetrace/livekit/register"), so the logger of each job process carries the turn\'s trace and span ids and reaches the Collector and the session report.',
    );
  }
  let shutdownPromise: Promise<void> | undefined;
  return {
    provider,
    processor,
    target,
    pinoInstrumented,
    stats: () => ({ ...(exporter?.counts ?? { exportedRecords: 0, failedRecords: 0, failedExports: 0 }) }),
    forceFlush: () => within(provider.forceFlush(), FLUSH_TIMEOUT_MS),
    shutdown: (timeoutMillis?: number) =>
      (shutdownPromise ??= (async () => {
        if (shared.provider?.current === provider) shared.provider.current = undefined;
        await within(provider.shutdown(), Math.min(FLUSH_TIMEOUT_MS, timeoutMillis ?? FLUSH_TIMEOUT_MS));
      })()),
  };
}


