import type { ExportFailureInfo, OtlpEndpointSource } from './types.js';

/** Where an OTLP exporter sends, for {@link adviseOtlpFailure}. */
export interface OtlpAdviceContext {
  /** The URL exported to. */
  url: string;
  /** Which setting produced the URL, named in the advice. */
  source?: OtlpEndpointSource | undefined;
}

const SOURCE_TEXT: Record<OtlpEndpointSource, string> = {
  option: 'the endpoint option in code',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is)',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'OTEL_EXPORTER_OTLP_ENDPOINT (a base: /v1/traces was appended)',
  default: 'the default (no endpoint configured)',
};

/** What to check for a failed export to an OTLP collector, by status or network error. */
export function adviseOtlpFailure(failure: ExportFailureInfo, context: OtlpAdviceContext): string | undefined {
  const from = context.source ? `; this URL came from ${SOURCE_TEXT[context.source]}` : '';
  const host = hostOf(context.url);
  const status = failure.status;
  if (status === 404 || status === 405) {
    return `check OTEL_EXPORTER_OTLP_ENDPOINT (the base URL, /v1/traces is appended) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL, used as is)${from}`;
  }
  if (status === 401 || status === 403) return 'check the credentials in OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_TRACES_HEADERS (k=v,k2=v2, URL-encoded)';
  if (status === 413) return 'the request is too large: lower VOICETRACE_EXPORT_MAX_BATCH_BYTES or the batch size';
  if (status === 415) return 'the endpoint does not accept this encoding: check OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf or http/json)';
  if (status === 400) return 'the backend rejected the payload';
  if (status === 429 || (status !== undefined && status >= 500)) return 'the backend is overloaded or failing; the spans of this export are dropped';
  if (failure.kind === 'timeout') return `no answer in time from ${host}: check it is reachable, or raise OTEL_EXPORTER_OTLP_TIMEOUT`;
  switch (failure.code) {
    case 'ECONNREFUSED':
      return `nothing is listening at ${host}: is the collector running, and is this its OTLP/HTTP port (4318; 4317 is gRPC)?${from}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name of ${host} does not resolve${from}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection was cut: check http:// versus https:// and any proxy between${from}`;
    default:
      return undefined;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
