import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Keeps every exported span in memory, for a test to take by session. */
export class MemoryExporter implements SpanExporter {
  private spans: ReadableSpan[] = [];

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans.push(...spans);
    done({ code: ExportResultCode.SUCCESS });
  }

  /** Removes and returns the spans that match. */
  take(match: (span: ReadableSpan) => boolean): ReadableSpan[] {
    const taken = this.spans.filter(match);
    this.spans = this.spans.filter((span) => !match(span));
    return taken;
  }

  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}
