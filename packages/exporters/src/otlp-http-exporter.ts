import type { ExportResult } from '@opentelemetry/core';
import { createOtlpNetworkExportDelegate, OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeHttpTransport, type TransportCounters } from './http-transport.js';
import { VoiceTraceProtobufSerializer, type encodeTraceRequest } from './protobuf-trace-serializer.js';
import { resolveRetryPolicy, RetryingTransport } from './retrying-transport.js';
import { emptyExportStats } from './stats.js';
import type { ExportStats, OtlpHttpProtocol, OtlpHttpSpanExporterOptions, StatsSpanExporter } from './types.js';

/**
 * The stock OTLP exporter machinery (`OTLPExporterBase`, the network export delegate with its bounded
 * concurrency and partial-success handling; the stock JSON serializer, and for protobuf this package's
 * direct encoder {@link encodeTraceRequest}, which the stock one's output decodes the same as) over this package's
 * HTTP transport, whose retries are configurable and whose failures keep their HTTP status.
 * Sends to `options.url` exactly; use {@link createOtlpTraceExporter} for `OTEL_*` resolution.
 */
export class OtlpHttpSpanExporter implements StatsSpanExporter {
  /** The URL requests go to. */
  readonly url: string;
  /** The encoding requests use. */
  readonly protocol: OtlpHttpProtocol;
  private readonly counters: TransportCounters = { requests: 0, retries: 0 };
  private readonly base: OTLPExporterBase<ReadableSpan[]>;

  constructor(options: OtlpHttpSpanExporterOptions) {
    this.url = options.url;
    this.protocol = options.protocol ?? 'http/protobuf';
    const policy = options.retry === false ? undefined : resolveRetryPolicy(options.retry);
    const compression = options.compression ?? 'none';
    const http = new NodeHttpTransport({
      url: options.url,
      protocol: this.protocol,
      headers: options.headers ?? {},
      compression,
      retryableStatuses: new Set(policy?.retryableStatuses ?? []),
      counters: this.counters,
    });
    const transport = policy ? new RetryingTransport(http, policy, this.counters) : http;
    // protobuf: voicetrace's direct encoder (see protobuf-trace-serializer.ts); JSON: the stock serializer
    const serializer = this.protocol === 'http/json' ? JsonTraceSerializer : VoiceTraceProtobufSerializer;
    const delegate = createOtlpNetworkExportDelegate(
      { timeoutMillis: options.timeoutMillis ?? 10_000, concurrencyLimit: options.concurrencyLimit ?? 30, compression },
      serializer,
      transport,
    );
    this.base = new OTLPExporterBase(delegate);
  }

  /** Serializes and sends the spans; the outcome arrives through `resultCallback`. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.base.export(spans, resultCallback);
  }

  /** Resolves when every export in flight has finished (retries included). */
  forceFlush(): Promise<void> {
    return this.base.forceFlush();
  }

  /** Waits for exports in flight, then closes the connections. */
  shutdown(): Promise<void> {
    return this.base.shutdown();
  }

  /** HTTP requests and retries so far (span outcomes are counted by {@link ReportingSpanExporter}). */
  stats(): ExportStats {
    return { ...emptyExportStats(), requests: this.counters.requests, retries: this.counters.retries };
  }
}

/** A plain OTLP/HTTP span exporter for a full URL; see {@link OtlpHttpSpanExporter}. */
export function createOtlpHttpSpanExporter(options: OtlpHttpSpanExporterOptions): OtlpHttpSpanExporter {
  return new OtlpHttpSpanExporter(options);
}
