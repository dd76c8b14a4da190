import { readFileSync } from 'node:fs';

/** A span read back from an OTLP/JSON lines file, attributes as a plain map. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  scope: string;
  start: number;
  end: number;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
}

type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number; arrayValue?: { values?: AnyValue[] } };

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

const nanos = (t: string | number) => Number(BigInt(String(t)) / 1000n) / 1e6;

/** Reads every span of an OTLP/JSON lines file (one ExportTraceServiceRequest per line). */
export function readSpans(path: string): FlatSpan[] {
  const spans: FlatSpan[] = [];
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
            scope: ss.scope?.name ?? '',
            start: nanos(s.startTimeUnixNano),
            end: nanos(s.endTimeUnixNano),
            attributes: Object.fromEntries((s.attributes ?? []).map((a: { key: string; value: AnyValue }) => [a.key, value(a.value)])),
            links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({ traceId: l.traceId, spanId: l.spanId })),
          });
        }
      }
    }
  }
  return spans;
}
