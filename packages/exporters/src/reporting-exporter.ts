import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describeExportFailure, failureReason, formatExportFailure } from './failure.js';
import { redactUrl } from './redact.js';
import { addExportStats, emptyExportStats, readExportStats, withoutOutcomes } from './stats.js';
import type { ExportLogger, ExportStats, ReportingOptions, StatsSpanExporter } from './types.js';

const consoleLogger: ExportLogger = (message) => console.error(message);

/**
 * Counts what an exporter achieves and says clearly when it first fails: the first failed export
 * logs exactly one error (through `diag.error` and the `logger`, default `console.error`) naming the
 * target, the HTTP status or network error, what the server said, and what to check. Later failures
 * are only counted. Never throws: an exception from the wrapped exporter becomes a failed result.
 */
export class ReportingSpanExporter implements StatsSpanExporter {
  private readonly own: ExportStats = emptyExportStats();
  private reported = false;
  private readonly logger: ExportLogger;

  /**
   * @param inner the exporter that does the work
   * @param options what to name in the message and where it goes
   */
  constructor(
    private readonly inner: SpanExporter,
    private readonly options: ReportingOptions,
  ) {
    this.logger = options.logger ?? consoleLogger;
  }

  /** Exports through the wrapped exporter and counts the outcome. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let settled = false;
    const done = (result: ExportResult): void => {
      if (settled) return;
      settled = true;
      this.record(spans.length, result);
      try {
        resultCallback(result);
      } catch (error) {
        diag.error('voicetrace: an export result callback threw', error);
      }
    };
    try {
      this.inner.export(spans, done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  /** Waits for the wrapped exporter's work in flight. */
  async forceFlush(): Promise<void> {
    await this.inner.forceFlush?.();
  }

  /** Shuts the wrapped exporter down. */
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  /** Span and export counts, failures by reason, plus the wrapped exporter's own counters (requests, retries...). */
  stats(): ExportStats {
    const inner = readExportStats(this.inner);
    // Every outcome of the wrapped exporter passed through here and is counted above already: an
    // exporter that also counts its own outcomes (the file exporter) would otherwise count each twice.
    return addExportStats({ ...this.own, failuresByReason: { ...this.own.failuresByReason } }, inner && withoutOutcomes(inner));
  }

  private record(spanCount: number, result: ExportResult): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.own.exportedSpans += spanCount;
      this.own.successfulExports++;
      return;
    }
    const failure = describeExportFailure(result.error);
    this.own.failedSpans += spanCount;
    this.own.failedExports++;
    const reason = failureReason(failure);
    this.own.failuresByReason[reason] = (this.own.failuresByReason[reason] ?? 0) + 1;
    this.own.lastFailure = failure;
    if (this.reported) return;
    this.reported = true;
    let advice: string | undefined;
    try {
      advice = this.options.advise?.(failure);
    } catch {
      advice = undefined;
    }
    // the target is shown, never its credentials (a URL with userinfo)
    const message = formatExportFailure(this.options.what ?? 'traces export', redactUrl(this.options.target), failure, advice);
    diag.error(message);
    try {
      this.logger(message);
    } catch {
      // A broken logger must not break exporting.
    }
  }
}
