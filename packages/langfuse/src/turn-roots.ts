import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '@voicetrace/conventions';
import { withAttributes } from '@voicetrace/exporters';
import { langfuseTraceAttributes, type LangfuseMappingOptions } from './mapping.js';

/**
 * In front of the processor that exports to LangFuse when LangFuse gets one
 * trace per user turn while other backends keep one per call: the user turns
 * that arrive as trace roots get their trace's name, tags, metadata and input
 * (the live spans are shared by every exporter and keep the call's layout).
 */
export class LangfuseTurnRootsProcessor implements SpanProcessor {
  constructor(
    private readonly inner: SpanProcessor,
    private readonly options: LangfuseMappingOptions,
  ) {}

  onStart(span: Span, context: Context): void {
    this.inner.onStart(span, context);
  }

  onEnd(span: ReadableSpan): void {
    if (span.parentSpanContext || span.attributes[ATTR.STAGE] !== 'user_turn') return this.inner.onEnd(span);
    let rooted: ReadableSpan = span;
    try {
      rooted = withAttributes(span, { ...span.attributes, ...langfuseTraceAttributes(span, this.options) });
    } catch {
      rooted = span;
    }
    this.inner.onEnd(rooted);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
