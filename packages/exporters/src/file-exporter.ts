import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describeExportFailure, failureReason } from './failure.js';
import { emptyExportStats } from './stats.js';
import type { ExportStats, StatsSpanExporter } from './types.js';

/**
 * Appends one OTLP/JSON `ExportTraceServiceRequest` per line: the format of the Collector's `file`
 * exporter and of its `otlpjsonfile` receiver. The stock JSON serializer writes it as the OTLP/JSON
 * encoding asks: lowerCamelCase field names, trace and span ids as hex strings, enums (`kind`,
 * `status.code`) as integers, 64-bit integers (timestamps, `intValue`) as decimal strings.
 *
 * The directory is created on first write. Writes are asynchronous (the event loop is never held),
 * kept in export order, and each export's callback fires once its line is on disk; `forceFlush` and
 * `shutdown` wait for every pending write. Failures go to the callback and the counters; the first
 * one is logged once through `diag.error`. Never throws.
 */
export class OtlpJsonLinesFileExporter implements StatsSpanExporter {
  /** The absolute path written to. */
  readonly path: string;
  private file: Promise<FileHandle> | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly counters: ExportStats = emptyExportStats();
  private stopped = false;
  private reported = false;

  /** @param path the file to append to (relative paths resolve against the working directory) */
  constructor(path: string) {
    this.path = resolve(path);
  }

  /** Serializes the spans now and queues their line for writing. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      this.finish(spans.length, { code: ExportResultCode.FAILED, error: new Error('the exporter is shut down') }, resultCallback);
      return;
    }
    if (spans.length === 0) {
      this.finish(0, { code: ExportResultCode.SUCCESS }, resultCallback);
      return;
    }
    let line: Buffer;
    try {
      const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array()).toString('utf8');
      line = Buffer.from(`${int64AsString(json)}\n`, 'utf8');
    } catch (error) {
      this.finish(spans.length, { code: ExportResultCode.FAILED, error: asError(error) }, resultCallback);
      return;
    }
    // Chained so that lines land in export order even though each write is asynchronous.
    this.queue = this.queue.then(async () => {
      let result: ExportResult;
      try {
        const file = await this.openFile();
        await file.write(line);
        result = { code: ExportResultCode.SUCCESS };
      } catch (error) {
        result = { code: ExportResultCode.FAILED, error: asError(error) };
      }
      this.finish(spans.length, result, resultCallback);
    });
  }

  /** Resolves when every queued line is written. */
  forceFlush(): Promise<void> {
    return this.queue;
  }

  /** Writes what is queued, then closes the file; later exports fail (counted). Idempotent. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.queue;
    const file = this.file;
    this.file = undefined;
    if (file) await file.then((handle) => handle.close()).catch(() => undefined);
  }

  /** Spans written and failed. */
  stats(): ExportStats {
    return { ...this.counters, failuresByReason: { ...this.counters.failuresByReason } };
  }

  private openFile(): Promise<FileHandle> {
    if (!this.file) {
      const opening = mkdir(dirname(this.path), { recursive: true }).then(() => open(this.path, 'a'));
      // A failed open is retried on the next export instead of failing every later one.
      opening.catch(() => {
        if (this.file === opening) this.file = undefined;
      });
      this.file = opening;
    }
    return this.file;
  }

  private finish(spanCount: number, result: ExportResult, resultCallback: (result: ExportResult) => void): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.counters.exportedSpans += spanCount;
      this.counters.successfulExports++;
    } else {
      const failure = describeExportFailure(result.error);
      const reason = failureReason(failure);
      this.counters.failedSpans += spanCount;
      this.counters.failedExports++;
      this.counters.failuresByReason[reason] = (this.counters.failuresByReason[reason] ?? 0) + 1;
      this.counters.lastFailure = failure;
      if (!this.reported) {
        this.reported = true;
        diag.error(`voicetrace: writing spans to ${this.path} failed: ${failure.message}. Later failures are only counted.`);
      }
    }
    try {
      resultCallback(result);
    } catch (error) {
      diag.error('voicetrace: an export result callback threw', error);
    }
  }
}

/**
 * The stock serializer writes `intValue` as a JSON number; proto3's JSON mapping (which OTLP/JSON
 * follows) writes 64-bit integers as decimal strings, as the Collector's own file exporter does.
 * Readers accept both, but the file should match the Collector's. The pattern cannot match inside a
 * string value: there a quote is always escaped (`\"intValue\":`).
 */
function int64AsString(json: string): string {
  return json.replace(/"intValue":(-?\d+)/g, '"intValue":"$1"');
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
