/**
 * A setting that cannot work (an unparsable URL, a non-HTTP scheme). Thrown only while an exporter
 * is being set up, never from `export()`.
 */
export class OtlpConfigError extends Error {
  override readonly name = 'OtlpConfigError';

  /**
   * @param message what is wrong and how to fix it
   * @param setting the option or environment variable at fault
   */
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

/**
 * Why one OTLP/HTTP export failed: the status and the start of the body when the server answered,
 * the network error code when it did not. Passed to the export callback, never thrown.
 */
export class ExportHttpError extends Error {
  override readonly name = 'ExportHttpError';
  /** The URL the request went to. */
  readonly url: string;
  /** `http`: an error status; `network`: no connection or a broken one; `timeout`: no answer in time. */
  readonly kind: 'http' | 'network' | 'timeout';
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** Same as {@link status}: the field name the stock `OTLPExporterError` uses. */
  readonly code: number | undefined;
  /** Node's error code for network failures (`ECONNREFUSED`, ...). */
  readonly networkCode: string | undefined;
  /** The first KiB of the response body, decoded as UTF-8. */
  readonly responseBody: string | undefined;
  /** The server's `Retry-After`, in ms. */
  readonly retryAfterMs: number | undefined;
  /** Attempts made for this export, retries included (set by the retrying transport). */
  attempts = 1;

  /** @internal */
  constructor(init: {
    url: string;
    kind: 'http' | 'network' | 'timeout';
    message: string;
    status?: number;
    networkCode?: string;
    responseBody?: string;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.url = init.url;
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.status;
    this.networkCode = init.networkCode;
    this.responseBody = init.responseBody;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * The export of a batch went through except for spans that alone exceed the request byte budget
 * (dropped by `SizeLimitedSpanExporter`): the others were delivered. Passed to the export callback.
 */
export class OversizedSpansError extends Error {
  override readonly name = 'OversizedSpansError';

  /**
   * @param droppedSpans how many spans of the batch were dropped
   * @param maxBatchBytes the request budget they exceeded
   */
  constructor(
    readonly droppedSpans: number,
    readonly maxBatchBytes: number,
  ) {
    super(`${droppedSpans} span(s) exceeded the ${maxBatchBytes}-byte request budget and were dropped`);
  }
}

/** An export that did not call back within the processor's export timeout. */
export class ExportTimeoutError extends Error {
  override readonly name = 'ExportTimeoutError';

  constructor(readonly timeoutMillis: number) {
    super(`the export timed out: no result within ${timeoutMillis} ms (OTEL_BSP_EXPORT_TIMEOUT)`);
  }
}
