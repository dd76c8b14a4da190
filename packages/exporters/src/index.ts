export { resolveOtlpTracesEndpoint, parseOtlpHeaders, DEFAULT_OTLP_TRACES_URL } from './endpoint.js';
export { createOtlpTraceExporter } from './create-otlp-trace-exporter.js';
export { OtlpHttpSpanExporter, createOtlpHttpSpanExporter } from './otlp-http-exporter.js';
export { ReportingSpanExporter } from './reporting-exporter.js';
export { SizeLimitedSpanExporter, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_ATTRIBUTE_LENGTH } from './size-limited-exporter.js';
export { TRUNCATED_ATTRIBUTES_KEY } from './truncate.js';
export { OtlpJsonLinesFileExporter } from './file-exporter.js';
export { OTLP_RETRYABLE_STATUSES } from './retrying-transport.js';
export { adviseOtlpFailure, type OtlpAdviceContext } from './advice.js';
export { describeExportFailure } from './failure.js';
export { readExportStats, hasExportStats } from './stats.js';
export { OtlpConfigError, ExportHttpError } from './errors.js';
export type {
  Env,
  ExportFailureInfo,
  ExportLogger,
  ExportStats,
  OtlpCompression,
  OtlpEndpointSource,
  OtlpHttpProtocol,
  OtlpHttpSpanExporterOptions,
  OtlpTraceExporterOptions,
  OtlpTracesEndpointOptions,
  ReportingOptions,
  ResolvedOtlpTracesEndpoint,
  RetryOptions,
  SizeLimitOptions,
  StatsSpanExporter,
} from './types.js';
