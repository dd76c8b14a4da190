import type { Env, ExportLogger, RetryOptions, SizeLimitOptions } from '@voicetrace/exporters';

/** Where and as whom to send traces to LangFuse. */
export interface LangfuseConfig {
  /** The project's public key (`pk-lf-...`), the Basic-auth user name. */
  publicKey: string;
  /** The project's secret key (`sk-lf-...`), the Basic-auth password. */
  secretKey: string;
  /** The LangFuse base URL, e.g. `https://cloud.langfuse.com` (EU) or `https://us.cloud.langfuse.com` (US). */
  baseUrl: string;
}

/** How {@link createLangfuseSpanExporter} sends. */
export interface LangfuseExporterOptions {
  /** Deadline of one export including its retries, in ms. Default 10000. */
  timeoutMillis?: number | undefined;
  /**
   * Retry policy, or `false` to send once. Default: 429 and 5xx (500, 502, 503, 504) retried up to 6
   * attempts, waiting for `Retry-After` when LangFuse sends it, else 1 s growing ×1.5 to 5 s; never past
   * the deadline.
   */
  retry?: RetryOptions | false | undefined;
  /** Default `gzip` (LangFuse accepts `Content-Encoding: gzip`). */
  compression?: 'gzip' | 'none' | undefined;
  /** Request size limits, or `false` for none. Default: 3 MB per request, string attributes cut at 65,536 characters. */
  sizeLimit?: Omit<SizeLimitOptions, 'protocol' | 'env'> | false | undefined;
  /** Extra request headers. */
  headers?: Record<string, string> | undefined;
  /**
   * The `x-langfuse-ingestion-version` header LangFuse asks direct OTel exporters to send (it selects
   * its real-time ingestion path). Default `'4'`; `false` sends none (for LangFuse servers that predate it).
   */
  ingestionVersion?: string | false | undefined;
  /** Where the one error message goes besides `diag.error`. Default `console.error`. */
  logger?: ExportLogger | undefined;
  /** Environment for the `VOICETRACE_EXPORT_*` size overrides; default `process.env`. */
  env?: Env | undefined;
}
