import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  BoundedBatchSpanProcessor,
  OtlpJsonLinesFileExporter,
  ReportingSpanExporter,
  createOtlpTraceExporter,
  redactUrl,
  resolveOtlpTracesEndpoint,
  type BoundedBatchOptions,
  type ExportStats,
  type OtlpHttpProtocol,
} from '@voicetrace/exporters';
import { createLangfuseSpanExporter, langfuseTracesUrl, type LangfuseConfig } from '@voicetrace/langfuse';

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
  (options.exporters ?? []).forEach((exporter, i) => add(`exporter.${i}`, exporter.constructor.name, exporter));
  const tracesExporter = (env.OTEL_TRACES_EXPORTER ?? '').toLowerCase().split(',').map((s) => s.trim());
  const otlpWanted =
    options.otlp ?? (tracesExporter.includes('none') ? false : Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || tracesExporter.includes('otlp')));
  if (otlpWanted) {
    const otlpOptions = typeof options.otlp === 'object' ? options.otlp : {};
    const resolved = resolveOtlpTracesEndpoint({ ...otlpOptions, env });
    for (const warning of resolved.warnings) warn(`otlp:${warning}`, `voicetrace: ${warning}`);
    add('otlp', `${redactUrl(resolved.url)} (OTLP ${resolved.protocol})`, createOtlpTraceExporter({ ...otlpOptions, env }), resolved.protocol);
  }
  if (options.file) add('file', options.file, new ReportingSpanExporter(new OtlpJsonLinesFileExporter(options.file), { target: options.file, what: 'traces file' }));
  if (options.langfuse) add('langfuse', redactUrl(langfuseTracesUrl(options.langfuse.baseUrl)), createLangfuseSpanExporter(options.langfuse));
  return destinations;
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
 * Per destination, one line: spans handed over, delivered, failed (refused by the backend for
 * good), dropped (by the full queue, oversized, after shutdown) and never sent (still queued or in
 * flight when the process left), with the last failure's cause.
 */
export function deliveryReport(destinations: readonly Destination[]): string[] {
  return destinations.map((d) => {
    const stats = d.processor.stats();
    const q = stats.queue!;
    const by = q.droppedByReason;
    const failed = by.export_failed;
    const full = by.queue_full + by.queue_bytes_full;
    const dropped = full + by.oversized + by.after_shutdown;
    const neverSent = by.shutdown + q.queuedSpans + q.inFlightSpans;
    const lost = failed + dropped + neverSent;
    let verdict = 'nothing lost';
    if (lost) {
      const parts = [`${failed} failed`];
      parts.push(`${dropped} dropped${dropped ? ` (${describeDrops({ 'queue full': full, oversized: by.oversized, 'after shutdown': by.after_shutdown })})` : ''}`);
      parts.push(`${neverSent} never sent`);
      verdict = `${lost} NOT delivered (${parts.join(', ')})`;
    }
    const cause = lost && stats.lastFailure ? `; last failure: ${stats.lastFailure.message}` : '';
    return `voicetrace: ${d.label} (${d.target}): ${q.handedOverSpans} spans handed over, ${q.deliveredSpans} delivered, ${verdict}${cause}`;
  });
}

function describeDrops(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
}

/**
 * Export counters per destination: the exporter's counters with the queue's outcomes
 * (`exportedSpans` delivered and `failedSpans` refused for good, each span once) and `queue`.
 */
export function destinationStats(destinations: readonly Destination[]): Record<string, ExportStats> {
  const stats: Record<string, ExportStats> = {};
  for (const { label, processor } of destinations) {
    try {
      stats[label] = processor.stats();
    } catch {
      // counters must never break the caller
    }
  }
  return stats;
}
