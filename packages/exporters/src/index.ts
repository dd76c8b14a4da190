export { resolveOtlpTracesEndpoint, parseOtlpHeaders, parseHttpUrl, DEFAULT_OTLP_TRACES_URL } from './endpoint.js';
export { createOtlpTraceExporter } from './create-otlp-trace-exporter.js';
export { OtlpHttpSpanExporter, createOtlpHttpSpanExporter } from './otlp-http-exporter.js';
export { encodeTraceRequest, VoiceTraceProtobufSerializer } from './protobuf-trace-serializer.js';
export { ReportingSpanExporter } from './reporting-exporter.js';
export { SizeLimitedSpanExporter, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_ATTRIBUTE_LENGTH } from './size-limited-exporter.js';
export { TRUNCATED_ATTRIBUTES_KEY, withAttributes } from './truncate.js';
export { OtlpJsonLinesFileExporter } from './file-exporter.js';
export { OTLP_RETRYABLE_STATUSES } from './retrying-transport.js';
export { adviseOtlpFailure, type OtlpAdviceContext } from './advice.js';
export { describeExportFailure } from './failure.js';
export { readExportStats, hasExportStats } from './stats.js';
export { exportLoss, lossFromDrops, describeExportOutcome, describeLoss, LOSS_REASONS, type ExportLoss } from './loss.js';
export { OtlpConfigError, ExportHttpError, OversizedSpansError, ExportTimeoutError } from './errors.js';
export {
  BoundedBatchSpanProcessor,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_SCHEDULED_DELAY_MS,
  DEFAULT_EXPORT_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
} from './bounded-batch-processor.js';
export { isRetryableExportFailure } from './retryable.js';
export { redactUrl, requestSecrets, scrubSecrets, REDACTED } from './redact.js';
export type {
  BoundedBatchOptions,
  Env,
  ExportFailureInfo,
  ExportLogger,
  ExportQueueStats,
  ExportStats,
  QueuedExportStats,
  OtlpCompression,
  OtlpEndpointSource,
  OtlpHttpProtocol,
  OtlpHttpSpanExporterOptions,
  OtlpTraceExporterOptions,
  OtlpTracesEndpointOptions,
  QueueDropReason,
  ReportingOptions,
  ResolvedOtlpTracesEndpoint,
  RetryOptions,
  SizeLimitOptions,
  StatsSpanExporter,
} from './types.js';
