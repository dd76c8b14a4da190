import { OTLP_RETRYABLE_STATUSES } from './retrying-transport.js';

/** Connection failures that may be gone at the next attempt (the stock OTLP transport's list, plus undici's). */
const TRANSIENT_NETWORK_CODE = /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|ENETUNREACH|EHOSTUNREACH|ECONNABORTED|UND_ERR_(CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|SOCKET|CLOSED))$/;

/**
 * Whether a failed export is worth sending again later: the backend was unreachable (a network
 * error), did not answer in time, or answered with a status the OTLP specification calls retryable
 * (429, 502, 503, 504). Anything else (400, 401, 403, 404, 413, 500, an exporter's own error) would
 * fail the same way again. Reads this package's `ExportHttpError`, the stock `OTLPExporterError`
 * (numeric `code` = HTTP status) and Node network errors (string `code`).
 */
export function isRetryableExportFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // by name and fields rather than instanceof: an ESM and a CommonJS copy of this package may meet
  const e = error as Error & { kind?: unknown; status?: unknown; code?: unknown; networkCode?: unknown };
  if (e.name === 'ExportHttpError') {
    if (e.kind === 'timeout') return true;
    if (e.kind === 'network') return typeof e.networkCode === 'string' && TRANSIENT_NETWORK_CODE.test(e.networkCode);
    return typeof e.status === 'number' && OTLP_RETRYABLE_STATUSES.includes(e.status);
  }
  if (e.name === 'ExportTimeoutError' || e.name === 'TimeoutError') return true;
  if (typeof e.code === 'number') return OTLP_RETRYABLE_STATUSES.includes(e.code);
  if (typeof e.code === 'string') return TRANSIENT_NETWORK_CODE.test(e.code);
  return /timed? ?out|timeout/i.test(e.message);
}

/** When an export only dropped spans over the request budget (`OversizedSpansError`): how many. */
export function oversizedSpansOf(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'OversizedSpansError') return undefined;
  const dropped = (error as Error & { droppedSpans?: unknown }).droppedSpans;
  return typeof dropped === 'number' && dropped >= 0 ? dropped : undefined;
}
