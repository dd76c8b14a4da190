import { readTruth } from './e2e/spans.js';

/** A span read back from an OTLP/JSON lines file, attributes as a plain map. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  start: number;
  end: number;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
}

const seconds = (ns: bigint) => Number(ns / 1000n) / 1e6;

/** Reads every span of an OTLP/JSON lines file (one ExportTraceServiceRequest per line). */
export function readSpans(path: string): FlatSpan[] {
  return readTruth(path).map((span) => ({
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    start: seconds(span.startNs),
    end: seconds(span.endNs),
    attributes: Object.fromEntries(Object.entries(span.attributes).map(([key, typed]) => [key, typed.value])),
    links: span.links,
  }));
}
