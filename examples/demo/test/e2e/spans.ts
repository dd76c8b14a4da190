// The demo's ground truth (traces.jsonl, OTLP/JSON lines) read with each attribute's OTLP value
// type kept, so a test can tell a double from an int after a trip through the real backends.
import { readFileSync } from 'node:fs';

/** OTLP AnyValue kinds, as Jaeger's query API names them once stored. */
export type ValueKind = 'string' | 'bool' | 'int' | 'double' | 'array' | 'other';

export interface TypedAttr {
  kind: ValueKind;
  value: unknown;
}

export interface TruthSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  startNs: bigint;
  endNs: bigint;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
  attributes: Record<string, TypedAttr>;
  links: Array<{ traceId: string; spanId: string }>;
}

type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number; arrayValue?: { values?: AnyValue[] } };

function typed(v: AnyValue): TypedAttr {
  if (v.stringValue !== undefined) return { kind: 'string', value: v.stringValue };
  if (v.boolValue !== undefined) return { kind: 'bool', value: v.boolValue };
  if (v.intValue !== undefined) return { kind: 'int', value: Number(v.intValue) };
  if (v.doubleValue !== undefined) return { kind: 'double', value: Number(v.doubleValue) };
  if (v.arrayValue) return { kind: 'array', value: (v.arrayValue.values ?? []).map((x) => typed(x).value) };
  return { kind: 'other', value: undefined };
}

/** Every span of a traces.jsonl file (one ExportTraceServiceRequest per line). */
export function readTruth(path: string): TruthSpan[] {
  const spans: TruthSpan[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    for (const rs of request.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            startNs: BigInt(String(s.startTimeUnixNano)),
            endNs: BigInt(String(s.endTimeUnixNano)),
            status: Number(s.status?.code ?? 0),
            attributes: Object.fromEntries((s.attributes ?? []).map((a: { key: string; value: AnyValue }) => [a.key, typed(a.value)])),
            links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({ traceId: l.traceId, spanId: l.spanId })),
          });
        }
      }
    }
  }
  return spans;
}

/** A span's value of `key`, untyped. */
export const attr = (span: TruthSpan, key: string): unknown => span.attributes[key]?.value;

/** Span end time in ms since the epoch (float). */
export const endMs = (span: TruthSpan): number => Number(span.endNs / 1000n) / 1000;

/** Span duration in seconds, as the span_metrics connector computes it (float64 of the nanosecond difference). */
export const durationSeconds = (span: TruthSpan): number => Number(span.endNs - span.startNs) / 1e9;

/** The Jaeger tag type an OTLP value kind becomes (Jaeger stores arrays as JSON strings). */
export const JAEGER_TYPE: Record<ValueKind, string> = { string: 'string', bool: 'bool', int: 'int64', double: 'float64', array: 'string', other: 'string' };

/** Jaeger pads trace ids to 32 hex characters only when the high half is non-zero: compare normalized. */
export const normId = (id: string): string => id.toLowerCase().padStart(32, '0');

/** Groups spans by trace id. */
export function byTrace(spans: readonly TruthSpan[]): Map<string, TruthSpan[]> {
  const out = new Map<string, TruthSpan[]>();
  for (const s of spans) {
    const list = out.get(s.traceId) ?? [];
    list.push(s);
    out.set(s.traceId, list);
  }
  return out;
}
