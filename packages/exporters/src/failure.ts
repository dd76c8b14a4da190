import { ExportHttpError } from './errors.js';
import type { ExportFailureInfo } from './types.js';

/**
 * What an export callback's error says, whatever produced it: this package's `ExportHttpError`, the
 * stock `OTLPExporterError` (numeric `code` = HTTP status, `data` = body), a Node network error
 * (string `code`), or anything else.
 */
export function describeExportFailure(error: unknown): ExportFailureInfo {
  if (error instanceof ExportHttpError) {
    const info: ExportFailureInfo = { kind: error.kind, message: error.message, attempts: error.attempts };
    if (error.status !== undefined) info.status = error.status;
    if (error.networkCode !== undefined) info.code = error.networkCode;
    if (error.responseBody !== undefined) info.responseBody = error.responseBody;
    return info;
  }
  if (!(error instanceof Error)) return { kind: 'other', message: error === undefined ? 'unknown error' : String(error) };
  const { code, data } = error as Error & { code?: unknown; data?: unknown };
  if (typeof code === 'number') {
    const info: ExportFailureInfo = { kind: 'http', status: code, message: error.message };
    if (typeof data === 'string' && data) info.responseBody = data;
    return info;
  }
  if (typeof code === 'string') return { kind: 'network', code, message: error.message };
  if (/timed? ?out/i.test(error.message)) return { kind: 'timeout', message: error.message };
  return { kind: 'other', message: error.message };
}

/** The `failuresByReason` key of a failure: `http_<status>`, a network code, `timeout` or `error`. */
export function failureReason(info: ExportFailureInfo): string {
  if (info.status !== undefined) return `http_${info.status}`;
  if (info.kind === 'timeout') return 'timeout';
  return info.code ?? 'error';
}

/** One sentence naming the target, the cause and the advice. */
export function formatExportFailure(what: string, target: string, info: ExportFailureInfo, advice: string | undefined): string {
  const cause =
    info.status !== undefined
      ? `HTTP ${info.status}`
      : info.kind === 'timeout'
        ? `a timeout (${info.message})`
        : info.code
          ? `a network error (${info.code})`
          : `an error (${info.message})`;
  let message = `voicetrace: ${what} to ${target} failed with ${cause}`;
  if (info.attempts !== undefined && info.attempts > 1) message += ` after ${info.attempts} attempts`;
  if (info.responseBody) message += `; the server said: ${excerpt(info.responseBody, 300)}`;
  if (advice) message += ` — ${advice}`;
  return `${message}. Later failures are only counted (read them with stats()).`;
}

function excerpt(text: string, max: number): string {
  // Control characters (a protobuf google.rpc.Status body, say) would garble the log line.
  const flat = text.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
