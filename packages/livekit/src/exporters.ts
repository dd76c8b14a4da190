import type { Context } from '@opentelemetry/api';
import { BatchSpanProcessor, type BufferConfig, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OtlpJsonLinesFileExporter, ReportingSpanExporter, createOtlpTraceExporter, readExportStats, resolveOtlpTracesEndpoint, type ExportStats } from '@voicetrace/exporters';
import { createLangfuseSpanExporter, langfuseTracesUrl, type LangfuseConfig } from '@voicetrace/langfuse';

/** One configured destination of spans. */
export interface Destination {
  /** Name its counters are reported under: `otlp`, `file`, `langfuse`, `exporter.<n>`. */
  label: string;
  /** Where it sends, for people: a URL or a path. */
  target: string;
  exporter: SpanExporter;
  /** The batch processor in front of it, counting what it was handed. */
  processor: CountingBatchProcessor;
}

/** What {@link buildDestinations} needs. */
export interface DestinationOptions {
  otlp?: boolean | { endpoint?: string | undefined; headers?: Record<string, string> | undefined } | undefined;
  file?: string | undefined;
  langfuse?: LangfuseConfig | undefined;
  exporters?: SpanExporter[] | undefined;
  batch?: BufferConfig | undefined;
  env: NodeJS.ProcessEnv;
  warn: (key: string, message: string) => void;
}

/** Batching for a voice call: a short delay so a turn is visible (and survives a crash) within about a second. */
const DEFAULT_BATCH: BufferConfig = { scheduledDelayMillis: 1_000 };

/**
 * The exporters of a setup, each behind its own batch processor, with the
 * OTLP rules of the OTel spec: OTLP is on when an endpoint variable is set,
 * `OTEL_TRACES_EXPORTER` includes `otlp`, or the `otlp` option asks for it.
 * Setup warnings (a wrong endpoint, a bad header) are said once.
 */
export function buildDestinations(options: DestinationOptions): Destination[] {
  const { env, warn } = options;
  const batch = { ...DEFAULT_BATCH, ...options.batch };
  const destinations: Destination[] = [];
  const add = (label: string, target: string, exporter: SpanExporter): void => {
    destinations.push({ label, target, exporter, processor: new CountingBatchProcessor(exporter, batch) });
  };
  (options.exporters ?? []).forEach((exporter, i) => add(`exporter.${i}`, exporter.constructor.name, exporter));
  const tracesExporter = (env.OTEL_TRACES_EXPORTER ?? '').toLowerCase().split(',').map((s) => s.trim());
  const otlpWanted =
    options.otlp ?? (tracesExporter.includes('none') ? false : Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || tracesExporter.includes('otlp')));
  if (otlpWanted) {
    const otlpOptions = typeof options.otlp === 'object' ? options.otlp : {};
    const resolved = resolveOtlpTracesEndpoint({ ...otlpOptions, env });
    for (const warning of resolved.warnings) warn(`otlp:${warning}`, `voicetrace: ${warning}`);
    add('otlp', `${resolved.url} (OTLP ${resolved.protocol})`, createOtlpTraceExporter({ ...otlpOptions, env }));
  }
  if (options.file) add('file', options.file, new ReportingSpanExporter(new OtlpJsonLinesFileExporter(options.file), { target: options.file, what: 'traces file' }));
  if (options.langfuse) add('langfuse', langfuseTracesUrl(options.langfuse.baseUrl), createLangfuseSpanExporter(options.langfuse));
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

/** Per destination: spans delivered, failed, and still waiting (handed over but not exported yet). */
export function deliveryReport(destinations: readonly Destination[]): string[] {
  return destinations.map((d) => {
    const stats: ExportStats | undefined = readExportStats(d.exporter);
    const delivered = stats?.exportedSpans ?? 0;
    const failed = stats?.failedSpans ?? 0;
    const waiting = Math.max(0, d.processor.handedOver - delivered - failed - d.processor.dropped);
    const lost = failed + waiting + d.processor.dropped;
    const verdict = lost ? `${lost} NOT delivered (${failed} failed, ${waiting} never sent, ${d.processor.dropped} dropped by a full queue)` : 'nothing lost';
    const cause = stats?.lastFailure ? `; last failure: ${stats.lastFailure.message}` : '';
    return `voicetrace: ${d.label} (${d.target}): ${delivered} spans delivered, ${verdict}${cause}`;
  });
}

/** Export counters per destination. */
export function destinationStats(destinations: readonly Destination[]): Record<string, ExportStats> {
  const stats: Record<string, ExportStats> = {};
  for (const { label, exporter } of destinations) {
    const read = readExportStats(exporter);
    if (read) stats[label] = read;
  }
  return stats;
}

/**
 * A BatchSpanProcessor that counts the spans handed to it, so what never left
 * the process (a backend down at exit) can be told apart from what failed.
 */
export class CountingBatchProcessor implements SpanProcessor {
  private readonly inner: BatchSpanProcessor;
  handedOver = 0;
  /** Spans refused by a full queue (not counted yet: the stock processor only logs them). */
  readonly dropped = 0;

  constructor(exporter: SpanExporter, config: BufferConfig) {
    this.inner = new BatchSpanProcessor(exporter, config);
  }

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.handedOver += 1;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
