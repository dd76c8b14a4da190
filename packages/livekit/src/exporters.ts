import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  BoundedBatchSpanProcessor,
  LOSS_REASONS,
  OtlpJsonLinesFileExporter,
  ReportingSpanExporter,
  createOtlpTraceExporter,
  describeLoss,
  redactUrl,
  resolveOtlpTracesEndpoint,
  type BoundedBatchOptions,
  type OtlpHttpProtocol,
  type QueuedExportStats,
} from '@voicetrace/exporters';
import { createLangfuseSpanExporter, langfuseTracesUrl, type LangfuseConfig } from '@voicetrace/langfuse';
import { isTelemetryConfigError, type TelemetryConfigError } from './config-guard.js';

/** One configured destination of spans. */
export interface Destination {
  /** Name its counters are reported under: `otlp`, `file`, `langfuse`, `exporter.<n>`. */
  label: string;
  /** Where it sends, for people: a URL or a path. */
  target: string;
  exporter: SpanExporter;
  /** The bounded export queue in front of it: batches, holds spans through an outage, counts every drop. */
  processor: BoundedBatchSpanProcessor;
}

/** What {@link buildDestinations} needs. */
export interface DestinationOptions {
  otlp?: boolean | { endpoint?: string | undefined; headers?: Record<string, string> | undefined } | undefined;
  file?: string | undefined;
  langfuse?: LangfuseConfig | undefined;
  exporters?: SpanExporter[] | undefined;
  /** Queue and batching settings for every destination (each one wins over its `OTEL_BSP_*` variable). */
  batch?: BoundedBatchOptions | undefined;
  env: NodeJS.ProcessEnv;
  warn: (key: string, message: string) => void;
  /**
   * A destination whose settings cannot work (an endpoint that is not an http(s) URL): given the
   * typed error and what it turns off, it throws (strict) or lets the others go on without it.
   * Without it the error is thrown.
   */
  reject?: ((error: TelemetryConfigError, turnedOff: string) => void) | undefined;
}

/**
 * Batching for a voice call: a short delay so a turn is visible (and survives a crash) within about a
 * second. A default only: `OTEL_BSP_SCHEDULE_DELAY` and the `batch` option win over it.
 */
const DEFAULT_SCHEDULED_DELAY_MS = 1_000;

/**
 * The exporters of a setup, each behind its own bounded export queue
 * ({@link BoundedBatchSpanProcessor}), with the OTLP rules of the OTel spec:
 * OTLP is on when an endpoint variable is set, `OTEL_TRACES_EXPORTER`
 * includes `otlp`, or the `otlp` option asks for it. Setup warnings (a wrong
 * endpoint, a bad header) are said once.
 */
export function buildDestinations(options: DestinationOptions): Destination[] {
  const { env, warn } = options;
  const batch: BoundedBatchOptions = {
    ...(env.OTEL_BSP_SCHEDULE_DELAY?.trim() ? {} : { scheduledDelayMillis: DEFAULT_SCHEDULED_DELAY_MS }),
    ...options.batch,
    env: options.batch?.env ?? env,
  };
  const destinations: Destination[] = [];
  const add = (label: string, target: string, exporter: SpanExporter, protocol?: OtlpHttpProtocol): void => {
    destinations.push({ label, target, exporter, processor: new BoundedBatchSpanProcessor(exporter, { ...batch, protocol: protocol ?? batch.protocol }) });
  };
  // one destination that cannot be built is turned off (or thrown, strict): the others still are
  const guarded = (turnedOff: string, build: () => void): void => {
    try {
      build();
    } catch (error) {
      if (!isTelemetryConfigError(error) || !options.reject) throw error;
      options.reject(error, turnedOff);
    }
  };
  (options.exporters ?? []).forEach((exporter, i) => add(`exporter.${i}`, exporter.constructor.name, exporter));
  if (otlpTracesWanted(options.otlp, env)) {
    guarded('OTLP traces', () => {
      const otlpOptions = typeof options.otlp === 'object' ? options.otlp : {};
      const resolved = resolveOtlpTracesEndpoint({ ...otlpOptions, env });
      for (const warning of resolved.warnings) warn(`otlp:${warning}`, `voicetrace: ${warning}`);
      add('otlp', `${redactUrl(resolved.url)} (OTLP ${resolved.protocol})`, createOtlpTraceExporter({ ...otlpOptions, env }), resolved.protocol);
    });
  }
  if (options.file) add('file', options.file, new ReportingSpanExporter(new OtlpJsonLinesFileExporter(options.file), { target: options.file, what: 'traces file' }));
  const langfuse = options.langfuse;
  if (langfuse) guarded('LangFuse export (spans and scores)', () => add('langfuse', redactUrl(langfuseTracesUrl(langfuse.baseUrl)), createLangfuseSpanExporter(langfuse)));
  return destinations;
}

