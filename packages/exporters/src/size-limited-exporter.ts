import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { positiveIntSetting } from './env.js';
import { OversizedSpansError } from './errors.js';
import { SizeEstimator } from './size-estimate.js';
import { addExportStats, emptyExportStats, readExportStats } from './stats.js';
import { TRUNCATED_ATTRIBUTES_KEY, truncateSpanAttributes } from './truncate.js';
import type { ExportStats, SizeLimitOptions, StatsSpanExporter } from './types.js';

/** Default request byte budget: 3 MB, below common ingress body limits. */
export const DEFAULT_MAX_BATCH_BYTES = 3_000_000;
/** Default longest string attribute value, in UTF-16 code units. */
export const DEFAULT_MAX_ATTRIBUTE_LENGTH = 65_536;

/**
 * Keeps every request under a byte budget. First it cuts string attributes longer than
 * `maxAttributeLength` (listing the cut keys in `voicetrace.truncated`), then it splits the
 * batch into requests whose estimated size fits `maxBatchBytes`, exported one after the other. A span
 * that alone exceeds the budget is dropped (counted, warned once). The result is `FAILED` (with the
 * first error) if any part failed or any span was dropped; when only drops happened the error is an
 * {@link OversizedSpansError}, which says how many (the other spans were delivered). Never throws.
 *
 * The estimate is an upper bound for the stock protobuf and JSON serializers, computed without
 * serializing: the wrapped exporter serializes once, as it would without this decorator.
 */
export class SizeLimitedSpanExporter implements StatsSpanExporter {
  /** The request byte budget in force. */
  readonly maxBatchBytes: number;
  /** The attribute length cap in force. */
  readonly maxAttributeLength: number;
  private readonly flagKey: string;
  private readonly estimator: SizeEstimator;
  private readonly resourceBytes = new WeakMap<Resource, number>();
  private readonly own: ExportStats = emptyExportStats();
  private readonly pending = new Set<Promise<void>>();
  private warnedOversized = false;

  /**
   * @param inner the exporter each part is handed to
   * @param options budget, cap and the encoding to estimate for; bad values fall back to the defaults with a warning
   */
  constructor(
    private readonly inner: SpanExporter,
    options: SizeLimitOptions = {},
  ) {
    const env = options.env ?? process.env;
    this.maxBatchBytes = positiveIntSetting(options.maxBatchBytes, env, 'VOICETRACE_EXPORT_MAX_BATCH_BYTES', DEFAULT_MAX_BATCH_BYTES);
    this.maxAttributeLength = positiveIntSetting(options.maxAttributeLength, env, 'VOICETRACE_EXPORT_MAX_ATTRIBUTE_LENGTH', DEFAULT_MAX_ATTRIBUTE_LENGTH);
    this.flagKey = options.flagAttribute ?? TRUNCATED_ATTRIBUTES_KEY;
    this.estimator = new SizeEstimator(options.protocol === 'http/json');
  }

  /** Cuts, splits and exports; one callback for the whole batch. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let parts: ReadableSpan[][];
    let dropped = 0;
    try {
      const cut = spans.map((span) => this.truncate(span));
      ({ parts, dropped } = this.split(cut));
      // the last reading of these estimates (a truncated span is a new object, measured in split)
      for (let i = 0; i < spans.length; i++) {
        this.estimator.forget(spans[i]!);
        if (cut[i] !== spans[i]) this.estimator.forget(cut[i]!);
      }
    } catch (error) {
      // A limiter bug must not lose the batch: send it as it came.
      diag.error('voicetrace: size limiter failed; exporting the batch unsplit', error);
      parts = [spans];
    }
    if (parts.length > 1) this.own.splitBatches++;
    const work = this.exportParts(parts).then((failure) => {
      const error = failure ?? (dropped > 0 ? new OversizedSpansError(dropped, this.maxBatchBytes) : undefined);
      try {
        resultCallback(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS });
      } catch (callbackError) {
        diag.error('voicetrace: an export result callback threw', callbackError);
      }
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Waits for the parts still to be sent, then for the wrapped exporter. */
  async forceFlush(): Promise<void> {
    await Promise.all(this.pending);
    await this.inner.forceFlush?.();
  }

