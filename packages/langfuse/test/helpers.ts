import { SpanKind, SpanStatusCode, trace, ROOT_CONTEXT, TraceFlags, type Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Real spans from a real SDK: an `agent_session` root first, then `count - 1` children. */
export function makeSpans(count: number, attributes: (index: number) => Attributes = () => ({})): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'voice-agent' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('livekit-agents', '1.9.0');
  const root = tracer.startSpan('agent_session', { attributes: attributes(0) });
  for (let index = 1; index < count; index++) {
    const child = tracer.startSpan('llm_request', { kind: SpanKind.CLIENT, attributes: attributes(index) }, trace.setSpan(ROOT_CONTEXT, root));
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'cancelled' });
    child.end();
  }
  root.end();
  const spans = memory.getFinishedSpans();
  return [spans[spans.length - 1]!, ...spans.slice(0, -1)];
}

/** A copy of `span` whose ids are what the test says (the SDK never makes malformed ones). */
export function withIds(span: ReadableSpan, traceId: string, spanId: string): ReadableSpan {
  return {
    ...span,
    name: span.name,
    attributes: span.attributes,
    spanContext: () => ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED }),
    parentSpanContext: undefined,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    status: span.status,
    events: span.events,
    links: span.links,
    startTime: span.startTime,
    endTime: span.endTime,
    kind: span.kind,
  };
}

/** The result an exporter reports (`@opentelemetry/core`'s ExportResult, read from the exporter's own type). */
type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

export function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

// ExportResultCode.SUCCESS / FAILED (@opentelemetry/core is not a dependency of this package)
export const SUCCESS = 0;
export const FAILED = 1;
