import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/** The OTLP/HTTP encodings this package sends. gRPC is not bundled (see `resolveOtlpTracesEndpoint`). */
export type OtlpHttpProtocol = 'http/protobuf' | 'http/json';

/** Request body compression, as in `OTEL_EXPORTER_OTLP_COMPRESSION`. */
export type OtlpCompression = 'gzip' | 'none';

/** An environment to read `OTEL_*` / `VOICETRACE_*` variables from (usually `process.env`). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Where the traces URL came from, so an error message can name the setting to fix. */
export type OtlpEndpointSource = 'option' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'default';

/** Receives the one clear error message a reporting exporter prints (default: `console.error`). */
export type ExportLogger = (message: string) => void;

/** Options of {@link resolveOtlpTracesEndpoint}; each one, when given, wins over its environment variable. */
export interface OtlpTracesEndpointOptions {
  /**
   * The collector URL, either a base (`http://host:4318`) or the full traces URL
   * (`http://host:4318/v1/traces`): if the path already ends in `/v1/traces` it is kept,
   * otherwise `/v1/traces` is appended.
   */
  endpoint?: string | undefined;
  /** Encoding; default from `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
  protocol?: OtlpHttpProtocol | undefined;
  /** Extra request headers; merged over the `OTEL_EXPORTER_OTLP_*HEADERS` variables (case-insensitive names). */
  headers?: Record<string, string> | undefined;
  /** Deadline of one export including its retries, in ms; default `OTEL_EXPORTER_OTLP_*TIMEOUT`, else 10000. */
  timeoutMillis?: number | undefined;
  /** Body compression; default `OTEL_EXPORTER_OTLP_*COMPRESSION`, else `none`. */
  compression?: OtlpCompression | undefined;
  /** Environment to read; default `process.env`. */
  env?: Env | undefined;
}

/** The export settings resolved by {@link resolveOtlpTracesEndpoint}. */
export interface ResolvedOtlpTracesEndpoint {
  /** The full URL requests are POSTed to. */
  url: string;
  /** Which setting produced {@link url}. */
  source: OtlpEndpointSource;
  /** The encoding to send. */
  protocol: OtlpHttpProtocol;
  /** Request headers from the environment and the code option (later ones win). */
  headers: Record<string, string>;
  /** Deadline of one export including its retries, in ms. */
  timeoutMillis: number;
  /** Request body compression. */
  compression: OtlpCompression;
  /** Settings that were ignored or corrected, each already logged once through `diag.warn`. */
  warnings: readonly string[];
}

/**
 * Retry policy of the HTTP transport. A request is retried when the server answers with one of
 * {@link retryableStatuses} or the connection fails transiently (refused, reset, DNS try-again,
 * timeout). The wait is the server's `Retry-After` when it sends one, else an exponential backoff
 * with jitter; retries stop after {@link maxAttempts} or when the next wait would pass the export's
 * deadline (`timeoutMillis`), whichever comes first.
 */
export interface RetryOptions {
  /** Total attempts including the first. Default 6 (the stock OTLP exporter's 1 + 5 retries). */
  maxAttempts?: number | undefined;
  /** First backoff, in ms. Default 1000. */
  initialBackoffMs?: number | undefined;
  /** Backoff ceiling, in ms. Default 5000. */
  maxBackoffMs?: number | undefined;
  /** Backoff growth per attempt. Default 1.5. */
  backoffMultiplier?: number | undefined;
  /** Random spread of each backoff, as a fraction (0.2 = ±20%). Default 0.2. */
  jitter?: number | undefined;
  /** HTTP statuses worth retrying. Default `[429, 502, 503, 504]` (the OTLP specification's list). */
  retryableStatuses?: readonly number[] | undefined;
}

/** What went wrong with one export, as the reporting exporter understood it. */
export interface ExportFailureInfo {
  /** `http`: the server answered with an error status; `network`: no answer; `timeout`: no answer in time. */
  kind: 'http' | 'network' | 'timeout' | 'other';
  /** HTTP status, when the server answered. */
  status?: number;
  /** Node's error code for network failures (`ECONNREFUSED`, `ENOTFOUND`, ...). */
  code?: string;
  /** The error's message. */
  message: string;
  /** The start of the server's response body, when it sent one. */
  responseBody?: string;
  /** Attempts made, retries included, when known. */
  attempts?: number;
}

/**
 * Counters of an exporter chain. Every decorator in this package keeps the counters of its own
 * job and adds the counters of the exporter it wraps, so reading the outermost one gives the total.
 */
