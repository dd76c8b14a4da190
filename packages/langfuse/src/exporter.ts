import {
  OtlpHttpSpanExporter,
  ReportingSpanExporter,
  SizeLimitedSpanExporter,
  type RetryOptions,
  type StatsSpanExporter,
} from '@voicetrace/exporters';
import { adviseLangfuseFailure } from './advice.js';
import { langfuseAuthorization, langfuseTracesUrl } from './config.js';
import type { LangfuseConfig, LangfuseExporterOptions } from './types.js';

/** LangFuse answers worth another try: rate limits and server errors. 400/401/403 are final. */
export const LANGFUSE_RETRYABLE_STATUSES: readonly number[] = [429, 500, 502, 503, 504];

/**
 * An OTLP/HTTP protobuf exporter to LangFuse's OTel endpoint (`<baseUrl>/api/public/otel/v1/traces`)
 * with `Authorization: Basic base64(publicKey:secretKey)`, gzip and the `x-langfuse-ingestion-version`
 * header. Rejections (400, 401, 403) are not retried; 429 and 5xx are retried with backoff, honouring
 * `Retry-After`, bounded by attempts and the export deadline. The first failure is logged once with
 * LangFuse's reason and advice; every outcome is counted (`stats()`). Requests stay under the size
 * budget. `export()` never throws.
 */
export function createLangfuseSpanExporter(config: LangfuseConfig, options: LangfuseExporterOptions = {}): StatsSpanExporter {
  const url = langfuseTracesUrl(config.baseUrl);
  // The exporter owns these two: a caller's copy under another casing would be sent as well.
  const owned = new Set(['authorization', 'x-langfuse-ingestion-version']);
  const headers: Record<string, string> = Object.fromEntries(Object.entries(options.headers ?? {}).filter(([name]) => !owned.has(name.toLowerCase())));
  headers.Authorization = langfuseAuthorization(config);
  if (options.ingestionVersion !== false) headers['x-langfuse-ingestion-version'] = options.ingestionVersion ?? '4';
  const retry: RetryOptions | false =
    options.retry === false ? false : { ...options.retry, retryableStatuses: options.retry?.retryableStatuses ?? LANGFUSE_RETRYABLE_STATUSES };
  const http = new OtlpHttpSpanExporter({
    url,
    protocol: 'http/protobuf',
    headers,
    timeoutMillis: options.timeoutMillis ?? 10_000,
    compression: options.compression ?? 'gzip',
    retry,
  });
  const reporting = new ReportingSpanExporter(http, {
    target: url,
    what: 'LangFuse traces export',
    advise: (failure) => adviseLangfuseFailure(failure, url),
    logger: options.logger,
  });
  if (options.sizeLimit === false) return reporting;
  return new SizeLimitedSpanExporter(reporting, { ...options.sizeLimit, protocol: 'http/protobuf', env: options.env });
}
