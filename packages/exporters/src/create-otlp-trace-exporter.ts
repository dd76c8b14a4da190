import { adviseOtlpFailure } from './advice.js';
import { resolveOtlpTracesEndpoint } from './endpoint.js';
import { OtlpHttpSpanExporter } from './otlp-http-exporter.js';
import { ReportingSpanExporter } from './reporting-exporter.js';
import { SizeLimitedSpanExporter } from './size-limited-exporter.js';
import type { OtlpTraceExporterOptions, StatsSpanExporter } from './types.js';

/**
 * The OTLP/HTTP trace exporter voicetrace uses: the URL, protocol, headers, timeout and compression
 * resolved from code and the `OTEL_*` variables ({@link resolveOtlpTracesEndpoint}), sent by the stock
 * OTLP exporter machinery ({@link OtlpHttpSpanExporter}), each request reported
 * ({@link ReportingSpanExporter}: one clear error on the first failure, counters) and kept under the
 * byte budget ({@link SizeLimitedSpanExporter}). Read the counters with `stats()`.
 *
 * @throws {OtlpConfigError} for an unusable URL, at setup only; `export()` never throws.
 */
export function createOtlpTraceExporter(options: OtlpTraceExporterOptions = {}): StatsSpanExporter {
  const resolved = resolveOtlpTracesEndpoint(options);
  const http = new OtlpHttpSpanExporter({
    url: resolved.url,
    protocol: resolved.protocol,
    headers: resolved.headers,
    timeoutMillis: resolved.timeoutMillis,
    compression: resolved.compression,
    retry: options.retry,
    concurrencyLimit: options.concurrencyLimit,
  });
  const reporting = new ReportingSpanExporter(http, {
    target: resolved.url,
    advise: (failure) => adviseOtlpFailure(failure, { url: resolved.url, source: resolved.source }),
    logger: options.logger,
  });
  if (options.sizeLimit === false) return reporting;
  return new SizeLimitedSpanExporter(reporting, { ...options.sizeLimit, protocol: resolved.protocol, env: options.env });
}