export interface ExportStats {
  /** Spans in exports that succeeded. */
  exportedSpans: number;
  /**
   * Spans in exports that finally failed (after retries), refused for good: one reason of loss among
   * others. Behind the bounded export queue: its `export_failed` count only; the whole loss is {@link lostSpans}.
   */
  failedSpans: number;
  /** Export calls that succeeded. */
  successfulExports: number;
  /** Export calls that finally failed. */
  failedExports: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Requests sent again after a retryable answer or a transient network error. */
  retries: number;
  /** Batches the size limiter split into more than one request. */
  splitBatches: number;
  /** Spans that had at least one attribute cut to the length cap. */
  truncatedSpans: number;
  /** Attribute values cut to the length cap. */
  truncatedAttributes: number;
  /** Spans dropped because even alone they exceed the request byte budget. */
  droppedOversizedSpans: number;
  /** Failed exports by cause: `http_<status>`, a network code such as `ECONNREFUSED`, `timeout` or `error`. */
  failuresByReason: Record<string, number>;
  /** The most recent failure, if any. */
  lastFailure?: ExportFailureInfo;
  /**
   * The bounded export queue in front of the exporter, when there is one ({@link BoundedBatchOptions},
   * `BoundedBatchSpanProcessor.stats()`). Its `exportedSpans` and `failedSpans` are then the queue's
   * outcomes: each span is counted once, however many export attempts it took.
   */
  queue?: ExportQueueStats;
  /**
   * Spans lost for good, every reason (refused, oversized, evicted by a full queue, given up on at
   * shutdown, ended after shutdown): the figure to read for "was anything lost". Set by the bounded
   * export queue (`BoundedBatchSpanProcessor.stats()`, so on every destination of `setupVoiceTrace`);
   * for any `ExportStats`, `exportLoss(stats)` computes it the same way.
   */
  lostSpans?: number;
  /** {@link lostSpans} by reason, every reason present (0 included). */
  lostByReason?: Record<QueueDropReason, number>;
}

/** The counters of a bounded export queue (`BoundedBatchSpanProcessor.stats()`): the queue and the loss always there. */
export interface QueuedExportStats extends ExportStats {
  queue: ExportQueueStats;
  lostSpans: number;
  lostByReason: Record<QueueDropReason, number>;
}

/**
 * Why the bounded export queue lost a span (`ExportQueueStats.droppedByReason`):
 * - `queue_full`: the span bound (`maxQueueSize`) was reached; the oldest queued span was evicted.
 * - `queue_bytes_full`: the byte bound (`maxQueueBytes`) was reached; the oldest queued span was evicted.
 * - `oversized`: one span larger than the byte bound, or than the exporter's request budget.
 * - `export_failed`: the backend refused the batch for good (a non-retryable answer such as 400, 401,
 *   413, or an exporter error that says nothing about retrying).
 * - `shutdown`: still queued or in flight when `shutdown()`'s deadline passed: never delivered.
 * - `after_shutdown`: the span ended after `shutdown()` was called.
 */
export type QueueDropReason = 'queue_full' | 'queue_bytes_full' | 'oversized' | 'export_failed' | 'shutdown' | 'after_shutdown';

/**
 * Counters of a bounded export queue. At every moment
 * `handedOverSpans = deliveredSpans + droppedSpans + queuedSpans + inFlightSpans`.
 */
export interface ExportQueueStats {
  /** Sampled spans the processor was given (its `onEnd`), dropped ones included. */
  handedOverSpans: number;
  /** Spans in exports that succeeded (each counted once). */
  deliveredSpans: number;
  /** Spans waiting in the queue now. */
  queuedSpans: number;
  /** Their estimated encoded size now, in bytes. */
  queuedBytes: number;
  /** Spans in the export in flight now. */
  inFlightSpans: number;
  /** Spans put back in the queue after a retryable failure (counted at each failure). */
  requeuedSpans: number;
  /** Export attempts that failed with a retryable error (the batch was put back). */
  retriedExports: number;
  /** Spans lost, all reasons (the same figure as `ExportStats.lostSpans`). */
  droppedSpans: number;
  /** Spans lost, by reason (the same figures as `ExportStats.lostByReason`). */
  droppedByReason: Record<QueueDropReason, number>;
  /** The most spans queued at once (in flight included). */
  peakQueuedSpans: number;
  /** The most estimated bytes queued at once (in flight included). */
  peakQueuedBytes: number;
  /** The span bound in force. */
  maxQueueSize: number;
  /** The byte bound in force. */
  maxQueueBytes: number;
}

/**
 * Options of the bounded batch span processor. Each one, when given, wins over its environment
 * variable; bad values fall back to the default with one warning.
 */