/** The OTel spec's rule: OTLP traces are on when an endpoint variable is set or `OTEL_TRACES_EXPORTER` includes `otlp`; the option wins. */
function otlpTracesWanted(option: DestinationOptions['otlp'], env: NodeJS.ProcessEnv): boolean {
  if (option !== undefined) return option !== false;
  const tracesExporter = (env.OTEL_TRACES_EXPORTER ?? '').toLowerCase().split(',').map((s) => s.trim());
  if (tracesExporter.includes('none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || tracesExporter.includes('otlp'));
}

/** One line saying where spans go (or that they go nowhere), for the setup notice. */
export function describeDestinations(destinations: readonly Destination[], extraProcessors: number): string {
  if (destinations.length === 0 && extraProcessors === 0) {
    return 'voicetrace: no exporter configured, spans are not sent anywhere. Set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318 for the collector sidecar), pass `file`, or set LANGFUSE_* to send them.';
  }
  const parts = destinations.map((d) => `${d.label} → ${d.target}`);
  if (extraProcessors) parts.push(`${extraProcessors} processor(s) of yours`);
  return `voicetrace: spans go to ${parts.join('; ')}`;
}

/**
 * Per destination, one line: spans handed over, delivered and lost, by reason (the figures of
 * `stats()`: `lostSpans`, `lostByReason`), spans still queued or in flight if any (the process is
 * leaving: they will not go either), and the last failure's cause when anything was lost.
 */
export function deliveryReport(destinations: readonly Destination[]): string[] {
  return destinations.map((d) => {
    const stats = d.processor.stats();
    const q = stats.queue;
    const pending = q.queuedSpans + q.inFlightSpans;
    const left = pending ? `, ${pending} still queued` : '';
    const cause = (stats.lostSpans > 0 || pending > 0) && stats.lastFailure ? `; last failure: ${stats.lastFailure.message}` : '';
    return `voicetrace: ${d.label} (${d.target}): ${q.handedOverSpans} spans handed over, ${stats.exportedSpans} delivered, ${describeLoss(stats)}${left}${cause}`;
  });
}

/**
 * Spans each destination lost, by the reasons of `voicetrace.exporter.dropped_spans` (every reason,
 * 0 included): its `stats().lostByReason`, the figures the delivery report and `vt.exportStats()` give.
 */
export function exporterLosses(destinations: readonly Destination[]): Array<{ exporter: string; reason: string; spans: number }> {
  return destinations.flatMap((d) => {
    let stats: QueuedExportStats;
    try {
      stats = d.processor.stats();
    } catch {
      return [];
    }
    return LOSS_REASONS.map((reason) => ({ exporter: d.label, reason, spans: stats.lostByReason[reason] }));
  });
}

/**
 * Export counters per destination: the exporter's counters with the queue's outcomes
 * (`exportedSpans` delivered, `lostSpans`/`lostByReason` lost for good, each span once) and `queue`.
 */
export function destinationStats(destinations: readonly Destination[]): Record<string, QueuedExportStats> {
  const stats: Record<string, QueuedExportStats> = {};
  for (const { label, processor } of destinations) {
    try {
      stats[label] = processor.stats();
    } catch {
      // counters must never break the caller
    }
  }
  return stats;
}
