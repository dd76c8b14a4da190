// Agent-side export accounting: which spans the agent handed to an exporter, and which of them the
// receiver acknowledged (export result SUCCESS), with times. Wraps any SpanExporter.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** What an export call reports back (ExportResult of @opentelemetry/core; code 0 = SUCCESS). */
interface ExportOutcome {
  code: number;
  error?: Error;
}

export interface ExportRecord {
  /** Date.now() when the BatchSpanProcessor called export. */
  calledAt: number;
  /** Date.now() when the result came back (undefined while in flight). */
  doneAt?: number;
  ok?: boolean;
  spanIds: string[];
  /** The spans themselves (kept for replays). */
  spans: ReadableSpan[];
}

/**
 * A SpanExporter that records every export and forwards it to `inner` (or, without one, reports
 * success at once: a pure recorder). `onResult` runs after each export's result is known.
 */
export class RecordingExporter implements SpanExporter {
  readonly records: ExportRecord[] = [];

  constructor(
    private readonly inner?: SpanExporter,
    private readonly onResult?: (record: ExportRecord) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportOutcome) => void): void {
    const record: ExportRecord = { calledAt: Date.now(), spanIds: spans.map((s) => s.spanContext().spanId), spans };
    this.records.push(record);
    const finish = (result: ExportOutcome): void => {
      record.doneAt = Date.now();
      record.ok = result.code === 0;
      try {
        this.onResult?.(record);
      } finally {
        done(result);
      }
    };
    if (!this.inner) return finish({ code: 0 });
    this.inner.export(spans, finish as Parameters<SpanExporter['export']>[1]);
  }

  /** Span ids whose export was acknowledged (optionally only exports that finished before/after a time). */
  acked(filter: (r: ExportRecord) => boolean = () => true): Set<string> {
    return new Set(this.records.filter((r) => r.ok && filter(r)).flatMap((r) => r.spanIds));
  }

  /** Span ids whose export failed (the agent gave up on them). */
  failed(): Set<string> {
    return new Set(this.records.filter((r) => r.ok === false).flatMap((r) => r.spanIds));
  }

  get sentSpans(): number {
    return this.records.reduce((n, r) => n + r.spanIds.length, 0);
  }

  forceFlush(): Promise<void> {
    return this.inner?.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner?.shutdown() ?? Promise.resolve();
  }
}

/**
 * The stock OTLP/HTTP protobuf trace exporter of OpenTelemetry JS (what agents use) for a
 * collector's base URL (`/v1/traces` appended). Retries 429/502/503/504 and connection errors
 * (ECONNREFUSED...) with backoff within its 10 s timeout.
 */
export function otlpProtoExporter(baseUrl: string): SpanExporter {
  return new OTLPTraceExporter({ url: `${baseUrl.replace(/\/+$/, '')}/v1/traces` });
}