export interface BoundedBatchOptions {
  /** Most spans held (queued and in flight). Default `OTEL_BSP_MAX_QUEUE_SIZE`, else 2048. */
  maxQueueSize?: number | undefined;
  /**
   * Most estimated encoded bytes held (queued and in flight). Default `VOICETRACE_BSP_MAX_QUEUE_BYTES`,
   * else 8 MiB (8,388,608). The estimate is the OTLP request size of each span (an upper bound, see
   * `SizeLimitedSpanExporter`); the in-memory footprint of the same spans is a few times larger.
   */
  maxQueueBytes?: number | undefined;
  /** Most spans per export. Default `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, else 512 (never above `maxQueueSize`). */
  maxExportBatchSize?: number | undefined;
  /** Delay between exports, in ms. Default `OTEL_BSP_SCHEDULE_DELAY`, else 5000. */
  scheduledDelayMillis?: number | undefined;
  /** How long one export may take before it counts as failed (and retryable), in ms. Default `OTEL_BSP_EXPORT_TIMEOUT`, else 30000. */
  exportTimeoutMillis?: number | undefined;
  /**
   * The whole of `shutdown()`: last exports and the exporter's own shutdown, in ms. Default
   * `VOICETRACE_BSP_SHUTDOWN_TIMEOUT`, else 3000. What is not delivered by then is counted (`shutdown`).
   */
  shutdownTimeoutMillis?: number | undefined;
  /**
   * After a retryable failure (no connection, timeout, HTTP 429/502/503/504) the batch goes back to the
   * head of the queue and the next export waits an exponential backoff (±20 % jitter). `false`: a
   * failed batch is dropped and counted, as the stock BatchSpanProcessor does.
   */
  retry?: { initialBackoffMs?: number | undefined; maxBackoffMs?: number | undefined } | false | undefined;
  /** The encoding the byte estimate is tuned for. Default `http/protobuf`. */
  protocol?: OtlpHttpProtocol | undefined;
  /** Environment to read; default `process.env`. */
  env?: Env | undefined;
}

/** A span exporter whose counters can be read. */
export interface StatsSpanExporter extends SpanExporter {
  /** A snapshot of this exporter's counters plus those of the exporters it wraps. */
  stats(): ExportStats;
}

/** Options of the plain OTLP/HTTP exporter ({@link createOtlpHttpSpanExporter}). */
export interface OtlpHttpSpanExporterOptions {
  /** The full URL to POST to (no path is appended here). */
  url: string;
  /** Default `http/protobuf`. */
  protocol?: OtlpHttpProtocol | undefined;
  /** Request headers (`Content-Type` is set from the protocol). */
  headers?: Record<string, string> | undefined;
  /** Deadline of one export including retries, in ms. Default 10000. */
  timeoutMillis?: number | undefined;
  /** Default `none`. */
  compression?: OtlpCompression | undefined;
  /** Retry policy, or `false` to send each request once. Default: {@link RetryOptions} defaults. */
  retry?: RetryOptions | false | undefined;
  /** Exports in flight at once; more are failed (and counted) instead of queued. Default 30. */
  concurrencyLimit?: number | undefined;
}

/** Options of {@link ReportingSpanExporter}. */
export interface ReportingOptions {
  /** What the exporter sends to (a URL or a path), named in the error message. */
  target: string;
  /** What is exported, named in the error message. Default `traces export`. */
  what?: string | undefined;
  /** Returns advice for a failure (what setting to check), appended to the message. */
  advise?: ((failure: ExportFailureInfo) => string | undefined) | undefined;
  /** Where the one error message goes besides `diag.error`. Default `console.error`. */
  logger?: ExportLogger | undefined;
}

/** Options of {@link SizeLimitedSpanExporter}. */
export interface SizeLimitOptions {
  /**
   * Byte budget of one request body (before compression). Default: `VOICETRACE_EXPORT_MAX_BATCH_BYTES`,
   * else 3 MB (3,000,000 bytes).
   */
  maxBatchBytes?: number | undefined;
  /**
   * Longest string attribute value kept, in UTF-16 code units (JavaScript string length); longer ones are
   * cut. Default: `VOICETRACE_EXPORT_MAX_ATTRIBUTE_LENGTH`, else 65,536.
   */
  maxAttributeLength?: number | undefined;
  /** The wire encoding the size estimate is tuned for. Default `http/protobuf`. */
  protocol?: OtlpHttpProtocol | undefined;
  /** Attribute that lists the keys cut on a span. Default `voicetrace.truncated`. */
  flagAttribute?: string | undefined;
  /** Environment to read; default `process.env`. */
  env?: Env | undefined;
}

/** Options of {@link createOtlpTraceExporter}: where to send (as {@link resolveOtlpTracesEndpoint}) and how. */
export interface OtlpTraceExporterOptions extends OtlpTracesEndpointOptions {
  /** Retry policy, or `false` to send each request once. */
  retry?: RetryOptions | false | undefined;
  /** Size limits, or `false` to send batches as they come. */
  sizeLimit?: Omit<SizeLimitOptions, 'protocol' | 'env'> | false | undefined;
  /** Where the one error message goes besides `diag.error`. Default `console.error`. */
  logger?: ExportLogger | undefined;
  /** Exports in flight at once. Default 30. */
  concurrencyLimit?: number | undefined;
}
