import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import * as http from 'node:http';
import * as https from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ExportHttpError } from './errors.js';
import { redactUrl, requestSecrets, scrubSecrets } from './redact.js';
import type { OtlpCompression, OtlpHttpProtocol } from './types.js';

const gzipAsync = promisify(gzip);

/** Response bytes kept for the export delegate (the stock transport's cap). */
const MAX_SUCCESS_BODY_BYTES = 4 * 1024 * 1024;
/** Response bytes kept to explain a failure. */
const MAX_ERROR_BODY_BYTES = 1024;

/** Connection failures worth another try (the stock OTLP transport's list). */
const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH']);

/** Headers the transport owns: a caller's copy would be sent twice under another casing. */
const OWNED_HEADERS = new Set(['content-type', 'content-length', 'content-encoding']);

/** Shared with the retrying transport and read by `stats()`. */
export interface TransportCounters {
  requests: number;
  retries: number;
}

/** @internal */
export interface NodeHttpTransportOptions {
  url: string;
  protocol: OtlpHttpProtocol;
  headers: Record<string, string>;
  compression: OtlpCompression;
  /** Statuses answered as `retryable` (the retrying transport decides whether to act on it). */
  retryableStatuses: ReadonlySet<number>;
  counters: TransportCounters;
}

/**
 * POSTs one serialized OTLP request with node:http(s). Unlike the stock transport (not reachable
 * through the package's public entry points) it keeps the status, `Retry-After` and the start of the
 * body on every failure, including the final one after retries, so the failure can be reported
 * exactly. Never rejects: every outcome is an `ExportResponse`.
 * @internal
 */
export class NodeHttpTransport implements IExporterTransport {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly headers: Record<string, string>;
  /** The URL as errors show it (no userinfo). */
  private readonly displayUrl: string;
  /** What a server could echo back from the request (tokens, keys): scrubbed from the error bodies kept. */
  private readonly secrets: string[];

  constructor(private readonly options: NodeHttpTransportOptions) {
    this.url = new URL(options.url);
    const secure = this.url.protocol === 'https:';
    this.request = secure ? https.request : http.request;
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    const headers: Record<string, string> = { 'User-Agent': 'voicetrace-exporters (OTLP/HTTP)' };
    for (const [name, value] of Object.entries(options.headers)) if (!OWNED_HEADERS.has(name.toLowerCase())) headers[name] = value;
    headers['Content-Type'] = options.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
    if (options.compression === 'gzip') headers['Content-Encoding'] = 'gzip';
    this.headers = headers;
    this.displayUrl = redactUrl(options.url);
    this.secrets = requestSecrets(options.url, options.headers);
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    this.options.counters.requests++;
    let body: Uint8Array;
    try {
      // zlib's async gzip runs on the thread pool: the event loop is not held by a large batch.
      body = this.options.compression === 'gzip' ? await gzipAsync(data) : data;
    } catch (error) {
      return { status: 'failure', error: error instanceof Error ? error : new Error(String(error)) };
    }
    // The export's own HTTP request must not be traced by an http instrumentation.
    return context.with(suppressTracing(context.active()), () => this.post(body, timeoutMillis));
  }

  shutdown(): void {
    this.agent.destroy();
  }

  private post(body: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const url = this.displayUrl;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (response: ExportResponse): void => {
        if (settled) return;
        settled = true;
        resolve(response);
      };
      const headers = { ...this.headers, 'Content-Length': String(body.byteLength) };
      const req = this.request(this.url, { method: 'POST', headers, agent: this.agent }, (res) => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const limit = ok ? MAX_SUCCESS_BODY_BYTES : MAX_ERROR_BODY_BYTES;
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          // Keep reading past the limit (and drop it) so the keep-alive socket stays reusable.
          if (kept < limit) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on('end', () => finish(this.toResponse(res, status, Buffer.concat(chunks).subarray(0, limit))));
        res.on('error', (error) => finish(ok ? { status: 'success' } : this.networkFailure(error)));
      });
      req.setTimeout(timeoutMillis, () => {
        req.destroy();
        finish({
          status: 'retryable',
          error: new ExportHttpError({ url, kind: 'timeout', message: `no response within ${timeoutMillis} ms` }),
        });
      });
      req.on('error', (error) => finish(this.networkFailure(error)));
      req.end(body);
    });
  }

  private toResponse(res: http.IncomingMessage, status: number, body: Buffer): ExportResponse {
    if (status >= 200 && status < 300) {
      // Only hand the body on when it is in the request's encoding: a JSON `{}` answer to a protobuf
      // request (LangFuse does this) would otherwise fail to decode and warn on every export.
      const type = String(res.headers['content-type'] ?? '');
      const sameEncoding = this.options.protocol === 'http/json' ? type.includes('json') : type.includes('protobuf');
      return body.length > 0 && sameEncoding ? { status: 'success', data: new Uint8Array(body) } : { status: 'success' };
    }
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    const error = new ExportHttpError({
      url: this.displayUrl,
      kind: 'http',
      status,
      message: `HTTP ${status}${res.statusMessage ? ` ${scrubSecrets(res.statusMessage, this.secrets)}` : ''}`,
      // a server may echo the request's headers (its credentials) in an error: keep none of them
      responseBody: body.length > 0 ? scrubSecrets(body.toString('utf8'), this.secrets) : undefined,
      retryAfterMs,
    });
    return this.options.retryableStatuses.has(status) ? { status: 'retryable', retryInMillis: retryAfterMs, error } : { status: 'failure', error };
  }

  private networkFailure(cause: Error): ExportResponse {
    const code = (cause as NodeJS.ErrnoException).code;
    const message = scrubSecrets(cause.message, this.secrets);
    const error = new ExportHttpError({
      url: this.displayUrl,
      kind: 'network',
      networkCode: code,
      message: code && !message.includes(code) ? `${code} ${message}` : message,
      cause,
    });
    return code && TRANSIENT_NETWORK_CODES.has(code) ? { status: 'retryable', error } : { status: 'failure', error };
  }
}

/**
 * `Retry-After` in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3); `undefined` when absent or
 * unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
