import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The OTLP/HTTP traces URL per the OTel spec: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * as is; `OTEL_EXPORTER_OTLP_ENDPOINT` (or a code option) as a base to which
 * `/v1/traces` is appended unless the path already ends with it.
 */
export function resolveOtlpTracesUrl(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (option) return withTracesPath(option);
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return withTracesPath(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318');
}

function withTracesPath(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

/** Parses `k=v,k2=v2` (URL-encoded values) as the OTEL_EXPORTER_OTLP_HEADERS variables carry them. */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const index = pair.indexOf('=');
    if (index <= 0) continue;
    headers[decodeURIComponent(pair.slice(0, index).trim())] = decodeURIComponent(pair.slice(index + 1).trim());
  }
  return headers;
}

/**
 * The stock OTLP/HTTP exporter (protobuf by default; `http/json` when
 * `OTEL_EXPORTER_OTLP_PROTOCOL` says so) for the resolved URL, wrapped so that
 * the first failed export logs one clear error naming the URL and status.
 */
export function createOtlpTraceExporter(options: { endpoint?: string; headers?: Record<string, string> } = {}, env: NodeJS.ProcessEnv = process.env): SpanExporter {
  const url = resolveOtlpTracesUrl(options.endpoint, env);
  const headers = { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS), ...options.headers };
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'grpc') diag.warn('voicetrace: OTLP gRPC is not bundled; exporting over http/protobuf instead');
  const exporter = protocol === 'http/json' ? new OtlpHttpJsonExporter({ url, headers }) : new OtlpProtoExporter({ url, headers });
  return new ReportingSpanExporter(exporter, url);
}

/** Logs the first failed export once (URL and cause) and counts every outcome. */
export class ReportingSpanExporter implements SpanExporter {
  exportedSpans = 0;
  failedSpans = 0;
  private reported = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly url: string,
    private readonly log: (message: string) => void = (message) => console.error(message),
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.exportedSpans += spans.length;
      else {
        this.failedSpans += spans.length;
        if (!this.reported) {
          this.reported = true;
          const status = (result.error as { code?: number } | undefined)?.code;
          const cause = `${status ? `HTTP ${status} ` : ''}${result.error?.message ?? 'unknown error'}`.trim();
          this.log(
            `voicetrace: exporting traces to ${this.url} failed: ${cause}. ` +
              'Check OTEL_EXPORTER_OTLP_ENDPOINT (a base URL; /v1/traces is appended) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is). Further failures are only counted.',
          );
        }
      }
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/**
 * Appends one OTLP/JSON `ExportTraceServiceRequest` per line: the format the
 * Collector's `file` exporter writes and its `otlpjsonfile` receiver reads.
 * Writes are asynchronous and kept in order; flush/shutdown await them.
 */
export class OtlpJsonLinesFileExporter implements SpanExporter {
  private chain: Promise<void>;

  constructor(readonly path: string) {
    this.chain = mkdir(dirname(path), { recursive: true }).then(() => undefined);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const bytes = JsonTraceSerializer.serializeRequest(spans);
    const line = bytes ? `${Buffer.from(bytes).toString('utf8')}\n` : '';
    this.chain = this.chain
      .then(() => appendFile(this.path, line))
      .then(() => done({ code: ExportResultCode.SUCCESS }))
      .catch((error: Error) => done({ code: ExportResultCode.FAILED, error }));
  }

  forceFlush(): Promise<void> {
    return this.chain;
  }

  shutdown(): Promise<void> {
    return this.chain;
  }
}
