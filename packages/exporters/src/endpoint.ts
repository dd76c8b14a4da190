import { diag } from '@opentelemetry/api';
import { readEnv, positiveIntSetting } from './env.js';
import { OtlpConfigError } from './errors.js';
import { redactUrl } from './redact.js';
import type {
  Env,
  OtlpCompression,
  OtlpEndpointSource,
  OtlpHttpProtocol,
  OtlpTracesEndpointOptions,
  ResolvedOtlpTracesEndpoint,
} from './types.js';

/** The OTLP/HTTP default when nothing is configured. */
export const DEFAULT_OTLP_TRACES_URL = 'http://localhost:4318/v1/traces';

const TRACES_PATH = 'v1/traces';

/**
 * Resolves where and how traces are exported, by the OpenTelemetry exporter specification:
 *
 * - URL: the `endpoint` option, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` **as is**, else
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` as a **base** to which `v1/traces` is appended (after a `/` if the
 *   base has none), else `http://localhost:4318/v1/traces`. The code option accepts both forms: if its
 *   path already ends in `/v1/traces` it is kept, otherwise `/v1/traces` is appended.
 * - Protocol: option, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL`, else
 *   `http/protobuf`. `grpc` is not bundled: it falls back to `http/protobuf` with one warning (point the
 *   endpoint at the collector's HTTP port, 4318). Unknown values fall back the same way.
 * - Headers: `OTEL_EXPORTER_OTLP_HEADERS`, then `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, then the option, each
 *   overriding the previous per name (case-insensitive). Format `k=v,k2=v2`, keys and values URL-decoded.
 * - Timeout (`OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT`, ms, default 10000) and compression
 *   (`OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION`, `gzip` or `none`, default `none`), signal-specific first.
 *
 * Empty variables count as unset. Bad values are corrected with a warning (returned in `warnings` and
 * logged once through `diag.warn`).
 *
 * @throws {OtlpConfigError} when the URL cannot be parsed or is not http(s): setup time only.
 */
export function resolveOtlpTracesEndpoint(options: OtlpTracesEndpointOptions = {}): ResolvedOtlpTracesEndpoint {
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const { url, source } = resolveUrl(options.endpoint, env, warnings);
  const protocol = resolveProtocol(options.protocol, env, warnings);
  const headers = mergeHeaders(
    parseOtlpHeaders(readEnv(env, 'OTEL_EXPORTER_OTLP_HEADERS'), warnings),
    parseOtlpHeaders(readEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'), warnings),
    options.headers ?? {},
  );
  const timeoutName = readEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  const timeoutMillis = positiveIntSetting(options.timeoutMillis, env, timeoutName, 10_000, (message) => warnings.push(message));
  const compression = resolveCompression(options.compression, env, warnings);
  for (const warning of warnings) diag.warn(`voicetrace: ${warning}`);
  return { url, source, protocol, headers, timeoutMillis, compression, warnings };
}

/**
 * Parses the `OTEL_EXPORTER_OTLP_HEADERS` format: comma-separated `key=value` pairs, keys and values
 * URL-decoded and trimmed. Entries without a key or `=` are skipped (and reported in `warnings`).
 */
export function parseOtlpHeaders(value: string | undefined, warnings: string[] = []): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!value) return headers;
  for (const entry of value.split(',')) {
    if (entry.trim() === '') continue;
    const index = entry.indexOf('=');
    const key = index > 0 ? decode(entry.slice(0, index).trim(), warnings, 'an OTLP header name') : '';
    if (!key) {
      warnings.push(`ignoring an entry of OTEL_EXPORTER_OTLP_HEADERS without a key=value form (${entry.trim().length} characters; expected k=v,k2=v2)`);
      continue;
    }
    headers[key] = decode(entry.slice(index + 1).trim(), warnings, `the value of OTLP header ${JSON.stringify(key)}`);
  }
  return headers;
}

function decode(text: string, warnings: string[], what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // the text may be a credential: say where the problem is, never the value
    warnings.push(`${what} is not valid URL encoding; using it as written`);
    return text;
  }
}