  /** Waits for the parts still to be sent, then shuts the wrapped exporter down. */
  async shutdown(): Promise<void> {
    await Promise.all(this.pending);
    await this.inner.shutdown();
  }

  /** What was cut, split and dropped, plus the wrapped exporter's counters. */
  stats(): ExportStats {
    return addExportStats({ ...this.own, failuresByReason: {} }, readExportStats(this.inner));
  }

  private truncate(span: ReadableSpan): ReadableSpan {
    // the estimate bounds every string's length (a UTF-16 unit is at least one byte): a span estimated
    // under the cap has nothing to cut, and most spans are
    if (this.estimator.span(span) <= this.maxAttributeLength) return span;
    const cut = truncateSpanAttributes(span, this.maxAttributeLength, this.flagKey);
    if (!cut) return span;
    this.own.truncatedSpans++;
    this.own.truncatedAttributes += cut.keys.length;
    return cut.span;
  }

  /** Greedy packing in arrival order; a new request pays again for the resources and scopes it carries. */
  private split(spans: ReadableSpan[]): { parts: ReadableSpan[][]; dropped: number } {
    const parts: ReadableSpan[][] = [];
    let part: ReadableSpan[] = [];
    let partBytes = this.estimator.requestBytes;
    let resources = new Set<Resource>();
    let scopes = new Set<string>();
    let dropped = 0;
    /** What a span's resource and scope add to a request that already carries `seenResources` and `seenScopes` (a new request: all of it). */
    const contextBytes = (span: ReadableSpan, scopeKey: string, seenResources?: Set<Resource>, seenScopes?: Set<string>): number =>
      (seenResources?.has(span.resource) ? 0 : this.resourceSize(span.resource)) +
      (seenScopes?.has(scopeKey) ? 0 : this.estimator.scope(span.instrumentationScope.name, span.instrumentationScope.version));
    for (const span of spans) {
      const spanBytes = this.estimator.span(span);
      const { name, version, schemaUrl } = span.instrumentationScope;
      const scopeKey = `${name}@${version ?? ''}:${schemaUrl ?? ''}`;
      if (this.estimator.requestBytes + spanBytes + contextBytes(span, scopeKey) > this.maxBatchBytes) {
        dropped++;
        this.dropOversized(span, spanBytes);
        continue;
      }
      let bytes = spanBytes + contextBytes(span, scopeKey, resources, scopes);
      if (part.length > 0 && partBytes + bytes > this.maxBatchBytes) {
        parts.push(part);
        part = [];
        partBytes = this.estimator.requestBytes;
        resources = new Set();
        scopes = new Set();
        bytes = spanBytes + contextBytes(span, scopeKey);
      }
      part.push(span);
      partBytes += bytes;
      resources.add(span.resource);
      scopes.add(scopeKey);
    }
    if (part.length > 0) parts.push(part);
    return { parts, dropped };
  }

  private resourceSize(resource: Resource): number {
    let bytes = this.resourceBytes.get(resource);
    if (bytes === undefined) {
      bytes = this.estimator.resource(resource.attributes);
      this.resourceBytes.set(resource, bytes);
    }
    return bytes;
  }

  private dropOversized(span: ReadableSpan, bytes: number): void {
    this.own.droppedOversizedSpans++;
    if (this.warnedOversized) return;
    this.warnedOversized = true;
    diag.warn(
      `voicetrace: dropped span "${span.name}": about ${bytes} bytes even after cutting attributes to ${this.maxAttributeLength} characters, ` +
        `over the ${this.maxBatchBytes}-byte request budget (VOICETRACE_EXPORT_MAX_BATCH_BYTES); further ones are only counted`,
    );
  }

  /** Sends the parts in order; resolves with the first failure, if any. */
  private async exportParts(parts: ReadableSpan[][]): Promise<Error | undefined> {
    let firstFailure: Error | undefined;
    for (const part of parts) {
      const result = await new Promise<ExportResult>((resolve) => {
        try {
          this.inner.export(part, resolve);
        } catch (error) {
          resolve({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
        }
      });
      if (result.code !== ExportResultCode.SUCCESS && !firstFailure) firstFailure = result.error ?? new Error('export failed');
    }
    return firstFailure;
  }
}