/** Later maps override earlier ones per header name, ignoring case (HTTP names are case-insensitive). */
function mergeHeaders(...maps: Array<Record<string, string>>): Record<string, string> {
  const byLowerName = new Map<string, [string, string]>();
  for (const map of maps) {
    for (const [name, value] of Object.entries(map)) byLowerName.set(name.toLowerCase(), [name, value]);
  }
  return Object.fromEntries(byLowerName.values());
}

function resolveUrl(option: string | undefined, env: Env, warnings: string[]): { url: string; source: OtlpEndpointSource } {
  const fromOption = option?.trim();
  if (fromOption) return { url: ensureTracesPath(parseHttpUrl(fromOption, 'the endpoint option')), source: 'option' };

  const full = readEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (full) {
    parseHttpUrl(full, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    return { url: full, source: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' };
  }

  const base = readEnv(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base) {
    const parsed = parseHttpUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    if (/\/v1\/traces\/?$/.test(parsed.pathname)) {
      // Spec-exact, but almost always a mistake: say so before the 404 does.
      warnings.push(
        `OTEL_EXPORTER_OTLP_ENDPOINT=${redactUrl(base)} already ends in /v1/traces, but it is a base URL: /v1/traces is appended again. ` +
          'Use OTEL_EXPORTER_OTLP_TRACES_ENDPOINT for a full URL.',
      );
    }
    return { url: appendTracesPath(parsed), source: 'OTEL_EXPORTER_OTLP_ENDPOINT' };
  }
  return { url: DEFAULT_OTLP_TRACES_URL, source: 'default' };
}

/**
 * `text` as an http(s) URL, or one {@link OtlpConfigError} naming `setting` and the value (its
 * credentials redacted). `localhost:4318`, without a scheme, is refused: the WHATWG parser reads
 * `localhost:` as the scheme.
 *
 * @param setting the option or environment variable `text` came from, named in the error
 * @throws {OtlpConfigError}
 */
export function parseHttpUrl(text: string, setting: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OtlpConfigError(`voicetrace: ${setting} (${JSON.stringify(redactUrl(text))}) is not a valid URL; expected e.g. http://localhost:4318`, setting);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OtlpConfigError(`voicetrace: ${setting} (${JSON.stringify(redactUrl(text))}) must be an http:// or https:// URL, e.g. http://localhost:4318`, setting);
  }
  return url;
}

/** The spec's rule for a base URL: `v1/traces` relative to it, adding the `/` it may lack. */
function appendTracesPath(base: URL): string {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`}${TRACES_PATH}`;
  return url.href;
}

/** The code option's rule: keep a path that already ends in `/v1/traces`, else append it. */
function ensureTracesPath(url: URL): string {
  const trimmed = url.pathname.replace(/\/+$/, '');
  if (trimmed.endsWith(`/${TRACES_PATH}`)) {
    const kept = new URL(url.href);
    kept.pathname = trimmed;
    return kept.href;
  }
  return appendTracesPath(url);
}

function resolveProtocol(option: OtlpHttpProtocol | undefined, env: Env, warnings: string[]): OtlpHttpProtocol {
  if (option) return option;
  const name = readEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = readEnv(env, name);
  if (value === undefined || value === 'http/protobuf' || value === 'http/json') return value ?? 'http/protobuf';
  if (value === 'grpc') {
    warnings.push(
      `${name}=grpc is not supported by voicetrace's exporter; sending OTLP over http/protobuf instead ` +
        '(point the endpoint at the collector\'s OTLP/HTTP port, usually 4318, not gRPC\'s 4317)',
    );
  } else {
    warnings.push(`${name}=${JSON.stringify(value)} is not an OTLP protocol (http/protobuf, http/json); using http/protobuf`);
  }
  return 'http/protobuf';
}

function resolveCompression(option: OtlpCompression | undefined, env: Env, warnings: string[]): OtlpCompression {
  if (option) return option;
  const name = readEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION' : 'OTEL_EXPORTER_OTLP_COMPRESSION';
  const value = readEnv(env, name);
  if (value === undefined || value === 'gzip' || value === 'none') return value ?? 'none';
  warnings.push(`${name}=${JSON.stringify(value)} is not gzip or none; using none`);
  return 'none';
}
